"""Diffs run in worker processes apart from ordinary reads (issue 12, R2): GET runs is
answered while diffs run, a full pool refuses at once (503, Retry-After), size limits refuse
before any work (413), and a diff whose client leaves or that runs past its time has its
worker process ended, which psutil confirms. No timing assertions: each test waits for the
server to report a state (diffs in flight, workers gone), then checks what else holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import psutil
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.server.heavy import DiffWorkers
from jupyter_xtrack.store import open_store

from .conftest import API, Populated, notebook_bytes
from .test_endpoints import error_of

WAIT_S = 180.0  # generous: a worker's first diff loads nbformat, seconds on a busy machine


def slow_notebook(salt: str, lines: int = 3000) -> bytes:
    """One cell whose every line differs between salts: nbdime's line diff of such a pair
    takes minutes, though the notebook is only ~70 KB."""
    return notebook_bytes(["".join(f"v{j} = {j}  # {salt}{j}\n" for j in range(lines))])


@pytest.fixture
def slow_pair(populated: Populated) -> tuple[str, str]:
    """Run numbers of two runs whose notebook snapshots take minutes to diff."""
    numbers = []
    with open_store(populated.root) as store:
        for salt in ("a", "b"):
            rid, number = store.create_run(name=f"slow-{salt}", experiment="slow")
            blob = store.put_blob(slow_notebook(salt))
            store.set_facts(rid, notebook={"hash": blob, "path": "slow.ipynb"})
            store.finish_run(rid, status="finished")
            numbers.append(str(number))
    return numbers[0], numbers[1]


SLOW_BYTES = len(slow_notebook("a"))


@pytest.fixture
def limits() -> dict[str, Any]:
    """XTrack settings for the test's server (tests parametrize it)."""
    return {}


@pytest.fixture
def jp_server_config(store_path: Any, limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": str(store_path), "events_poll_s": 0.05, **limits},
    }


def diff_workers(jp_serverapp: Any) -> DiffWorkers:
    point = jp_serverapp.extension_manager.extension_points["jupyter_xtrack.server"]
    workers: DiffWorkers = point.app.diffs
    return workers


