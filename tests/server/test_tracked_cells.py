"""The server reads what `%%track` writes: cells tracked in a real IPython shell inside a
git repository, served by a server whose root is a folder of that repository."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cell


@pytest.fixture
def jp_root_dir(workdir: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    sub = workdir / "notebooks"
    sub.mkdir()
    return sub


@pytest.fixture
def store_path(shell: Any, jp_root_dir: Path) -> Path:
    run_cell(shell, "%%track --name first\nlr = 0.1\nimport jupyter_xtrack as xt\n"
                    "for s in range(3):\n    xt.log(step=s, loss=1 / (s + 1))")
    run_cell(shell, "%%track --name second\nlr = 0.2\nfor s in range(3):\n"
                    "    xt.log(step=s, loss=2 / (s + 1))")
    return jp_root_dir.parent / ".xtrack"


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    # No XTrack.store: the server must find the repository's store from its root folder.
    return {"ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}}}


async def test_tracked_runs_are_served(api: Any, store_path: Path) -> None:
    status = await api("status", "Status")
    assert status["store"] == str(store_path) and status["runs"] == 2
    page = await api("runs", "RunPage", order_by="number")
    assert [r["name"] for r in page["runs"]] == ["first", "second"]
    assert [r["params.lr"] for r in page["runs"]] == [0.1, 0.2]
    run = await api("runs/2", "RunDetail")
    assert "lr = 0.2" in run["code_text"] and run["status"] == "finished"
    hist = await api("runs/2/metrics/loss", "MetricHistory")
    assert hist["value"] == [2.0, 1.0, 2 / 3]
    comp = await api("compare", "Comparison", ids="1,2", metrics="loss")
    assert comp["sections"]["params"]["lr"]["differs"] is True
    if run["has_lineage"]:
        diff = await api("diff", "NotebookDiff", a="1", b="2", kind="lineage")
        assert diff["changed"] is True
