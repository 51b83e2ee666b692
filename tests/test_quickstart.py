"""The quick-start notebook stays runnable and produces the runs it promises."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_notebook_runs_and_records_two_runs(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    table = open_store(store_dir).query_runs(order_by="number")
    assert table.columns["name"] == ["baseline", "stronger-reg"]
    assert table.columns["status"] == ["finished", "finished"]
    assert table.columns["params.lr"] == [0.05, 0.5]
    assert all(0.5 < a <= 1.0 for a in table.columns["metrics.acc"])
    run = open_store(store_dir).get_run(1)
    assert [f["path"] for f in run["inputs"]] == ["data/train.csv"]
