"""GET events: a long poll that tells the sidebar about new and changed runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_xtrack.store import open_store

from .conftest import Populated


async def test_without_cursor_answers_at_once(api: Any) -> None:
    ev = await api("events", "Events")
    assert ev["changed"] == [] and ev["reset"] is False and isinstance(ev["cursor"], int)


async def test_quiet_store_times_out_with_no_changes(api: Any) -> None:
    first = await api("events", "Events")
    ev = await api("events", "Events", cursor=str(first["cursor"]), timeout="0.3")
    assert ev == {"cursor": first["cursor"], "changed": [], "reset": False}


async def test_new_run_wakes_the_waiting_poll(api: Any, populated: Populated) -> None:
    first = await api("events", "Events")

    def write() -> str:
        with open_store(populated.root) as store:
            rid, _ = store.create_run(name="fresh")
            return rid

    async def later() -> str:
        await asyncio.sleep(0.3)
        return await asyncio.get_running_loop().run_in_executor(None, write)

    waiting = asyncio.ensure_future(
        api("events", "Events", cursor=str(first["cursor"]), timeout="10"))
    new_id = await later()
    ev = await asyncio.wait_for(waiting, 10)
    assert new_id in ev["changed"]
    assert ev["cursor"] == first["cursor"] + 1 and ev["reset"] is False


async def test_finishing_and_metrics_of_a_running_run_are_changes(
    api: Any, populated: Populated
) -> None:
    first = await api("events", "Events")
    rid = populated.ids["running"]
    with open_store(populated.root) as store:
        store.log_metrics([(rid, "loss", 0.5, 2, 0.0)])
    ev = await api("events", "Events", cursor=str(first["cursor"]), timeout="5")
    assert rid in ev["changed"]
    with open_store(populated.root) as store:
        store.finish_run(rid, status="finished")
    ev2 = await api("events", "Events", cursor=str(ev["cursor"]), timeout="5")
    assert rid in ev2["changed"]
    page = await api("runs", "RunPage", filter=f"id = '{rid}'")
    assert page["runs"][0]["status"] == "finished"


async def test_deletion_and_unknown_cursor_ask_for_reload(api: Any, populated: Populated) -> None:
    first = await api("events", "Events")
    with open_store(populated.root) as store:
        store.delete_runs([populated.ids["b"]])
    ev = await api("events", "Events", cursor=str(first["cursor"]), timeout="5")
    assert ev["reset"] is True
    stale = await api("events", "Events", cursor=str(ev["cursor"] + 50), timeout="0")
    assert stale["reset"] is True


async def test_an_old_cursor_hears_every_change_since(api: Any, populated: Populated) -> None:
    first = await api("events", "Events")
    made = []
    for name in ("x", "y"):
        with open_store(populated.root) as store:
            made.append(store.create_run(name=name)[0])
        await api("events", "Events")  # another client polls in between
    ev = await api("events", "Events", cursor=str(first["cursor"]), timeout="0")
    assert set(made) <= set(ev["changed"])


async def test_bad_timeout_is_400(jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    try:
        await jp_fetch("xtrack", "api", "events", params={"timeout": "soon"})
    except HTTPClientError as exc:
        assert exc.code == 400
        assert exc.response is not None and "timeout" in json.loads(exc.response.body)["message"]
    else:
        raise AssertionError("expected 400")
