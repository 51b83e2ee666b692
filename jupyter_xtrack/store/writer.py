"""Batched background writes: metric points from `PointBuffer`s and submitted operations
go to the store from one daemon thread, off the kernel's critical path."""

from __future__ import annotations

import atexit
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, NamedTuple

from ..facts import NotStoredFact
from .contract import RunStore
from .errors import StoreError, UnknownRunError

Point = tuple[str, str, float, "int | None", float]
# Points held back for a retry while the store is locked; beyond this the oldest go (and
# are counted). About 170 bytes each in memory (a step and a time per point): 3.4 GB.
MAX_PENDING_POINTS = 20_000_000
# At close (interpreter exit, another store chosen): how long to go on retrying a locked
# store before what is left is dropped and counted. While open, the writer never gives up.
CLOSE_PATIENCE_S = 120.0
HEARTBEAT_INTERVAL_S = 5.0
# While someone watches the points go by (a live chart), drain at least this often.
LISTENING_INTERVAL_S = 0.25


class PointBuffer:
    """An append-only buffer of metric points (run_id, key, value, step, wall_time).

    `append` is the bound `append` of a plain list, the fastest thing Python can call;
    the writer drains with slice-copy then slice-delete, each atomic under the GIL, so a
    point appended concurrently is never lost, only left for the next drain.
    """

    __slots__ = ("_items", "append")

    def __init__(self) -> None:
        self._items: list[Point] = []
        self.append: Callable[[Point], None] = self._items.append

    def __len__(self) -> int:
        return len(self._items)

    def drain(self) -> list[Point]:
        """Remove and return the points appended so far, in order."""
        items = self._items
        n = len(items)
        chunk = items[:n]
        del items[:n]
        return chunk


class _Flush:
    """A marker in the operation queue: set once everything queued before it is handled."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = True


class _Op(NamedTuple):
    """A submitted operation: `fn(store, *args)`, for run `run_id` (counted against that
    run when it is dropped); `late` ones run after the points drained with them;
    `settled(None)` once it is committed, `settled(error)` once it is dropped."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    run_id: str | None
    late: bool
    settled: Callable[[BaseException | None], None] | None


