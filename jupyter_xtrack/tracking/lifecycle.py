"""The one run lifecycle: open, record, finish. Every run goes through it: `%%track` cells and
`start_run` blocks (by way of `Recording`, which adds the captures), sweep trials and AutoML
candidates (light runs, see `tracking.search_runs`).

    run = open_run(ctx, ...)          # created in the store, watched by the writer, on the stack
    ... run.log(...), run.log_params(...)
    close_run(ctx, run, status, ...)  # status and error set, off the stack: the cell may return
    store_run(ctx, run, facts, ...)   # facts and the end handed to the writer (may run later)

A status is a value (`facts.Status`); an exception only decides one through `status_for`.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal

from ..facts import NOT_STORED_TAG, ErrorFact, Fact, RunRecord, Status, new_run_record
from ..records.summary import not_stored_text
from .active_run import ActiveRun, NullRun, clean_tags

if TYPE_CHECKING:
    from ..store import BackgroundWriter
    from ..store.contract import RunStore
    from .session import TrackerContext


def status_for(error: BaseException | None) -> Status:
    """The status a run ends with when its code raised `error` (None: it returned)."""
    if error is None:
        return "finished"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, SystemExit):
        return "killed"
    return "failed"


def error_fact(error: BaseException) -> ErrorFact:
    """The error of a run as stored: type, message and full traceback (redacted)."""
    # lazy: the redaction patterns compile with the first failed run, not with the API
    from ..capture.redact import redact

    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"type": type(error).__name__, "message": redact(str(error)), "traceback": redact(tb)}


class CannotOpen(Exception):
    """The run could not be created; `reason` says which step failed (for the warning)."""

    def __init__(
        self, reason: Literal["open", "create"], where: str, cause: BaseException | None = None
    ) -> None:
        super().__init__(f"{reason}: {where}: {cause}")
        self.reason = reason
        self.where = where
        self.cause = cause


class _Creation:
    """The creation of one run by the background writer: `done` once it is committed
    (the run's number set) or dropped (`error` set); a locked store leaves it pending."""

    # The fields of the run's record that `RunStore.create_run` takes.
    FIELDS = (
        "name",
        "experiment",
        "tags",
        "parent_id",
        "kind",
        "notebook_path",
        "cell_id",
        "started_at",
    )

    def __init__(self, run: ActiveRun, writer: BackgroundWriter) -> None:
        self.run = run
        self.writer = writer
        self.fields = {key: run.record[key] for key in self.FIELDS}
        self.number = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def create(self, store: RunStore) -> None:
        """The writer's operation (it may run again after a rolled-back batch)."""
        _, self.number = store.create_run(run_id=self.run.id, **self.fields)

    def settled(self, error: BaseException | None) -> None:
        if error is None:
            self.run.record["number"] = self.number
            _proven.add(self.writer)
        self.error = error
        self.done.set()


# The writers through which a run was created: their store takes runs, so a cell's run need
# not wait for its creation (see `open_run`'s `proven`).
_proven: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


def open_run(
    ctx: TrackerContext,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    parent_id: str | None,
    kind: str,
    notebook_path: str | None = None,
    cell_id: str | None = None,
    push: bool = True,
    create_wait: float | None = None,
    run_id: str | None = None,
    proven: bool = False,
) -> ActiveRun:
    """Return the live handle of a new run (on the run stack with `push`), created in the
    store by the background writer: first in its queue, before any write of the run.

    The id is chosen here, so the run records from its first statement even while another
    process holds the store's lock: its points and writes wait in the writer, which keeps
    retrying, and the run is created as soon as the lock frees. This waits up to
    `create_wait` seconds (None: until done) for the creation, to learn the run's number;
    past that the number is filled in once the run is created. With `proven`, it does not
    wait once a run was created through the same writer (the store takes runs): the cell
    starts at once and `run.number` waits for the number where something reads it (the
    card, as the cell ends; a creation that fails later is counted as not stored, as any
    write). `run_id` is the id to give it when the caller derived one (a sweep's trial),
    else a new one. Raises CannotOpen when the store cannot be opened, or the creation
    failed for good within the wait (a missing parent, a read-only or full disk); nothing
    is left open then.
    """
    # lazy: the store package (sqlite3) loads with the first run
    from ..store.ids import new_run_id

    try:
        store = ctx.store()
        writer = ctx.writer()
    except Exception as exc:  # noqa: BLE001 - a missing/locked/read-only store
        raise CannotOpen("open", ctx.describe_store(), exc) from exc
    started = time.time()
    tag_map = clean_tags(tags)
    record = new_run_record(
        run_id=run_id or new_run_id(),
        number=0,
        name=name,
        experiment=experiment,
        tags=tag_map,
        parent_id=parent_id,
        kind=kind,
        started_at=started,
        notebook_path=notebook_path,
        cell_id=cell_id,
    )
    run = ActiveRun(ctx, store, record)
    creation = _Creation(run, writer)
    run.created = creation.done
    writer.submit(creation.create, run_id=run.id, wake=True, settled=creation.settled)
    writer.watch(run.id)
    if proven and writer in _proven:
        create_wait = 0
    if not creation.done.wait(create_wait) or creation.error is None:
        if push:
            ctx.stack.append(run)
        return run
    writer.unwatch(run.id)
    raise CannotOpen("create", str(store.root), creation.error)


def null_run(
    ctx: TrackerContext,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    parent_id: str | None,
    kind: str,
    push: bool = False,
) -> NullRun:
    """A run that records nothing, for when `open_run` could not open one."""
    record: RunRecord = new_run_record(
        run_id="",
        number=0,
        name=name,
        experiment=experiment,
        tags=clean_tags(tags),
        parent_id=parent_id,
        kind=kind,
        started_at=time.time(),
    )
    run = NullRun(ctx, record)
    if push:
        ctx.stack.append(run)
    return run


def close_run(
    ctx: TrackerContext,
    run: ActiveRun,
    status: Status,
    *,
    ended_at: float,
    error: ErrorFact | None = None,
) -> None:
    """The synchronous end of a run: its status, end time and error, and off the run stack
    (so the next `xt.log` goes to the enclosing run)."""
    run.mark(status, ended_at)
    run.hide_secret_metric_names()
    run.set_fact(Fact.ERROR, error)
    stack = ctx.stack
    if stack and stack[-1] is run:
        stack.pop()


def store_run(
    ctx: TrackerContext,
    run: ActiveRun,
    facts: Mapping[str, Any],
    *,
    files: Sequence[Mapping[str, Any]] = (),
    figures: Sequence[tuple[str, str, int]] = (),
) -> None:
    """Hand the run's facts, files, figures and its end to the background writer; the last
    step of every run. Facts that are None are not stored."""
    for key, value in facts.items():
        run.set_fact(key, value)
    if not run.recorded:
        return
    run_id, status, ended = run.id, run.status, run.record.get("ended_at")
    kept = {k: v for k, v in facts.items() if v is not None}

    def write(s: RunStore) -> None:
        s.set_facts(run_id, **kept)
        if files:
            s.record_files(run_id, files)
        _add_figures(s, run_id, figures)

    writer = ctx.writer()

    def end(s: RunStore) -> None:
        # Late: the run's points were written or dropped by now, so the count is exact.
        lost = writer.lost(run_id)
        if lost["points"] or lost["writes"]:
            problems = [*(kept.get(Fact.CAPTURE_PROBLEMS) or ()), not_stored_text(lost)]
            run.set_fact(Fact.NOT_STORED, lost)
            s.set_facts(run_id, **{Fact.NOT_STORED: lost, Fact.CAPTURE_PROBLEMS: problems})
            s.set_tags(run_id, {NOT_STORED_TAG: not_stored_text(lost, reason=False)})
        s.finish_run(run_id, status=status, ended_at=ended)

    writer.submit(write, run_id=run_id)
    writer.submit(end, run_id=run_id, late=True, settled=lambda _error: run.stored.set())
    writer.unwatch(run_id)


# -- runs still being finished in the background -------------------------------------------
def store_figures(
    ctx: TrackerContext, run: ActiveRun, figures: Sequence[tuple[str, str, int]]
) -> None:
    """Add figures drawn after the run was stored (tracking/figures.py) as its artifacts."""
    if figures and run.recorded:
        run_id = run.id
        ctx.writer().submit(lambda s: _add_figures(s, run_id, figures), run_id=run_id)


def _add_figures(s: RunStore, run_id: str, figures: Sequence[tuple[str, str, int]]) -> None:
    for name, blob, size in figures:
        s.add_artifact(
            run_id, name, blob=blob, size=size, media_type="image/png", meta={"source": "display"}
        )


_pending: set[Future[Any]] = set()
# How many callers wait for the pending work: while any does, work that waits for a quiet
# kernel (tracking/figures.py) goes ahead at once.
_waiting = [0]
_waiting_lock = threading.Lock()


def track_pending(fut: Future[Any]) -> None:
    """Remember `fut` until it is done, so `wait_pending` can wait for it."""
    _pending.add(fut)
    fut.add_done_callback(_pending.discard)


def hurried() -> bool:
    """Whether `wait_pending` is waiting: deferred work should not wait any longer."""
    return _waiting[0] > 0


def wait_pending(ctx: TrackerContext, timeout: float | None = 60.0) -> None:
    """Wait for every run still being finalised in the background (and for the work those
    start, such as drawing figures), then for the writer."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _waiting_lock:
        _waiting[0] += 1
    try:
        # Three times: the work pending now (a cell's files hashed), the work it started (the
        # run's finalisation), then the work that started (figures); not until none is left,
        # which runs started meanwhile (a sweep) could keep from being.
        for _ in range(3):
            for fut in list(_pending):
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    fut.result(timeout=left)
                except Exception:  # noqa: BLE001 - already reported by the worker
                    pass
    finally:
        with _waiting_lock:
            _waiting[0] -= 1
    ctx.flush(timeout)
