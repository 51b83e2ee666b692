"""xtrack export mlflow: a run tracked in a real IPython shell (code, lineage, params, a
metric history, a dataset, files read and written, an artifact, git) is exported to an
MLflow SQLite store and to an mlflow-export-import folder; MLflow reads every run, history
and artifact back, and importing the export into a fresh store gives the run back fact by
fact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.interop import export_mlflow, import_mlflow
from jupyter_xtrack.interop.model import IMPORT_TAGS
from jupyter_xtrack.store import open_store

from ..conftest import git, run_cell

mlflow = pytest.importorskip("mlflow")

CELL = """%%track --name train
import pandas as pd
df = pd.read_csv("data.csv")
lr = 0.05
for step in range(3):
    xt.log(loss=1.0 / (step + 1), step=step)
xt.log(note_free=7.5)
with open("out.txt", "w") as f:
    f.write("result")
xt.log_artifact("out.txt")
print("done")
accuracy = 0.9
"""


@pytest.fixture
def tracked(shell: Any, workdir: Path) -> str:
    """The id of a run tracked in a git repository, with a nested child run."""
    (workdir / "data.csv").write_text("a,b\n1,2\n3,4\n")
    git(workdir, "init", "-q", "-b", "main")
    git(workdir, "add", "data.csv")
    git(workdir, "commit", "-q", "-m", "data")
    run_cell(shell, CELL)
    run_cell(shell, "with xt.start_run(name='script'):\n    xt.log(x=1.0)\n")
    with open_store(workdir / ".xtrack") as store:
        ids = store.query_runs(order_by="number").columns["id"]
        store.create_run(name="nested", parent_id=ids[0], kind="script", run_id=None)
        return str(ids[0])


def _comparable(rec: dict[str, Any]) -> dict[str, Any]:
    """A run record without what differs by construction in another store: its number, id,
    parent's id, owning process, and the import's own tags."""
    out = {
        k: v
        for k, v in rec.items()
        if k not in ("id", "number", "parent_id", "children", "pid", "host", "heartbeat_at")
    }
    out["tags"] = {k: v for k, v in rec["tags"].items() if k not in IMPORT_TAGS}
    out["artifacts"] = [{k: v for k, v in a.items() if k != "created_at"} for a in rec["artifacts"]]
    return out


def _histories(store: Any, run_id: str) -> dict[str, Any]:
    return {k: store.metric_history(run_id, k) for k in store.metric_keys(run_id)}


@pytest.mark.parametrize("folder", [False, True], ids=["sqlite", "export-import-folder"])
def test_export_then_import_is_lossless(
    tracked: str, workdir: Path, tmp_path: Path, folder: bool
) -> None:
    dest = str(tmp_path / "out") if folder else f"sqlite:///{tmp_path / 'mlflow.db'}"
    with open_store(workdir / ".xtrack") as store:
        store.finish_run(store.query_runs("name = 'nested'").columns["id"][0], status="killed")
        exported = export_mlflow(store, dest, folder=folder, show_progress=False)
        assert exported.ok, exported.summary()
        assert exported.created == 3
        original = store.get_run(tracked)
        histories = _histories(store, tracked)
        stdout = store.get_blob(original["stdio"]["stdout"])
    with open_store(tmp_path / "fresh") as fresh:
        imported = import_mlflow(fresh, dest, show_progress=False)
        assert imported.ok, imported.summary()
        assert imported.created == 3
        row = fresh.query_runs("name = 'train'").rows()[0]
        back = fresh.get_run(row["id"])
        assert _comparable(back) == _comparable(original)
        for kind in ("code", "lineage", "env", "git", "datasets", "stdio", "resources"):
            assert original.get(kind), f"the tracked run has no {kind} fact to compare"
            assert back[kind] == original[kind], kind
        assert original["git"]["commit"] and original["datasets"][0]["name"] == "df"
        assert back["inputs"] and back["outputs"]
        times = {k: [round(t, 3) for t in h["time"]] for k, h in histories.items()}
        got = _histories(fresh, row["id"])
        assert {k: h["value"] for k, h in got.items()} == {
            k: h["value"] for k, h in histories.items()
        }
        assert {k: h["step"] for k, h in got.items()} == {
            k: h["step"] for k, h in histories.items()
        }
        assert {k: [round(t, 3) for t in h["time"]] for k, h in got.items()} == times
        assert fresh.get_blob(back["stdio"]["stdout"]) == stdout
        assert fresh.get_blob(back["code"]["hash"]).decode().startswith("%%track --name train")
        nested = fresh.query_runs("name = 'nested'").rows()[0]
        assert nested["parent_id"] == row["id"] and nested["status"] == "killed"


def test_mlflow_reads_the_export(
    tracked: str, workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["export", "mlflow", uri, "--store", str(workdir / ".xtrack"), "--no-progress"]
    assert main(args) == 0
    assert "3 new" in capsys.readouterr().out
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("default").experiment_id], "attributes.run_name = 'train'"
    )
    with open_store(workdir / ".xtrack") as store:
        original = store.get_run(tracked)
        loss = store.metric_history(tracked, "loss")
    assert run.info.status == "FINISHED"
    assert run.info.start_time == round(original["started_at"] * 1000)
    assert run.data.params["lr"] == "0.05"
    assert run.data.params == {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in original["params"].items()
    }
    hist = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in hist] == list(zip(loss["step"], loss["value"], strict=True))
    assert [m.timestamp for m in hist] == [round(t * 1000) for t in loss["time"]]
    assert run.data.tags["mlflow.source.git.commit"] == original["git"]["commit"]
    assert run.data.tags["xtrack.run_id"] == tracked
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"out.txt", "xtrack"} <= files
    assert (
        Path(client.download_artifacts(run.info.run_id, "out.txt", str(tmp_path))).read_text()
        == "result"
    )
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.source_type == "xtrack" and ds.dataset.name == "df"
    children = client.search_runs(
        [run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run.info.run_id}'"
    )
    assert [c.info.run_name for c in children] == ["nested"]
    # a second export writes nothing new
    assert main(args) == 0
    assert "0 new" in capsys.readouterr().out
    assert len(client.search_runs([run.info.experiment_id])) == 3
