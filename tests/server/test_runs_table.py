"""What the sidebar's runs table asks of GET runs beyond a page: which columns are the
tracker's bookkeeping, how many children each run has, plain-word search, and groups
with aggregates, against a real server and store, checked against the OpenAPI schema."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.table import SYSTEM_METRICS, is_system_column

from .conftest import Populated
from .test_endpoints import error_of


@pytest.fixture
def sweep(populated: Populated) -> dict[str, Any]:
    """A sweep parent with bookkeeping metrics and tags and three trials, added to the
    populated store before the server first reads it."""
    store = open_store(populated.root)
    try:
        parent, _ = store.create_run(
            name="mlp-sweep", kind="sweep", experiment="exp3", tags={"xtrack.job.metric": "acc"}
        )
        store.log_metrics(
            [
                (parent, "job_progress", 1.0, None, time.time()),
                (parent, "best_value", 0.9, None, time.time()),
            ]
        )
        trials = []
        for i, acc in enumerate((0.7, 0.9, 0.8)):
            trial, _ = store.create_run(
                name=f"trial {i}",
                kind="trial",
                parent_id=parent,
                experiment="exp3",
                tags={"xtrack.trial.state": "ok"},
            )
            store.set_params(trial, {"opt": "adam" if i else "sgd"})
            store.log_metrics(
                [(trial, "acc", acc, None, time.time()), (trial, "fold_score", acc, 0, time.time())]
            )
            store.finish_run(trial, status="finished")
            trials.append(trial)
        store.finish_run(parent, status="finished")
    finally:
        store.close()
    return {"parent": parent, "trials": trials}


def test_system_columns() -> None:
    assert {"job_progress", "best_value", "elapsed_s", "n_rows", "fold_score"} <= SYSTEM_METRICS
    assert is_system_column("metrics.job_progress") and is_system_column("tags.xtrack.job.id")
    assert not is_system_column("metrics.acc") and not is_system_column("tags.team")
    # the sampled CPU/memory/GPU metrics are the tracker's too: never default columns
    assert is_system_column("metrics.system/cpu_percent")
    assert not is_system_column("params.job_progress") and not is_system_column("status")


async def test_page_names_bookkeeping_columns_and_counts_children(
    api: Any, sweep: dict[str, Any]
) -> None:
    page = await api("runs", "RunPage", filter="experiment = 'exp3'", order_by="number")
    assert set(page["system"]) == {
        "metrics.job_progress",
        "metrics.best_value",
        "metrics.fold_score",
        "tags.xtrack.job.metric",
        "tags.xtrack.trial.state",
    }
    assert "metrics.acc" in page["columns"] and "metrics.acc" not in page["system"]
    counts = {r["name"]: r["children_count"] for r in page["runs"]}
    assert counts == {"mlp-sweep": 3, "trial 0": 0, "trial 1": 0, "trial 2": 0}
    roots = await api("runs", "RunPage", filter="parent_id = null")
    assert sweep["parent"] in [r["id"] for r in roots["runs"]] and roots["total"] == 5
    kids = await api("runs", "RunPage", parent=sweep["parent"], order_by="number")
    assert [r["id"] for r in kids["runs"]] == sweep["trials"]


async def test_plain_words_search(api: Any, sweep: dict[str, Any]) -> None:
    page = await api("runs", "RunPage", filter="mlp")
    assert [r["id"] for r in page["runs"]] == [sweep["parent"]]
    adam = await api("runs", "RunPage", filter="adam trial")
    assert {r["id"] for r in adam["runs"]} == set(sweep["trials"][1:])


async def test_groups_with_counts_filters_and_aggregates(api: Any, sweep: dict[str, Any]) -> None:
    page = await api(
        "runs",
        "RunPage",
        filter="experiment = 'exp3'",
        group_by="params.opt",
        columns="metrics.acc",
        limit="0",
    )
    assert page["runs"] == [] and page["truncated"] is False
    groups = page["groups"]
    assert [(g["key"], g["count"]) for g in groups] == [("adam", 2), ("sgd", 1), (None, 1)]
    adam = groups[0]
    assert adam["metrics"]["metrics.acc"] == {
        "count": 2,
        "mean": pytest.approx(0.85),
        "min": 0.8,
        "max": 0.9,
    }
    assert groups[2]["metrics"]["metrics.acc"]["count"] == 0
    # Each group's filter selects exactly its runs.
    for group in groups:
        runs = await api("runs", "RunPage", filter=f"experiment = 'exp3' and {group['filter']}")
        assert runs["total"] == group["count"], group
    by_status = await api("runs", "RunPage", group_by="status", limit="0", columns="")
    assert {g["key"]: g["count"] for g in by_status["groups"]} == {"finished": 7, "running": 1}


async def test_group_by_an_unknown_column_is_400(jp_fetch: Any) -> None:
    code, body = await error_of(jp_fetch, "runs", params={"group_by": "host"})
    assert code == 400 and "cannot group by 'host'" in body["message"]
    code, body = await error_of(jp_fetch, "runs", params={"group_by": "bogus"})
    assert code == 400 and "unknown field" in body["message"]


def test_group_conditions_round_trip_odd_keys_and_values(populated: Populated) -> None:
    from jupyter_xtrack.server.groups import condition

    store = open_store(populated.root)
    try:
        odd = {"my-key": "it's a \\ path", "n": 3, "flag": True, "xs": [1, 2]}
        run, _ = store.create_run(name="odd")
        store.set_params(run, odd)
        for key, value in odd.items():
            cond = condition(f"params.{key}", value)
            if key == "xs":
                assert cond is None  # no literal for a list: the group cannot be paged
                continue
            assert cond is not None
            assert store.query_runs(cond).ids == [run], cond
    finally:
        store.close()


async def test_repeated_filters_all_apply(jp_fetch: Any, sweep: dict[str, Any]) -> None:
    params = [("filter", "trial"), ("filter", "params.opt = 'adam'")]
    resp = await jp_fetch("xtrack", "api", "runs", params=params)
    page = json.loads(resp.body)
    assert {r["id"] for r in page["runs"]} == set(sweep["trials"][1:])
