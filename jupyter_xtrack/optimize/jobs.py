"""Background jobs: a sweep or an AutoML search running in a thread of the kernel, so the
notebook stays usable. `job.status`, `job.progress`, `job.cancel()`, `job.result()`.

A job writes its state and progress to its parent run (tags `xtrack.job.*`, metric
`job_progress`), so anything that reads the store (the sidebar, `xt.runs()`) can follow it.
Cancelling sets a flag that searches check between trials and at every `xt.log`; a trial
that does neither within a grace period gets `JobCancelled` raised into its thread.

A job can also be cancelled from outside the kernel (the sidebar's Cancel button): the
server sets the tag `xtrack.job.cancel` on the job's run, and a watcher thread of the job,
reading that one indexed tag every CANCEL_POLL_S, cancels it as `job.cancel()` would.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..facts import CANCEL_TAG
from ..tracking import inherit
from ..tracking.session import CONTEXT

if TYPE_CHECKING:
    from ..tracking.active_run import ActiveRun
    from ..tracking.search_runs import TrackedRun

T = TypeVar("T")
JOB_STATES = ("running", "finished", "failed", "cancelled")
CANCEL_GRACE_S = 1.5
CANCEL_POLL_S = 0.5
__all__ = ["CANCEL_TAG", "Job", "JobCancelled", "JobControl", "jobs", "start_job"]

_ids = itertools.count(1)
_JOBS: list[Job[Any]] = []


class JobCancelled(BaseException):
    """Raised inside a job's thread when the job is cancelled. A BaseException so that a
    trial's own `except Exception` does not swallow it."""


class JobControl:
    """What a running search sees of its job: the cancel flag and where to report progress."""

    def __init__(self, job: Job[Any] | None = None) -> None:
        self.job = job
        self._cancel = threading.Event()
        self.in_trial = False  # True while user or model code runs: cancel may interrupt it
        self.parent: TrackedRun | None = None
        self._lock = threading.Lock()
        self._when_attached: list[Callable[[TrackedRun], None]] = []
        # The run active where the job was started (a tracked cell): its parent and context.
        self.launched_from: ActiveRun | None = CONTEXT.active
        if self.launched_from is not None and self.launched_from.recorded:
            # Said now, in the cell: the job's thread may open its parent run only after the
            # cell's run has ended and passed its context on to the children it expected.
            inherit.expect_children(self.launched_from.id)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """Raise JobCancelled when the job was cancelled."""
        if self._cancel.is_set():
            raise JobCancelled()

    def attach(self, parent: TrackedRun, metric: str | None = None,
               direction: str | None = None) -> None:
        """The job's parent run is known: tag it as a job (with the metric its best score
        is in, and whether higher is better) so readers can list it, and start listening
        for a cancel request made through the store. Then what waited for the parent
        (`when_attached`) runs, on the job's thread, before its first trial."""
        with self._lock:
            self.parent = parent
            waiting, self._when_attached = self._when_attached, []
        for fn in waiting:
            fn(parent)
        job = self.job
        if job is None:
            return
        job.run_id = parent.id
        tags = {"xtrack.job.id": job.id, "xtrack.job.kind": job.kind, "xtrack.job.state": "running"}
        if metric:
            tags["xtrack.job.metric"] = metric
        if direction:
            tags["xtrack.job.direction"] = direction
        parent.run.set_tags(**tags)
        if parent.recorded:
            job.watch_store(parent.id)

    def when_attached(self, fn: Callable[[TrackedRun], None]) -> None:
        """Call `fn(parent)` once the job's parent run is open: now if it is, else on the
        job's thread as it opens, before any trial (so trials that inherit from it see it)."""
        with self._lock:
            parent = self.parent
            if parent is None:
                self._when_attached.append(fn)
                return
        fn(parent)

    def report(self, done: int, total: int | None, best: float | None = None,
               **extra: Any) -> None:
        """Progress so far: `done` of `total` units (trials, or seconds of budget)."""
        job = self.job
        fraction = None if not total else min(1.0, done / total)
        if job is not None:
            job.progress = {"done": done, "total": total, "fraction": fraction, "best": best, **extra}
        parent = self.parent
        if parent is None or job is None:
            return
        tags = {"xtrack.job.progress": f"{done}/{total}" if total else str(done)}
        if best is not None:
            tags["xtrack.job.best"] = f"{best:.6g}"
        parent.run.set_tags(**tags)
        if fraction is not None:
            parent.run.log(job_progress=fraction)


