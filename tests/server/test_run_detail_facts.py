"""What the sidebar's run detail reads beyond the run record: bounded artifact previews
(GET runs/{id}/previews/{name}), the metrics that have a history to chart, and foreground
sweeps and AutoML searches in GET jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jupyter_xtrack.server import preview
from jupyter_xtrack.store import open_store

from .conftest import Populated
from .test_endpoints import error_of


@pytest.fixture
def previews(populated: Populated, tmp_path: Path) -> str:
    """Run a, with a CSV, a Parquet file, JSON, a large log and binary bytes as artifacts."""
    table = pa.table({"lr": [0.1 * i for i in range(120)], "model": ["rf"] * 120})
    parquet = tmp_path / "t.parquet"
    pq.write_table(table, parquet)
    csv = "lr,model\n" + "".join(f"{i},m{i}\n" for i in range(80))
    big = "".join(f"line {i}\n" for i in range(20_000))  # ~200 KB: more than a preview reads
    with open_store(populated.root) as store:
        run = populated.ids["a"]
        for name, data, media in [
            ("table.csv", csv.encode(), "text/csv"),
            ("frame.parquet", parquet.read_bytes(), None),
            ("scores.json", json.dumps({"acc": 0.9, "folds": [1, 2]}).encode(), None),
            ("train.log", big.encode(), None),
            ("weights.bin", b"\x00\x01" * 10, None),
        ]:
            store.add_artifact(
                run, name, blob=store.put_blob(data), size=len(data), media_type=media
            )
    return populated.ids["a"]


async def test_csv_preview_is_its_head_as_a_table(api: Any, previews: str) -> None:
    got = await api(f"runs/{previews}/previews/table.csv")
    assert got["kind"] == "table" and got["columns"] == ["lr", "model"]
    assert got["rows"][:2] == [["0", "m0"], ["1", "m1"]]
    assert len(got["rows"]) == preview.TABLE_ROWS and got["total_rows"] == 80
    assert got["truncated"] is True


async def test_parquet_preview_reads_the_first_rows_and_counts_all(api: Any, previews: str) -> None:
    got = await api(f"runs/{previews}/previews/frame.parquet")
    assert got["kind"] == "table" and got["columns"] == ["lr", "model"]
    assert got["rows"][1] == [pytest.approx(0.1), "rf"]
    assert len(got["rows"]) == preview.TABLE_ROWS and got["total_rows"] == 120


async def test_json_text_html_and_binary_previews(api: Any, previews: str) -> None:
    assert (await api(f"runs/{previews}/previews/scores.json"))["json"] == {
        "acc": 0.9,
        "folds": [1, 2],
    }
    log = await api(f"runs/{previews}/previews/train.log")
    assert log["kind"] == "text" and log["truncated"] is True
    assert log["text"].startswith("line 0\n") and log["text"].endswith("\n")
    assert len(log["text"]) <= preview.TEXT_BYTES < log["size"]
    html = await api(f"runs/{previews}/previews/report.html")
    assert html["kind"] == "html" and html["text"] == "<script>alert(1)</script>"
    binary = await api(f"runs/{previews}/previews/weights.bin")
    assert binary["kind"] == "none" and "text" not in binary
    image = await api(f"runs/{previews}/previews/plots/roc.png")
    assert image["kind"] == "image" and "text" not in image


async def test_a_pickle_is_never_unpickled_to_preview(api: Any, populated: Populated) -> None:
    got = await api(f"runs/{populated.ids['a']}/previews/model.pkl")
    assert got["kind"] == "none" and not populated.pickle_marker.exists()


async def test_preview_of_an_unknown_artifact_is_404(jp_fetch: Any, populated: Populated) -> None:
    code, body = await error_of(jp_fetch, "runs", populated.ids["a"], "previews", "nope.csv")
    assert code == 404 and "notes.txt" in body["message"]


def test_a_damaged_parquet_file_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    got = preview.preview_file(bad, "x.parquet", "application/octet-stream")
    assert got["kind"] == "none" and "cannot preview x.parquet" in got["error"]


async def test_history_keys_are_the_metrics_with_points(api: Any, populated: Populated) -> None:
    run = await api(f"runs/{populated.ids['a']}", "RunDetail")
    assert run["history_keys"] == ["acc", "loss"]


@pytest.fixture
def foreground(populated: Populated) -> dict[str, str]:
    """A finished foreground sweep (3 trials, 2 done by its progress tag) and an interrupted
    foreground AutoML search: no xtrack.job.* tags, as `xt.sweep(...)` without background."""
    now = time.time()
    with open_store(populated.root) as store:
        sweep, _ = store.create_run(name="fg-sweep", kind="sweep", started_at=now - 20)
        store.set_params(sweep, {"sweep.metric": "val_loss", "sweep.trials": 6})
        store.set_tags(
            sweep,
            {
                "xtrack.sweep.state": "finished",
                "xtrack.sweep.progress": "6/6",
                "xtrack.sweep.direction": "minimize",
            },
        )
        store.log_metrics([(sweep, "best_value", 0.25, 5, now)])
        for _ in range(6):
            child, _ = store.create_run(parent_id=sweep, kind="trial")
            store.finish_run(child, status="finished")
        store.finish_run(sweep, status="finished", ended_at=now - 5)
        automl, _ = store.create_run(name="fg-automl", kind="automl", started_at=now - 15)
        store.set_params(automl, {"automl.metric": "roc_auc", "automl.time_budget_s": 20})
        store.set_tags(automl, {"xtrack.automl.state": "interrupted"})
        store.log_metrics([(automl, "best_cv_score", 0.93, None, now)])
        store.finish_run(automl, status="interrupted", ended_at=now - 5)
    return {"sweep": sweep, "automl": automl}


async def test_foreground_searches_are_listed_as_jobs(api: Any, foreground: dict[str, str]) -> None:
    got = {j["name"]: j for j in (await api("jobs", "JobList"))["jobs"]}
    sweep, automl = got["fg-sweep"], got["fg-automl"]
    assert sweep["kind"] == "sweep" and sweep["state"] == "finished"
    assert sweep["background"] is False
    assert sweep["progress"] == {"done": 6, "total": 6, "fraction": 1.0}
    assert sweep["best"] == 0.25 and sweep["metric"] == "val_loss"
    assert sweep["direction"] == "minimize" and sweep["trials"] == 6
    assert automl["kind"] == "automl" and automl["state"] == "cancelled"
    assert automl["progress"]["total"] == 20 and automl["best"] == 0.93
    assert automl["metric"] == "roc_auc"
    # Ordinary runs are not jobs.
    assert not {"run-a", "run-b", "run-c", "live"} & set(got)
