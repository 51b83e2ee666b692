"""delete_tag and last_metrics: the two small contract methods MLflow's API needs (a run's
tag removed everywhere it is read; each metric's last point with its real step and time)."""

from __future__ import annotations

import math

import pytest

from jupyter_xtrack.store import Store, UnknownRunError


def test_delete_tag_removes_it_from_every_read(store: Store) -> None:
    run_id, _ = store.create_run(tags={"team": "a", "keep": "yes"})
    assert store.delete_tag(run_id, "team") is True
    assert store.get_tag(run_id, "team") is None
    assert store.get_run(run_id)["tags"] == {"keep": "yes"}
    (row,) = store.query_runs(f"id = '{run_id}'", columns=["tags.team", "tags.keep"]).rows()
    assert row["tags.team"] is None and row["tags.keep"] == "yes"
    assert store.query_runs("tags.team = 'a'").total == 0


def test_delete_tag_of_a_missing_tag_says_so_and_an_unknown_run_raises(store: Store) -> None:
    run_id, _ = store.create_run()
    assert store.delete_tag(run_id, "never") is False
    with pytest.raises(UnknownRunError):
        store.delete_tag("f" * 32, "team")


def test_a_deleted_tag_can_be_set_again(store: Store) -> None:
    run_id, _ = store.create_run(tags={"team": "a"})
    store.delete_tag(run_id, "team")
    store.set_tags(run_id, {"team": "b"})
    assert store.get_run(run_id)["tags"] == {"team": "b"}


def test_last_metrics_gives_the_highest_step_with_its_time(store: Store) -> None:
    a, _ = store.create_run()
    b, _ = store.create_run()
    store.log_metrics([(a, "loss", 0.5, 7, 1000.0), (a, "loss", 0.9, 3, 2000.0)])
    store.log_metrics([(a, "acc", math.nan, None, 1500.0), (b, "loss", 0.1, 2, 3000.0)])
    last = store.last_metrics([a, b, "0" * 32])
    assert last[b] == {"loss": (0.1, 2, 3000.0)}
    assert last[a]["loss"] == (0.5, 7, 1000.0)
    value, step, when = last[a]["acc"]
    assert math.isnan(value) and step is None and when == 1500.0
    assert "0" * 32 not in last


def test_last_metrics_of_many_runs_crosses_the_parameter_limit(store: Store) -> None:
    ids = [store.create_run()[0] for _ in range(510)]
    store.log_metrics([(r, "m", float(i), i, 10.0 + i) for i, r in enumerate(ids)])
    last = store.last_metrics(ids)
    assert len(last) == 510
    assert last[ids[509]] == {"m": (509.0, 509, 519.0)}