class Job(Generic[T]):
    """A search running in the background of this kernel."""

    def __init__(self, kind: str, name: str | None) -> None:
        self.id = f"job-{next(_ids)}"
        self.kind = kind
        self.name = name
        self.status = "running"
        self.progress: dict[str, Any] = {"done": 0, "total": None, "fraction": 0.0, "best": None}
        self.run_id: str | None = None
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.control = JobControl(self)
        self._result: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, target: Callable[[JobControl], T]) -> Job[T]:
        def main() -> None:
            try:
                self._result = target(self.control)
                self.status = "cancelled" if self.control.cancelled else "finished"
            except JobCancelled:
                self.status = "cancelled"
            except BaseException as exc:  # noqa: BLE001 - kept for result() to re-raise
                self._error = exc
                self.status = "failed"
            finally:
                self.ended_at = time.time()
                self._write_state()
                self._done.set()

        self._thread = threading.Thread(target=main, name=f"xtrack-{self.id}", daemon=True)
        self._thread.start()
        return self

    def watch_store(self, run_id: str) -> None:
        """Cancel this job when its run gets the tag CANCEL_TAG (set by the server)."""
        try:
            store = CONTEXT.store()
        except Exception:  # noqa: BLE001 - no store, no outside cancel; the job still runs
            return

        def watch() -> None:
            while not self._done.wait(CANCEL_POLL_S):
                try:
                    requested = store.get_tag(run_id, CANCEL_TAG)
                except Exception:  # noqa: BLE001 - a busy or vanished store: ask again later
                    continue
                if requested:
                    self.cancel(wait=None)
                    return

        threading.Thread(target=watch, name=f"xtrack-{self.id}-cancel", daemon=True).start()

    def _write_state(self) -> None:
        parent = self.control.parent
        if parent is None:
            return
        try:
            parent.run.set_tags(**{"xtrack.job.state": self.status})
        except Exception:  # noqa: BLE001 - the store may be gone; the job's state is in memory
            pass

    # -- the user's side -----------------------------------------------------------------
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self, wait: float | None = 10.0) -> bool:
        """Stop the job, keeping every finished trial. Returns True once it has stopped
        (waits up to `wait` seconds; None waits as long as it takes)."""
        if self.done():
            return True
        self.control.cancel()
        start = time.monotonic()
        next_interrupt = start + CANCEL_GRACE_S
        while not self._done.wait(0.05):
            now = time.monotonic()
            if now >= next_interrupt:
                self._interrupt()
                next_interrupt = now + 1.0
            if wait is not None and now - start > wait:
                break
        return self.done()

    def _interrupt(self) -> None:
        """Raise JobCancelled inside the job's thread, but only while it runs trial code
        (not while it records a result)."""
        thread = self._thread
        if thread is None or thread.ident is None or not self.control.in_trial:
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(JobCancelled)
        )

    def result(self, timeout: float | None = None) -> T:
        """The search's result (what the same call without background=True returns); waits
        for the job. Re-raises the job's error; a cancelled job returns what it had."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.id} ({self.kind}) is still running after {timeout} s")
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError(f"{self.id} was cancelled before it had a result")
        return self._result

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job ends; True if it did within `timeout`."""
        return self._done.wait(timeout)

    def __repr__(self) -> str:
        prog = self.progress
        done = f"{prog.get('done')}/{prog.get('total')}" if prog.get("total") else f"{prog.get('done')}"
        best = prog.get("best")
        best_text = f", best {best:.4g}" if isinstance(best, (int, float)) else ""
        return f"<Job {self.id} {self.kind} {self.name or ''} {self.status}: {done}{best_text}>"


def start_job(kind: str, name: str | None, target: Callable[[JobControl], T]) -> Job[T]:
    """Run `target(control)` in a background thread as a job; listed by `jobs()`."""
    job: Job[T] = Job(kind, name)
    _JOBS.append(job)
    return job.start(target)


def jobs() -> list[Job[Any]]:
    """Every job started in this process, oldest first."""
    return list(_JOBS)
