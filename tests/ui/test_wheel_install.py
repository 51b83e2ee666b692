"""Installing as a user installs: build the sdist and the wheel from this checkout's sources
(the wheel from the sdist, so the build hook runs npm from scratch), `pip install` the wheel
with `jupyterlab` into a fresh venv, and find the whole product there: both extensions listed
enabled and OK, and the Experiment Runs panel listing a store's runs in Chromium.

Needs the network to the package registries (pip and npm), as `make test` does anyway.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCREENSHOTS, JupyterServer, browser_page, running_server
from .sidebar_page import ROWS, open_from_tab, run_numbers, wait_for

REPO = Path(__file__).resolve().parents[2]
VERSION = json.loads((REPO / "labextension" / "package.json").read_text())["version"]
SDIST = f"jupyter_xtrack-{VERSION}.tar.gz"
WHEEL = f"jupyter_xtrack-{VERSION}-py3-none-any.whl"
LABEXT = f"jupyter_xtrack-{VERSION}.data/data/share/jupyter/labextensions/jupyter-xtrack"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = [pytest.mark.install, pytest.mark.slow, pytest.mark.timeout(1800)]


def _checkout_copy(dest: Path) -> Path:
    """The files a clean clone of this checkout has (tracked, or new and not ignored): no
    node_modules, no built sidebar, no venv."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout of the project and git, to copy only its sources")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    return dest


def _user_env(home: Path) -> dict[str, str]:
    """An environment with nothing of this test run in it: no PYTHONPATH pointing at the
    checkout, no active venv, Jupyter's per-user folders empty."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{out[-4000:]}"
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` on the sources: an sdist, then a wheel built from that sdist."""
    work = tmp_path_factory.mktemp("build")
    source = _checkout_copy(work / "src")
    _run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(source)], cwd=work)
    return work / "dist"


@pytest.fixture(scope="module")
def user_venv(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and jupyterlab, installed by pip like a user would."""
    home = tmp_path_factory.mktemp("user")
    _run([sys.executable, "-m", "venv", str(home / "venv")], cwd=home)
    pip = [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, "-c", str(REPO / "constraints.txt"), str(dists / WHEEL), "jupyterlab"],
         cwd=home, env=_user_env(home))
    return home


def test_sdist_holds_sources_and_the_license(dists: Path) -> None:
    with tarfile.open(dists / SDIST) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    assert "LICENSE" in names and "labextension/src/index.tsx" in names
    leftovers = [n for n in names if n.startswith(("jupyter_xtrack/labextension/",
                                                   "labextension/lib/", "labextension/node_modules/"))
                 or n.endswith((".tsbuildinfo", ".png", ".pyc"))]
    assert leftovers == []


def test_wheel_carries_the_sidebar_the_server_config_and_the_license(dists: Path) -> None:
    with zipfile.ZipFile(dists / WHEEL) as wheel:
        names = set(wheel.namelist())
        package = json.loads(wheel.read(f"{LABEXT}/package.json"))
        install = json.loads(wheel.read(f"{LABEXT}/install.json"))
    assert package["name"] == "jupyter-xtrack" and package["version"] == VERSION
    assert install["packageName"] == "jupyter_xtrack" and install["packageManager"] == "python"
    assert any(re.fullmatch(rf"{re.escape(LABEXT)}/static/remoteEntry\.\w+\.js", n) for n in names)
    assert (f"jupyter_xtrack-{VERSION}.data/data/etc/jupyter/jupyter_server_config.d/"
            "jupyter_xtrack.json") in names
    assert f"jupyter_xtrack-{VERSION}.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith("jupyter_xtrack/labextension/")]


def test_jupyter_lists_both_extensions_enabled_and_ok(user_venv: Path) -> None:
    bin_dir = user_venv / "venv" / "bin"
    env = _user_env(user_venv)
    labext = _run([str(bin_dir / "jupyter"), "labextension", "list"], cwd=user_venv, env=env)
    line = next(ln for ln in labext.splitlines() if "jupyter-xtrack" in ln)
    assert line.split() == ["jupyter-xtrack", f"v{VERSION}", "enabled", "OK",
                            "(python,", "jupyter_xtrack)"]
    server = _run([str(bin_dir / "jupyter"), "server", "extension", "list"], cwd=user_venv, env=env)
    assert re.search(r"jupyter_xtrack\.server\s+enabled", server), server
    assert re.search(rf"jupyter_xtrack\.server\s+{re.escape(VERSION)}\s+OK", server), server
    version = _run([str(bin_dir / "python"), "-c", "import jupyter_xtrack as xt; print(xt.__version__)"],
                   cwd=user_venv, env=env)
    assert version.strip() == VERSION


@pytest.fixture(scope="module")
def user_lab(user_venv: Path, browser: Any) -> Iterator[JupyterServer]:
    """`jupyter lab` from the user's venv over a store holding two runs made there."""
    python = str(user_venv / "venv" / "bin" / "python")
    env = _user_env(user_venv)
    lab = user_venv / "lab"
    store = lab / "store"  # where running_server points the server's XTRACK_STORE
    lab.mkdir()
    script = (
        "import jupyter_xtrack as xt\n"
        "for i, lr in enumerate((0.1, 0.01)):\n"
        "    with xt.start_run(name=f'wheel-{i}', params={'lr': lr}):\n"
        "        xt.log(acc=0.8 + i / 10)\n"
        "xt.flush()\n"
    )
    _run([python, "-c", script], cwd=user_venv, env={**env, "XTRACK_STORE": str(store)})
    overrides: dict[str, str | None] = {k: None for k in ("PYTHONPATH", "VIRTUAL_ENV")}
    overrides.update(JUPYTER_DATA_DIR=env["JUPYTER_DATA_DIR"], JUPYTER_PLATFORM_DIRS="1")
    with running_server("lab", lab, python=python,
                        env_overrides=overrides) as server:
        yield server


def test_the_installed_sidebar_lists_the_runs_of_a_store(user_lab: JupyterServer,
                                                          browser: Any) -> None:
    with browser_page(browser) as page:
        page.goto(user_lab.url("lab?reset"))
        open_from_tab(page)
        wait_for(lambda: sorted(run_numbers(page)) == [1, 2], what="runs #1 and #2 listed")
        names = page.locator(ROWS).all_inner_texts()
        assert any("wheel-0" in n for n in names) and any("wheel-1" in n for n in names)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "wheel-install-sidebar.png"))
