"""What the store does to send fewer statements keeps its results: reads of many runs at
once (`get_runs`, `metric_counts`), summary merges made once per transaction, run numbers
looked up once per transaction, and metric batches written with one read per batch. Each
runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import math

import pytest

from jupyter_xtrack.store import Store, UnknownRunError
from jupyter_xtrack.store.metrics import MERGE_BELOW, SERIES_PER_QUERY


def _full_run(store: Store, name: str, parent: str | None = None) -> str:
    run_id, _ = store.create_run(name=name, parent_id=parent, tags={"team": "blue"})
    store.set_params(run_id, {"lr": 0.1, "name": name})
    store.set_facts(run_id, code={"source": f"train({name!r})"}, env={"python": "3.11"})
    store.record_files(
        run_id,
        [
            {"direction": "input", "path": f"{name}.csv", "hash": None, "size": 3},
            {"direction": "output", "path": f"{name}.pkl", "hash": None, "size": 4, "x": 1},
        ],
    )
    blob = store.put_blob(name.encode())
    store.add_artifact(run_id, "model", blob=blob, size=len(name), meta={"k": name})
    store.add_artifact(run_id, "plot", blob=blob, size=len(name))
    store.log_metrics([(run_id, "loss", 1.0 / (s + 1), s, 100.0 + s) for s in range(3)])
    store.finish_run(run_id, status="finished", ended_at=200.0)
    return run_id


def test_get_runs_reads_what_get_run_reads_in_the_order_given(store: Store) -> None:
    parent = _full_run(store, "parent")
    children = [_full_run(store, f"child{i}", parent) for i in range(3)]
    bare, _ = store.create_run(name="bare")
    ids = [children[1], bare, parent, children[0], children[2]]
    got = store.get_runs([*ids, "0123456789abcdef0123456789abcdef"])
    assert list(got) == ids  # unknown ids left out
    for run_id in ids:
        assert got[run_id] == store.get_run(run_id)
    assert got[parent]["children"] == children
    assert [a["name"] for a in got[parent]["artifacts"]] == ["model", "plot"]
    assert got[parent]["code"] == {"source": "train('parent')"}
    assert store.get_runs([]) == {}


def test_get_runs_reads_more_runs_than_one_query_takes(store: Store) -> None:
    with store.batch():
        ids = [store.create_run(name=f"r{i}")[0] for i in range(1100)]
        for i, run_id in enumerate(ids):
            store.set_params(run_id, {"i": i})
    got = store.get_runs(ids)
    assert list(got) == ids
    assert [r["params"]["i"] for r in got.values()] == list(range(1100))


def test_metric_counts_are_the_history_lengths(store: Store) -> None:
    a, _ = store.create_run()
    b, _ = store.create_run()
    empty, _ = store.create_run()
    store.log_metrics([(a, "loss", 1.0, s, 1.0) for s in range(5)] + [(b, "acc", 0.5, 0, 1.0)])
    store.log_metrics([(a, "loss", 0.5, 5, 2.0), (a, "acc", 0.1, None, 2.0)])
    assert store.metric_counts([a, b, empty, "feedfeed"]) == {
        a: {"loss": 6, "acc": 1},
        b: {"acc": 1},
    }
    assert store.metric_counts([a])[a]["loss"] == len(store.metric_history(a, "loss")["value"])


def test_summaries_changed_many_times_in_a_batch_read_right_inside_and_after(
    store: Store,
) -> None:
    with store.batch():
        run_id, _ = store.create_run(tags={"a": "1"})
        store.set_params(run_id, {"lr": 0.1})
        store.set_tags(run_id, {"b": "2"})
        store.log_metrics([(run_id, "loss", 2.0, 0, 1.0)])
        store.set_params(run_id, {"lr": 0.2, "depth": 3})
        store.delete_tag(run_id, "a")
        inside = store.get_run(run_id)  # a read on the batch's connection sees its writes
        store.set_tags(run_id, {"a": "again"})
        store.log_metrics([(run_id, "loss", 1.0, 1, 2.0)])
    assert (inside["params"], inside["tags"], inside["metrics"]) == (
        {"lr": 0.2, "depth": 3},
        {"b": "2"},
        {"loss": 2.0},
    )
    after = store.get_run(run_id)
    assert (after["params"], after["tags"], after["metrics"]) == (
        {"lr": 0.2, "depth": 3},
        {"a": "again", "b": "2"},
        {"loss": 1.0},
    )
    table = store.query_runs(columns=["params.*", "tags.*", "metrics.*"])
    assert table.columns["params.depth"] == [3] and table.columns["tags.a"] == ["again"]


def test_a_failed_batch_leaves_no_summary_and_no_cached_number(store: Store) -> None:
    kept, _ = store.create_run()
    with pytest.raises(RuntimeError), store.batch():
        store.set_params(kept, {"lr": 0.5})
        gone, _ = store.create_run()
        store.set_tags(gone, {"x": "1"})
        raise RuntimeError("stop")
    assert store.get_run(kept)["params"] == {}
    with pytest.raises(UnknownRunError):
        store.set_tags(gone, {"x": "1"})  # its number, known inside the batch, is not reused
    assert len(store.query_runs()) == 1


def test_a_run_deleted_inside_a_batch_cannot_be_written_after(store: Store) -> None:
    run_id, _ = store.create_run()
    with pytest.raises(UnknownRunError), store.batch():
        store.set_params(run_id, {"lr": 0.1})
        store.delete_runs([run_id])
        store.set_params(run_id, {"lr": 0.2})
    assert store.get_run(run_id)["params"] == {}


def test_a_batch_of_many_series_appends_to_each_history(store: Store) -> None:
    """More series than one read takes, in several runs: some new, some appending to a
    small last chunk, one whose last chunk is full, one whose new points are older."""
    runs = [store.create_run()[0] for _ in range(3)]
    keys = [f"m{i}" for i in range(SERIES_PER_QUERY + 20)]
    store.log_metrics([(r, k, 1.0, 0, 10.0) for r in runs[:2] for k in keys[::2]])
    store.log_metrics([(runs[0], "full", float(s), s, 10.0) for s in range(MERGE_BELOW)])
    store.log_metrics([(runs[1], "older", 5.0, 9, 50.0)])
    batch = [(r, k, 2.0, 1, 20.0) for r in runs for k in keys]
    batch += [(runs[0], "full", -1.0, MERGE_BELOW, 20.0), (runs[1], "older", 7.0, 3, 60.0)]
    store.log_metrics(batch)
    for r in runs:
        for i, k in enumerate(keys):
            before = [1.0] if i % 2 == 0 and r != runs[2] else []
            assert store.metric_history(r, k) == {
                "step": [0] * len(before) + [1],
                "value": [*before, 2.0],
                "time": [10.0] * len(before) + [20.0],
            }
    full = store.metric_history(runs[0], "full")
    assert len(full["value"]) == MERGE_BELOW + 1 and full["value"][-1] == -1.0
    assert store.metric_history(runs[1], "older")["value"] == [5.0, 7.0]
    last = store.last_metrics(runs)
    assert last[runs[1]]["older"] == (5.0, 9, 50.0)  # step 9 stays the last point
    assert last[runs[0]]["full"] == (-1.0, MERGE_BELOW, 20.0)
    assert store.metric_counts(runs)[runs[2]] == dict.fromkeys(keys, 1)
    assert store.get_run(runs[2])["metrics"] == dict.fromkeys(keys, 2.0)
    assert not math.isnan(store.get_run(runs[1])["metrics"]["older"])


def test_a_run_made_in_a_batch_takes_its_metrics_twice_and_checks_its_parent(
    store: Store,
) -> None:
    """A run created in a batch has nothing stored to read back before its first points
    and summaries; its second points append to the first, and an unknown parent (checked
    after the insert, in the same round trip) still leaves nothing written."""
    parent, _ = store.create_run(name="parent")
    with store.batch():
        run_id, _ = store.create_run(parent_id=parent, tags={"a": "1"})
        store.log_metrics([(run_id, "loss", 2.0, 0, 1.0), (run_id, "acc", 0.5, 0, 1.0)])
        store.log_metrics([(run_id, "loss", 1.0, 1, 2.0)])
        store.heartbeat(run_id, at=3.0)
        store.finish_run(run_id, status="finished", ended_at=4.0)
    run = store.get_run(run_id)
    assert store.metric_history(run_id, "loss")["value"] == [2.0, 1.0]
    assert (run["metrics"], run["tags"], run["status"]) == (
        {"loss": 1.0, "acc": 0.5},
        {"a": "1"},
        "finished",
    )
    assert (run["heartbeat_at"], run["ended_at"]) == (3.0, 4.0)
    assert store.get_run(parent)["children"] == [run_id]
    with pytest.raises(UnknownRunError), store.batch():
        store.set_params(parent, {"lr": 0.1})
        store.create_run(name="orphan", parent_id="0" * 32)
    assert store.get_run(parent)["params"] == {}
    assert len(store.query_runs()) == 2  # the parent and its child: no orphan
    with pytest.raises(UnknownRunError):
        store.heartbeat("f" * 32)
