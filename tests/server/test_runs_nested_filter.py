"""`GET runs?nest=1` with a filter: the matched children under their parents, a parent that
does not match listed as context, on a real store and server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.store import open_store

from .conftest import Populated


def _sweep(populated: Populated, name: str, accs: list[float]) -> tuple[str, list[str]]:
    with open_store(populated.root) as store:
        parent, _ = store.create_run(name=name, kind="sweep", experiment="exp1")
        store.log_metrics([(parent, "acc", 0.5, None, 1.0)])
        trials = []
        for acc in accs:
            rid, _ = store.create_run(kind="trial", parent_id=parent, experiment="exp1")
            store.log_metrics([(rid, "acc", acc, None, 1.0)])
            trials.append(rid)
    return parent, trials


async def test_matched_children_come_under_their_parents(api: Any, populated: Populated) -> None:
    hot, hot_trials = _sweep(populated, "hot", [0.95, 0.99, 0.1])
    cold, _ = _sweep(populated, "cold", [0.1, 0.2])
    page = await api("runs", "RunPage", filter="metrics.acc > 0.9", nest="1", order_by="number")
    assert page["nested"] is True
    top = {r["name"]: r for r in page["runs"]}
    assert set(top) == {"hot"}  # run-a..c have acc <= 0.9; cold has no match
    assert top["hot"]["context"] is True and top["hot"]["children_count"] == 2
    assert page["total"] == 1 and page["matched"] == 2  # the two trials, not their sweep
    kids = await api("runs", "RunPage", filter="metrics.acc > 0.9", parent=hot)
    assert sorted(r["id"] for r in kids["runs"]) == sorted(hot_trials[:2])
    # a parent matching the filter itself is no context; a root match without children stays
    page = await api("runs", "RunPage", filter="metrics.acc >= 0.5", nest="1", order_by="number")
    by_name = {r["name"]: r for r in page["runs"]}
    assert by_name["hot"]["context"] is False and by_name["hot"]["children_count"] == 2
    assert by_name["cold"]["context"] is False and by_name["cold"]["children_count"] == 0
    assert {"run-a", "run-b", "run-c"} <= set(by_name) and page["total"] == len(page["runs"])


async def test_without_nest_the_matches_stay_flat(api: Any, populated: Populated) -> None:
    _sweep(populated, "hot", [0.95, 0.99])
    page = await api("runs", "RunPage", filter="metrics.acc > 0.9")
    assert "nested" not in page and page["total"] == 2
    assert all("context" not in r for r in page["runs"])


async def test_a_bad_filter_still_points_into_what_the_user_typed(
    jp_fetch: Any, populated: Populated
) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("xtrack", "api", "runs", params={"filter": "metrics.acc >", "nest": "1"})
    body = json.loads(err.value.response.body)
    assert body["reason"] == "filter" and "metrics.acc >" in body["message"]


async def test_too_many_parents_to_nest_give_a_flat_page(api: Any, populated: Populated) -> None:
    """Past what one filter can name (MAX_FILTER_CHARS), the page stays flat and says so."""
    with open_store(populated.root) as store:
        for _ in range(300):
            parent, _ = store.create_run(kind="sweep")
            rid, _ = store.create_run(kind="trial", parent_id=parent)
            store.log_metrics([(rid, "acc", 0.99, None, 1.0)])
    page = await api("runs", "RunPage", filter="metrics.acc > 0.95", nest="1", limit=500)
    assert page["nested"] is False and "matched" not in page
    assert page["total"] == 300 and all(r["parent_id"] for r in page["runs"])
