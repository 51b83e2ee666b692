"""Experiments recorded beyond their runs (migration 6), on both backends: created once
(a second create says so), tags set and removed, deleted and restored."""

from __future__ import annotations

from jupyter_xtrack.store import Store
from tests.store.conftest import open_quietly


def test_experiments_are_recorded_tagged_and_deleted(store: Store, store_location: str) -> None:
    assert store.experiments() == {}
    assert store.add_experiment("empty", tags={"team": "risk"}, created_at=100.0)
    assert not store.add_experiment("empty", tags={"team": "other"})  # recorded already
    store.update_experiment("empty", tags={"stage": "dev"}, drop_tag="team")
    store.update_experiment("from-runs", deleted=True)  # a name only runs had so far
    with open_quietly(store_location) as other:  # another client of the same store
        found = other.experiments()
    assert set(found) == {"empty", "from-runs"}
    assert found["empty"]["tags"] == {"stage": "dev"}
    assert found["empty"]["created_at"] == 100.0
    assert found["empty"]["updated_at"] > 100.0 and not found["empty"]["deleted"]
    assert found["from-runs"]["deleted"]
    store.update_experiment("from-runs", deleted=False)
    assert store.experiments("from-runs")["from-runs"]["deleted"] is False
    assert list(store.experiments("empty")) == ["empty"]
