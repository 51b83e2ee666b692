"""Process-wide tracker state: the store in use, its background writer, the stack of active runs.

Opening the store is lazy: importing the package or loading the extension never touches
the disk. Everything here is safe to call from a kernel that has no writable store: the
failure is remembered, reported once, and the user's code goes on.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..facts import NotStoredFact
    from ..store import BackgroundWriter, PointBuffer
    from ..store.contract import RunStore
    from .active_run import ActiveRun
    from .team import TeamLink


class TrackerContext:
    """The tracker's state for this process (one per interpreter, see `CONTEXT`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._store: RunStore | None = None
        self._writer: BackgroundWriter | None = None
        self._points: PointBuffer | None = None
        self._explicit_path: str | None = None
        # Set when the store is a team store (a database URL): which store new runs go to.
        self._team: TeamLink | None = None
        # Writers of a team store that stopped answering, finishing in the background.
        self._parked: list[BackgroundWriter] = []
        self.start_dir: str | None = None  # the notebook's folder, once known
        self.main_stack: list[ActiveRun] = []
        # A background job (a sweep in a thread) runs its trials on a stack of its own, so
        # its xt.log calls reach its trials and never the cell the user runs meanwhile.
        self.thread_local = threading.local()
        self.threads_bound = False
        self.warned: set[str] = set()

    # -- the store ---------------------------------------------------------------
    def use_store(self, path_or_url: str | os.PathLike[str] | None) -> RunStore:
        """Make `path_or_url` the store for this process from now on and return it (for a
        team store that does not answer: the local store its runs are kept in meanwhile)."""
        with self._lock:
            store, team = self._open(path_or_url)  # first: on error the old store stays
            self._close_writer()
            self._forget_team()
            self._store, self._team = store, team
            self._explicit_path = None if path_or_url is None else os.fspath(path_or_url)
            return store

    def store(self) -> RunStore:
        """The store new runs go to, opened on first use (`XTRACK_STORE`, else the
        repository's `.xtrack/`). With a team store, between runs: the local store while
        the team store does not answer, the team store again once it does (tracking/team.py)."""
        store, team = self._store, self._team
        if store is not None and (team is None or not team.due()):
            return store
        with self._lock:
            if self._store is None:
                self._store, self._team = self._open(None)
            elif self._team is not None and self._quiet():
                self._switch_to(self._team.follow())
            return self._store

    def _open(self, path_or_url: str | os.PathLike[str] | None) -> tuple[RunStore, TeamLink | None]:
        """The store at `path_or_url` (None: `XTRACK_STORE`, else the default); for a team
        store, also the link that decides where new runs go."""
        from ..store import open_store  # lazy: sqlite3 and psutil load with the first store
        from ..store.location import ENV_VAR, default_store_path
        from .team import TeamLink, is_team_url

        url = path_or_url if path_or_url is not None else os.environ.get(ENV_VAR)
        if url is None or not is_team_url(url):
            return open_store(path_or_url, start_dir=self.start_dir), None
        local = default_store_path(self.start_dir or os.getcwd())
        team = TeamLink(os.fspath(url), local, tell=self.tell)
        return team.first_store(), team

    def _quiet(self) -> bool:
        """No run is open or being finished: new runs may go to another store."""
        writer = self._writer
        return not self.main_stack and (writer is None or not writer.watching())

    def _switch_to(self, store: RunStore) -> None:
        """New runs go to `store` from now on. Leaving a team store that stopped answering,
        its writer is left to finish in the background (what it holds is written if the
        store comes back before the kernel exits), never waited for on the cell's path."""
        if store is self._store:
            return
        if self._team is not None and store is self._team.local() and self._writer is not None:
            self._parked.append(self._writer)
            self._writer = self._points = None
        else:
            self._close_writer()
        self._store = store

    def _forget_team(self) -> None:
        if self._team is not None:
            self._team.close()
        self._team = None
        for writer in self._parked:  # stop waiting for an unreachable store: its thread
            writer.close(timeout=0)  # retries for CLOSE_PATIENCE_S more, then counts the loss
        self._parked.clear()

    def writer(self) -> BackgroundWriter:
        """The background writer for the store in use, started on first use."""
        writer = self._writer
        if writer is not None:
            return writer
        with self._lock:
            if self._writer is None:
                from ..store import BackgroundWriter, PointBuffer  # lazy: see use_store

                self._points = PointBuffer()
                from ..capture.redact import redact_text

                # The store in use as it is: never a switch between a run's start and its writer.
                store = self._store if self._store is not None else self.store()
                self._writer = BackgroundWriter(
                    store, on_error=self._writer_error, metric_name=redact_text
                )
                self._writer.add_buffer(self._points)
            return self._writer

    def points(self) -> PointBuffer:
        """The metric-point buffer that `xt.log` appends to."""
        self.writer()
        assert self._points is not None
        return self._points

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything submitted so far is in the store (no-op without a writer)."""
        writer = self._writer
        return True if writer is None else writer.flush(timeout)

    def lost(self, run_id: str) -> NotStoredFact | None:
        """What this process's writer could not store of run `run_id` (None: nothing, or no
        writer). It knows even what a run's end could not record in the store."""
        writer = self._writer
        lost = None if writer is None else writer.lost(run_id)
        return lost if lost and (lost["points"] or lost["writes"]) else None

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.flush(30.0)
            self._writer.close()
        self._writer = None
        self._points = None

    def _writer_error(self, exc: BaseException) -> None:
        from ..store import StoreError  # loaded with the writer

        team = self._team
        if team is not None and isinstance(exc, StoreError) and exc.retryable:
            team.suspect()  # the next run checks the team store (kept: nothing is lost)
            return
        self.warn_once(
            f"writer:{type(exc).__name__}",
            f"could not write to the run store ({exc}); the cell ran normally but this run's "
            "record is incomplete",
        )

    # -- runs ----------------------------------------------------------------------
    @property
    def stack(self) -> list[ActiveRun]:
        """The active runs of the calling thread: its own stack if it bound one, else the
        main one (the kernel's cells and scripts)."""
        if self.threads_bound:
            return getattr(self.thread_local, "stack", self.main_stack)
        return self.main_stack

    def bind_thread_stack(self, stack: list[ActiveRun] | None) -> None:
        """Give the calling thread a run stack of its own (None: back to the main one)."""
        if stack is None:
            self.thread_local.__dict__.pop("stack", None)
        else:
            self.thread_local.stack = stack
            self.threads_bound = True

    @property
    def active(self) -> ActiveRun | None:
        stack = self.stack
        return stack[-1] if stack else None

    # -- messages ------------------------------------------------------------------
    def no_run(self, what: str) -> None:
        """Warn (once) that `xt.<what>()` had no active run to record into."""
        self.warn_once(
            f"no-run:{what}",
            f"xt.{what}() was called with no active run, so nothing was recorded; "
            "put %%track on the cell or use `with xt.start_run():`",
        )

    def warn_once(self, key: str, message: str) -> None:
        """Print one clear warning per kind of problem, on stderr, never raising."""
        if key in self.warned:
            return
        self.warned.add(key)
        self.tell(f"warning: {message}")

    def tell(self, message: str) -> None:
        """Print `message` for the user on stderr, never raising."""
        try:
            print(f"xtrack: {message}", file=sys.stderr)
        except Exception:  # noqa: BLE001 - a closed stderr must not break the cell either
            pass

    def describe_store(self) -> str:
        store, team = self._store, self._team
        if team is not None:
            return team.shown if team.online else str(team.local_dir)
        if store is not None:
            return str(store.root)
        return self._explicit_path or os.environ.get("XTRACK_STORE") or "(not opened yet)"

    def store_status(self) -> str:
        """The store new runs go to, as `%xtrack store` shows it: with a team store, which
        one is in use and whether the team store answers."""
        store = self.store()
        team = self._team
        return str(store.root) if team is None else team.describe()

    def reset(self) -> None:
        """Forget the store and the runs (tests and `%xtrack store` use this)."""
        with self._lock:
            self._close_writer()
            if self._store is not None:
                self._store.close()
            self._forget_team()
            self._store = None
            self.main_stack.clear()
            self.warned.clear()


CONTEXT = TrackerContext()


def _at_exit() -> None:
    """Runs still open at interpreter exit (a script that never ended its run, a kernel shut
    down mid-cell) are recorded as killed rather than left running."""
    stack = CONTEXT.stack
    for run in reversed(stack):
        run.abandon("killed")
    stack.clear()


atexit.register(_at_exit)
