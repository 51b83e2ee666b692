"""The change feed behind `GET events`: a long poll that answers when runs appear or change.

Looking for changes costs one `RunStore.change_signature()` while nothing happens (for a
folder store, a `stat` of the database and its WAL, which every commit moves). Only when it
moves does a worker thread ask the store which runs are new (number above the last seen)
or running or just stopped running. Changes are numbered by a cursor; a client passes
the cursor of its last answer and hears about everything after it. Polling runs only
while some client is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .reader import StoreReader

HISTORY = 256
_NEVER = object()  # the signature before the first look (None means "no store yet")


@dataclass
class _State:
    max_number: int = 0
    running: set[str] = field(default_factory=set)
    total: int = 0


class ChangeFeed:
    """Numbered change sets of one store, for long-polling clients."""

    def __init__(self, reader: StoreReader, poll_s: float = 0.5) -> None:
        self.reader = reader
        self.poll_s = poll_s
        self.cursor = 0
        self._history: deque[tuple[int, frozenset[str], bool]] = deque(maxlen=HISTORY)
        self._signature: object = _NEVER
        self._state: _State | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._check_lock: asyncio.Lock | None = None

    async def signature(self) -> object:
        """The store's change signature (`RunStore.change_signature`), read on a worker
        thread: a stat for a folder store, a query for a database server."""
        return await self.reader.call(self.reader.change_signature)

    async def check(self) -> None:
        """Look at the store once; record a new change set if runs changed."""
        if self._check_lock is None:
            self._check_lock = asyncio.Lock()
        async with self._check_lock:
            sig = await self.signature()
            if sig == self._signature:
                return
            state = self._state
            new_state, changed, reset = await self.reader.call(self._scan, state)
            # The first scan opens the store, which may itself touch the files; later
            # scans keep the signature from before they read, so a commit made while
            # they ran is seen next time.
            self._signature = await self.signature() if state is None else sig
            self._state = new_state
            if state is None or not (changed or reset):
                return
            self.cursor += 1
            self._history.append((self.cursor, frozenset(changed), reset))
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _scan(self, old: _State | None) -> tuple[_State, set[str], bool]:
        store = self.reader.store()
        if store is None:
            return _State(), set(), old is not None and old.total > 0
        if old is None:
            top = store.query_runs(order_by="number desc", limit=1, columns=[])
            live = store.query_runs("status = 'running'", columns=[])
            number = top.columns["number"][0] if len(top) else 0
            return _State(int(number), set(live.ids), top.total), set(), False
        rows = store.query_runs(
            f"number > {int(old.max_number)} or status = 'running'", columns=[], limit=5000,
            order_by="number",
        )
        total = store.query_runs(limit=0, columns=[]).total
        new = {rid for rid, n in zip(rows.ids, rows.columns["number"], strict=True)
               if n > old.max_number}
        running = {rid for rid, s in zip(rows.ids, rows.columns["status"], strict=True)
                   if s == "running"}
        numbers = [int(n) for n in rows.columns["number"]]
        state = _State(max([old.max_number, *numbers]), running, total)
        changed = new | running | (old.running - running)
        # Runs deleted, or changes we cannot name (a rename, a tag): clients reload.
        reset = total != old.total + len(new) or not changed
        return state, changed, reset

    def since(self, cursor: int) -> dict[str, Any]:
        """What changed after `cursor`: ids, and reset when the client must reload (its
        cursor is unknown here, too old, or something changed that has no run id)."""
        if cursor == self.cursor:
            return {"cursor": self.cursor, "changed": [], "reset": False}
        oldest = self._history[0][0] if self._history else self.cursor + 1
        if cursor > self.cursor or cursor < oldest - 1:
            return {"cursor": self.cursor, "changed": [], "reset": True}
        changed: set[str] = set()
        reset = False
        for version, ids, was_reset in self._history:
            if version > cursor:
                changed |= ids
                reset = reset or was_reset
        return {"cursor": self.cursor, "changed": sorted(changed), "reset": reset}

    async def wait(self, cursor: int | None, timeout: float) -> dict[str, Any]:
        """The changes after `cursor`, waiting up to `timeout` seconds for one if there
        are none yet. With no cursor, answers at once with the current one."""
        await self.check()
        if cursor is None or cursor != self.cursor or timeout <= 0:
            return self.since(self.cursor if cursor is None else cursor)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), timeout)
        finally:
            self._waiters.discard(waiter)
            if not self._waiters:  # polling runs only while some client waits
                await self._stop_polling()
        return self.since(cursor)

    async def close(self) -> None:
        """Stop polling and release every waiting client (server shutdown)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        await self._stop_polling()

    async def _stop_polling(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self) -> None:
        while self._waiters:
            await asyncio.sleep(self.poll_s)
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a store error now must not end the feed
                await asyncio.sleep(self.poll_s)