def worker_processes() -> list[psutil.Process]:
    """Live diff worker processes started by this (test and server) process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if (
                any("diff_worker" in part for part in child.cmdline())
                and child.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


async def wait_until(what: str, check: Callable[[], bool]) -> None:
    for _ in range(int(WAIT_S / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


DiffClient = Callable[[str, str], Awaitable[asyncio.StreamWriter]]


@pytest.fixture
def open_diff(jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str) -> Any:
    """open_diff(a, b) sends GET diff on a raw connection and returns its writer, so the
    test can close the connection as a browser tab would; all are closed at the end."""
    token = jp_serverapp.identity_provider.token
    writers: list[asyncio.StreamWriter] = []

    async def start(a: str, b: str) -> asyncio.StreamWriter:
        _, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        writer.write(
            f"GET {jp_base_url}{API}/diff?a={a}&b={b}&kind=notebook HTTP/1.1\r\n"
            f"Host: localhost\r\nAuthorization: token {token}\r\n\r\n".encode()
        )
        await writer.drain()
        writers.append(writer)
        return writer

    yield start
    for writer in writers:
        writer.close()


@pytest.mark.parametrize(
    "limits", [{"diff_workers": 2, "diff_queue": 2, "max_diff_bytes": SLOW_BYTES}]
)
async def test_runs_are_answered_while_four_diffs_at_the_limit_run(
    jp_serverapp: Any,
    jp_fetch: Any,
    api: Any,
    open_diff: DiffClient,
    slow_pair: tuple[str, str],
) -> None:
    pool = diff_workers(jp_serverapp)
    clients = [await open_diff(*slow_pair) for _ in range(4)]
    await wait_until(
        "two diffs running and two waiting",
        lambda: len(pool.in_flight()) == 2 and pool.waiting == 2,
    )
    running = pool.in_flight()

    page = await api("runs", "RunPage", limit="1")  # must not wait behind the diffs
    assert page["total"] >= 6 and len(page["runs"]) == 1
    status = await api("status", "Status")
    assert status["state"] == "ok"
    # The diffs were still at work when both answers came: reads never queued behind them.
    assert pool.in_flight() == running and pool.waiting == 2
    assert all(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in running)

    # A fifth diff finds the pool and its queue full: refused at once, not queued.
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), "diff", params={"a": "1", "b": "2"})
    assert info.value.code == 503 and info.value.response is not None
    assert info.value.response.headers["Retry-After"] == "5"
    assert json.loads(info.value.response.body)["reason"] == "busy"

    for client in clients:
        client.close()
    await wait_until("every diff stopped", lambda: not pool.in_flight() and not pool.waiting)
    await wait_until("the workers gone", lambda: not worker_processes())
    assert not any(psutil.pid_exists(pid) for pid in running)


@pytest.mark.parametrize("limits", [{"diff_workers": 1, "diff_queue": 0}])
async def test_a_client_that_leaves_ends_its_diffs_worker(
    jp_serverapp: Any,
    api: Any,
    open_diff: DiffClient,
    slow_pair: tuple[str, str],
) -> None:
    pool = diff_workers(jp_serverapp)
    client = await open_diff(*slow_pair)
    await wait_until("the diff running", lambda: len(pool.in_flight()) == 1)
    [pid] = pool.in_flight()
    assert psutil.Process(pid).is_running()
    client.close()
    await wait_until("the diff stopped", lambda: not pool.in_flight())
    await wait_until("its worker gone", lambda: not psutil.pid_exists(pid))
    assert not worker_processes()
    # The slot is free again: the next diff runs (on a fresh worker) and answers.
    diff = await api("diff", "NotebookDiff", a="1", b="2", kind="notebook")
    assert diff["changed"] is True


@pytest.mark.parametrize("limits", [{"diff_timeout_s": 3.0}])
async def test_a_diff_past_its_time_is_504_and_its_worker_ended(
    jp_serverapp: Any,
    jp_fetch: Any,
    slow_pair: tuple[str, str],
) -> None:
    code, body = await error_of(
        jp_fetch, "diff", params={"a": slow_pair[0], "b": slow_pair[1]}, request_timeout=WAIT_S
    )
    assert code == 504 and body["reason"] == "diff_timeout"
    assert "longer than 3 s" in body["message"] and "c.XTrack.diff_timeout_s" in body["message"]
    assert not diff_workers(jp_serverapp).in_flight()
    await wait_until("the worker gone", lambda: not worker_processes())


@pytest.mark.parametrize("limits", [{"max_diff_bytes": SLOW_BYTES - 1}])
async def test_a_notebook_over_the_byte_limit_is_413_before_any_work(
    jp_serverapp: Any,
    jp_fetch: Any,
    slow_pair: tuple[str, str],
) -> None:
    code, body = await error_of(jp_fetch, "diff", params={"a": slow_pair[0], "b": slow_pair[1]})
    assert code == 413 and body["reason"] == "too_large"
    size, limit = f"{SLOW_BYTES / 1e3:.3g} KB", f"{(SLOW_BYTES - 1) / 1e3:.3g} KB"
    assert body["message"].startswith(
        f"run #{slow_pair[0]}'s notebook snapshot is {size} ({SLOW_BYTES:,} bytes), over the "
        f"diff limit of {limit} (c.XTrack.max_diff_bytes in jupyter_server_config.py)"
    )
    assert not worker_processes()  # refused before a worker was started


@pytest.mark.parametrize("limits", [{"max_diff_cells": 1}])
async def test_a_notebook_over_the_cell_limit_is_413(jp_fetch: Any, api: Any) -> None:
    code, body = await error_of(jp_fetch, "diff", params={"a": "1", "b": "2"})
    assert code == 413 and body["reason"] == "too_large"
    assert body["message"].startswith(
        "run #1's notebook snapshot has 2 cells, over the diff limit of 1 (c.XTrack.max_diff_cells"
    )
    assert not worker_processes()
    # The lineage snapshots have one cell each: at the limit, so they are diffed.
    diff = await api("diff", "NotebookDiff", a="1", b="2", kind="lineage")
    assert diff["changed"] is True


@pytest.mark.parametrize("limits", [{"max_history_points": 400}])
async def test_histories_are_capped_at_max_history_points(api: Any, populated: Populated) -> None:
    rid = populated.ids["a"]  # its loss has 5,000 points
    for params in ({}, {"max_points": "4000"}):
        history = await api(f"runs/{rid}/metrics/loss", "MetricHistory", **params)
        assert history["count"] == 5000 and history["downsampled"] is True
        assert 0 < len(history["value"]) <= 400
        assert max(history["value"]) == 5.0 + 1 / 1235  # the spike survives the cap
    comp = await api("compare", "Comparison", ids="1,2", metrics="loss", max_points="4000")
    assert len(comp["histories"]["loss"][rid]["value"]) <= 400
    small = await api(f"runs/{rid}/metrics/loss", "MetricHistory", max_points="100")
    assert len(small["value"]) <= 100  # below the cap, the client's number holds


async def test_runs_are_answered_while_the_history_threads_are_busy(
    jp_serverapp: Any,
    api: Any,
    populated: Populated,
) -> None:
    point = jp_serverapp.extension_manager.extension_points["jupyter_xtrack.server"]
    reader = point.app.feed.reader  # the extension's one StoreReader
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Hold both history threads, as two histories of millions of points would.
    blockers = [
        loop.run_in_executor(
            reader.history_executor, asyncio.run_coroutine_threadsafe(release.wait(), loop).result
        )
        for _ in range(2)
    ]
    try:
        history = asyncio.ensure_future(
            api(f"runs/{populated.ids['a']}/metrics/loss", "MetricHistory", max_points="10")
        )
        page = await api("runs", "RunPage", limit="1")
        run = await api("runs/1", "RunDetail")
        assert page["runs"] and run["number"] == 1
        assert not history.done()  # the history waits for its threads, the table did not
    finally:
        release.set()
        await asyncio.gather(*blockers)
    assert (await history)["count"] == 5000
