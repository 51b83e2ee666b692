"""Writes from concurrent MLflow requests committed together.

Each request's write is a function of the store, queued; one thread takes everything
queued, runs it inside one `RunStore.batch()` transaction (one commit, however many
requests), and answers each request once its data is committed. When a function in the
group fails, the group is rolled back and each function runs again alone, so one bad
request never loses another's data: the convention of store/writer.py's background
writer, except that every request waits for, and learns the result of, its own write.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ...store.contract import RunStore

Write = Callable[[RunStore], Any]
MAX_GROUP = 256  # writes per transaction at most, so one commit never holds the lock long


class _GroupFailed(Exception):
    """Raised inside the batch to roll the group back after one of its writes failed."""


class GroupWriter:
    """The one writing thread of the MLflow API (started on the first write)."""

    def __init__(self, store: Callable[[], RunStore]) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[tuple[Write, Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, write: Write) -> Future[Any]:
        """Queue `write`; its future holds its result once committed (or its exception)."""
        future: Future[Any] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="xtrack-mlflow-writer", daemon=True
                )
                self._thread.start()
        self._queue.put((write, future))
        return future

    def close(self) -> None:
        """Stop the thread once what is queued is written."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._commit(group)
                    return
                group.append(more)
            self._commit(group)

    def _commit(self, group: list[tuple[Write, Future[Any]]]) -> None:
        try:
            store = self._store()
        except BaseException as exc:  # the store cannot be opened: every request learns why
            for _, future in group:
                future.set_exception(exc)
            return
        if len(group) > 1:
            results: list[Any] = []
            try:
                with store.batch():
                    for write, _ in group:
                        try:
                            results.append(write(store))
                        except Exception as exc:
                            raise _GroupFailed from exc
            except Exception:  # noqa: S110 - rolled back; each write runs alone below
                pass
            else:
                for (_, future), result in zip(group, results, strict=True):
                    future.set_result(result)
                return
        for write, future in group:
            try:
                future.set_result(write(store))
            except Exception as exc:
                future.set_exception(exc)
