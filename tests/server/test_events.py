"""GET events: a long poll that tells the sidebar about new and changed runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_xtrack.store import open_store

from .conftest import Populated


async def events_until(api: Any, cursor: int, done: Any, limit_s: float = 10) -> dict[str, Any]:
    """Long-poll from `cursor` until the union of what was heard satisfies `done`.

    A writer opening the store touches its files before it commits, so a poll may wake
    on that first touch and report only the running run; a client then polls again from
    the cursor it was given, as the sidebar does. Returns the union: the last cursor, all
    changed ids, and whether any answer asked for a reload."""
    heard: dict[str, Any] = {"cursor": cursor, "changed": set(), "reset": False, "answers": 0}
    deadline = asyncio.get_running_loop().time() + limit_s
    while not done(heard):
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no such change heard within {limit_s} s: {heard}"
        ev = await api("events", "Events", cursor=str(heard["cursor"]), timeout=f"{left:.2f}")
        assert ev["cursor"] >= heard["cursor"]
        heard["cursor"] = ev["cursor"]
        heard["changed"] |= set(ev["changed"])
        heard["reset"] = heard["reset"] or ev["reset"]
        heard["answers"] += 1
    return heard


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

    new: list[str] = []
    waiting = asyncio.ensure_future(
        events_until(api, first["cursor"], lambda h: new and new[0] in h["changed"]))
    new.append(await later())
    ev = await asyncio.wait_for(waiting, 10)
    assert ev["cursor"] > first["cursor"] and ev["reset"] is False


async def test_finishing_and_metrics_of_a_running_run_are_changes(
    api: Any, populated: Populated
) -> None:
    first = await api("events", "Events")
    rid = populated.ids["running"]
    with open_store(populated.root) as store:
        store.log_metrics([(rid, "loss", 0.5, 2, 0.0)])
    ev = await events_until(api, first["cursor"], lambda h: rid in h["changed"])
    with open_store(populated.root) as store:
        store.finish_run(rid, status="finished")

    # As the sidebar does: each answer naming the run is followed by a read of it. An
    # answer may come from the writer opening the store, before its commit; the commit
    # itself then wakes a later poll that names the run again.
    for _ in range(5):
        ev = await events_until(api, ev["cursor"], lambda h: rid in h["changed"])
        page = await api("runs", "RunPage", filter=f"id = '{rid}'")
        if page["runs"][0]["status"] == "finished":
            break
    assert page["runs"][0]["status"] == "finished"


async def test_deletion_and_unknown_cursor_ask_for_reload(api: Any, populated: Populated) -> None:
    first = await api("events", "Events")
    with open_store(populated.root) as store:
        store.delete_runs([populated.ids["b"]])
    ev = await events_until(api, first["cursor"], lambda h: h["reset"])
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


def _feed(jp_serverapp: Any) -> Any:
    point = jp_serverapp.extension_manager.extension_points["jupyter_xtrack.server"]
    return point.app.feed


async def test_polling_stops_when_the_last_client_stops_waiting(
    api: Any, jp_serverapp: Any
) -> None:
    first = await api("events", "Events")
    await api("events", "Events", cursor=str(first["cursor"]), timeout="0.6")
    assert _feed(jp_serverapp)._task is None  # no poll task left behind to outlive the loop


async def test_server_shutdown_releases_waiting_clients_and_awaits_the_poll(
    api: Any, jp_serverapp: Any
) -> None:
    first = await api("events", "Events")
    waiting = asyncio.ensure_future(
        api("events", "Events", cursor=str(first["cursor"]), timeout="60"))
    feed = _feed(jp_serverapp)
    while feed._task is None:  # the long poll is in and polling
        await asyncio.sleep(0.05)
    task = feed._task
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert task.done() and feed._task is None
    ev = await asyncio.wait_for(waiting, 30)  # answered at once, not after its 60 s
    assert ev["cursor"] == first["cursor"] and ev["changed"] == []
