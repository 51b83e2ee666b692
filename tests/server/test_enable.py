"""Installing the package enables the server extension: no manual step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_server.extension.utils import validate_extension

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "jupyter_xtrack.json"


def test_config_enables_the_extension_module() -> None:
    enabled = json.loads(CONFIG.read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled == {"jupyter_xtrack.server": True}
    validate_extension("jupyter_xtrack.server")


def test_wheel_installs_the_config_into_etc_jupyter() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    rel = str(CONFIG.relative_to(ROOT))
    assert shared[rel] == "etc/jupyter/jupyter_server_config.d/jupyter_xtrack.json"


def test_jupyter_lists_it_enabled_from_that_config(tmp_path: Path) -> None:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter-config"), "JUPYTER_PLATFORM_DIRS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server.extension.serverextension", "list"],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )
    text = out.stdout + out.stderr
    line = next(ln for ln in text.splitlines() if "jupyter_xtrack.server" in ln)
    assert "enabled" in line
    assert "OK" in text.split("jupyter_xtrack.server", 1)[1]
