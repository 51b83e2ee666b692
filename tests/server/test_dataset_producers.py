"""The run detail names the run that produced each in-memory dataset: cells tracked in a real
IPython shell, their frames fingerprinted by the tracker, served by a real server."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cell


@pytest.fixture
def jp_root_dir(workdir: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    return workdir


@pytest.fixture
def store_path(shell: Any, jp_root_dir: Path) -> Path:
    run_cell(shell, "%%track --name load\nimport pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})")
    run_cell(shell, "%%track --name features\ny = df * 2")
    run_cell(shell, "%%track --name inplace\ndf['b'] = 0\nz = y + 1")
    return jp_root_dir / ".xtrack"


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}}}


def _producers(run: dict[str, Any]) -> dict[str, int | None]:
    return {d["name"]: d["producer"] and d["producer"]["number"] for d in run["datasets"]}


async def test_each_dataset_names_the_run_that_produced_its_content(api: Any) -> None:
    load = await api("runs/1", "RunDetail")
    assert _producers(load) == {"df": None}  # made here
    features = await api("runs/2", "RunDetail")
    # df is read unchanged: its content comes from #1; y is made here
    assert _producers(features) == {"y": None, "df": 1}
    assert features["datasets"][1]["producer"]["name"] == "load"
    inplace = await api("runs/3", "RunDetail")
    # df changed in place is new content made by #3 itself; y is still #2's
    assert _producers(inplace) == {"z": None, "df": None, "y": 2}