class BackgroundWriter:
    """A daemon thread that, every `interval` seconds (sooner on `flush`), writes the
    drained PointBuffers and the submitted operations to `store` in one transaction, and
    heartbeats the watched runs.

    A failed write never raises into the caller: the exception goes to `on_error`
    (default: one warning per writer). When the store is only locked the data is kept and
    retried on the next tick, for as long as the writer is open (each try already waits
    with backoff, see `connection.write_transaction`); when it cannot be written at all
    (gone, read-only, full, a run deleted) it is dropped and counted, in all
    (`dropped_points` / `dropped_ops`) and per run (`lost`), so a run's end can record
    exactly what it is missing.
    """

    def __init__(
        self,
        store: RunStore,
        *,
        interval: float = 0.5,
        on_error: Callable[[BaseException], None] | None = None,
        metric_name: Callable[[str], str] | None = None,
    ) -> None:
        self.store = store
        # What a metric key is stored as (the tracker hides secrets in it); asked once per
        # new key, never per point.
        self._metric_name = metric_name
        self._stored_names: dict[str, str] = {}
        self.interval = interval
        self.on_error = on_error or self._warn_once
        self.dropped_points = 0
        self.dropped_ops = 0
        self._lost_points: Counter[str] = Counter()
        self._lost_ops: Counter[str] = Counter()
        self._lost_reason: dict[str, str] = {}
        self.errors = 0
        self.last_error: BaseException | None = None
        self._warned = False
        self._buffers: list[PointBuffer] = []
        self._listeners: list[Callable[[list[Point]], None]] = []
        self._ops: deque[_Op | _Flush] = deque()
        self._pending_points: list[Point] = []
        self._pending_ops: list[_Op | _Flush] = []
        self._watched: dict[str, None] = {}
        self._last_beat = 0.0
        self._wake = threading.Event()
        self._stopping = False
        self._close_by = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="xtrack-writer", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    # -- the caller's side ---------------------------------------------------------------
    def add_buffer(self, buffer: PointBuffer) -> PointBuffer:
        """Drain `buffer` on every tick from now on; returns it."""
        if buffer not in self._buffers:
            self._buffers = [*self._buffers, buffer]
        return buffer

    def stored_name(self, key: str) -> str | None:
        """The name the store keeps for metric `key` (`metric_name` of it, e.g. redacted);
        None while no point of it has been drained. Listeners see only stored names, so a
        view that also reads a run's live values maps them through this."""
        if self._metric_name is None:
            return key
        return self._stored_names.get(key)

    def add_listener(self, fn: Callable[[list[Point]], None]) -> None:
        """Call `fn(points)` on the writer thread with every drained chunk of metric points,
        before they are written (a live view reads the same buffer the store gets; `xt.log`
        pays nothing for it). While a listener is attached the writer drains every
        LISTENING_INTERVAL_S. An exception in `fn` is reported and never stops the writer."""
        if fn not in self._listeners:
            self._listeners = [*self._listeners, fn]
            self._wake.set()

    def remove_listener(self, fn: Callable[[list[Point]], None]) -> None:
        """Stop calling `fn`; unknown listeners are ignored."""
        self._listeners = [f for f in self._listeners if f != fn]  # bound methods: equality

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        run_id: str | None = None,
        late: bool = False,
        wake: bool = False,
        settled: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """Queue `fn(store, *args)` to run on the writer thread, in submission order. If it
        is dropped, it counts against `run_id`. A `late` operation runs only once the points
        appended before it were written or dropped (a run's end, which records what `lost`
        says). `wake` writes now rather than at the next tick. `settled` is called on the
        writer thread with None once the operation is committed (an operation may run more
        than once: a batch that fails is rolled back and retried), or with the error once it
        is dropped."""
        op = _Op(fn, args, run_id, late, settled)
        if self._closed:
            self._run_alone(op)
            return
        self._ops.append(op)
        if wake:
            self._wake.set()

    def lost(self, run_id: str) -> NotStoredFact:
        """What could not be stored for `run_id` so far: metric points and operations
        dropped, and the last reason."""
        return {
            "points": self._lost_points[run_id],
            "writes": self._lost_ops[run_id],
            "reason": self._lost_reason.get(run_id),
        }

    def watch(self, run_id: str) -> None:
        """Heartbeat `run_id` every few seconds until `unwatch`. Its creation stamps its
        first heartbeat, so it joins the next round: a new run must not make every watched
        one beat at once (in a Run All each cell's run is watched until its finalisation,
        which waits for a quiet kernel: an UPDATE per waiting run for every new cell)."""
        self._watched[run_id] = None

    def unwatch(self, run_id: str) -> None:
        """Stop heartbeating `run_id`."""
        self._watched.pop(run_id, None)

    def watching(self) -> bool:
        """Whether some run is still open or being finished (watched, not yet unwatched):
        the tracker switches stores only when none is, so a run never spans two stores."""
        return bool(self._watched)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every point appended and every operation submitted before this call
        has been written. False if `timeout` passed first or some of it was dropped."""
        if threading.current_thread() is self._thread:
            return False  # an operation flushing its own writer would wait forever
        if self._closed:
            return not self._pending_points and not self._pending_ops
        marker = _Flush()
        self._ops.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) and marker.ok

    def close(self, timeout: float | None = CLOSE_PATIENCE_S + 30.0) -> None:
        """Write what is left (retrying a locked store for up to CLOSE_PATIENCE_S), stop
        the thread, and detach from interpreter exit."""
        if self._closed:
            return
        self._close_by = time.monotonic() + CLOSE_PATIENCE_S
        self._stopping = True
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self._closed = True
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        self.close()

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            interval = self.interval
            if self._listeners:
                interval = min(interval, LISTENING_INTERVAL_S)
            self._wake.wait(interval)
            self._wake.clear()
            self._safe_tick()
        # Closing: write what is left; a locked store is retried until the close deadline.
        while True:
            self._safe_tick()
            if not self._pending_points and not self._pending_ops:
                return
            if time.monotonic() > self._close_by:
                break
            time.sleep(0.05)
        self._drop(
            self._pending_points,
            self._pending_ops,
            StoreError(
                f"the store stayed locked for {CLOSE_PATIENCE_S:g} s after the writer closed"
            ),
        )
        self._pending_points, self._pending_ops = [], []

    def _safe_tick(self) -> None:
        try:
            self._tick()
        except BaseException as exc:  # noqa: BLE001 - the thread must survive anything
            self._report(exc)

    def _tick(self) -> None:
        ops = self._pending_ops + [self._ops.popleft() for _ in range(len(self._ops))]
        # Drained after taking the operations, so points appended before a flush marker
        # was queued are in this batch.
        points = self._pending_points
        fresh: list[Point] = []
        for buffer in self._buffers:
            fresh.extend(buffer.drain())
        if fresh and self._metric_name is not None:
            fresh = self._renamed(fresh)
        if fresh and self._listeners:
            self._tell_listeners(fresh)
        points.extend(fresh)
        self._pending_points, self._pending_ops = [], []
        early, late = _split(ops)
        beats = self._due_heartbeats()
        if early or late or points or beats:
            try:
                with self.store.batch():
                    for op in early:
                        op.fn(self.store, *op.args)
                    if points:
                        self.store.log_metrics(points)
                    for op in late:
                        op.fn(self.store, *op.args)
                    self._heartbeat(beats)
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, StoreError) and exc.retryable:
                    self._report(exc)
                    self._keep_for_retry(points, ops)
                    return
                self._one_by_one(early, points, late, ops)
                return
            self._settle([*early, *late], None)
        self._release(ops, ok=True)

    def _renamed(self, points: list[Point]) -> list[Point]:
        """`points` with each key as `metric_name` gives it; the same list when no key
        changes (the usual case: one set of the batch's keys, no per-point work)."""
        names = self._stored_names
        keys = set(map(itemgetter(1), points))
        for key in keys.difference(names):
            try:
                names[key] = self._metric_name(key) if self._metric_name else key
            except Exception as exc:  # noqa: BLE001 - a bad key must not stop the writes
                self._report(exc)
                names[key] = key
        changed = {key for key in keys if names[key] != key}
        if not changed:
            return points
        return [(p[0], names[p[1]], p[2], p[3], p[4]) if p[1] in changed else p for p in points]

    def _tell_listeners(self, points: list[Point]) -> None:
        for fn in self._listeners:
            try:
                fn(points)
            except Exception as exc:  # noqa: BLE001 - a view's bug must not stop the writes
                self._report(exc)

    def _one_by_one(
        self, early: list[_Op], points: list[Point], late: list[_Op], ops: list[Any]
    ) -> None:
        """After a failed batch: write each operation on its own, then the points, then the
        late operations (which then see what was dropped), so one bad item costs only
        itself."""
        ok = all([self._run_alone(op) for op in early])
        if points:
            ok = self._write_points_alone(points) and ok
        ok = all([self._run_alone(op) for op in late]) and ok
        self._heartbeat(self._due_heartbeats(force=True), alone=True)
        self._release(ops, ok=ok)

    def _run_alone(self, op: _Op) -> bool:
        try:
            with self.store.batch():
                op.fn(self.store, *op.args)
        except Exception as exc:  # noqa: BLE001
            self._drop([], [op], exc)
            return False
        self._settle([op], None)
        return True

    def _write_points_alone(self, points: list[Point]) -> bool:
        try:
            self.store.log_metrics(points)
            return True
        except UnknownRunError:
            # Keep the points of runs that still exist; count the others as dropped.
            alive = {run_id for run_id in {p[0] for p in points} if self._run_exists(run_id)}
            kept = [p for p in points if p[0] in alive]
            gone = [p for p in points if p[0] not in alive]
            if gone:
                self._drop(
                    gone, [], UnknownRunError(f"their runs are not in store {self.store.root}")
                )
            if kept:
                self._write_points_alone(kept)
            return False
        except Exception as exc:  # noqa: BLE001
            self._drop(points, [], exc)
            return False

    def _run_exists(self, run_id: str) -> bool:
        try:
            self.store.resolve_ref(run_id)
            return True
        except StoreError:
            return False

    def _keep_for_retry(self, points: list[Point], ops: list[_Op | _Flush]) -> None:
        if len(points) > MAX_PENDING_POINTS:
            excess = len(points) - MAX_PENDING_POINTS
            self._drop(
                points[:excess],
                [],
                StoreError(
                    f"more than {MAX_PENDING_POINTS:,} points were waiting for the locked store"
                ),
            )
            points = points[excess:]
        self._pending_points = points
        self._pending_ops = ops

    def _drop(self, points: list[Point], ops: list[Any], exc: BaseException) -> None:
        """Count `points` and `ops` as lost, in all and per run, and report why."""
        real = [op for op in ops if not isinstance(op, _Flush)]
        self.dropped_points += len(points)
        self.dropped_ops += len(real)
        by_run = Counter(map(itemgetter(0), points))
        self._lost_points.update(by_run)
        ops_by_run = Counter(op.run_id for op in real if op.run_id is not None)
        self._lost_ops.update(ops_by_run)
        reason = str(exc)
        for run_id in {*by_run, *ops_by_run}:
            self._lost_reason[run_id] = reason
        if points:
            exc = StoreError(
                f"{len(points)} metric points could not be written and were dropped: {exc}"
            )
        self._report(exc)
        self._settle(real, exc)
        self._release(ops, ok=False)

    def _settle(self, ops: list[_Op], error: BaseException | None) -> None:
        for op in ops:
            if op.settled is not None:
                try:
                    op.settled(error)
                except Exception as exc:  # noqa: BLE001 - a caller's bug must not stop writes
                    self._report(exc)

    def _release(self, ops: Iterable[Any], *, ok: bool) -> None:
        for op in ops:
            if isinstance(op, _Flush):
                op.ok = ok
                op.done.set()

    def _due_heartbeats(self, force: bool = False) -> list[str]:
        now = time.monotonic()
        if not self._watched or (not force and now - self._last_beat < HEARTBEAT_INTERVAL_S):
            return []
        self._last_beat = now
        return list(self._watched)

    def _heartbeat(self, run_ids: list[str], alone: bool = False) -> None:
        now = time.time()
        for run_id in run_ids:
            try:
                if alone:
                    with self.store.batch():
                        self.store.heartbeat(run_id, now)
                else:
                    self.store.heartbeat(run_id, now)
            except UnknownRunError:
                self.unwatch(run_id)
            except StoreError as exc:
                if not alone:
                    raise
                self._report(exc)

    def _report(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = exc
        try:
            self.on_error(exc)
        except Exception:  # noqa: BLE001 - a broken handler must not stop the writer
            pass

    def _warn_once(self, exc: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(
            f"xtrack could not write to the run store {self.store.root}: {exc} "
            "(later errors are counted on the writer, not shown)",
            RuntimeWarning,
            stacklevel=2,
        )


def _split(ops: list[_Op | _Flush]) -> tuple[list[_Op], list[_Op]]:
    """The operations to run before the points, and the late ones to run after them."""
    real = [op for op in ops if not isinstance(op, _Flush)]
    return [op for op in real if not op.late], [op for op in real if op.late]
