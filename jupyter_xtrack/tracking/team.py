"""A kernel pointed at a team store (a `postgresql://` URL in `XTRACK_STORE` or given to
`%xtrack store`) keeps tracking when that store does not answer: new runs go to the local
default store (`.xtrack/` at the git root) until the team store answers again.

Why here and not in the store: whether a run goes to the team or stays on the laptop is a
decision about runs (a run never spans two stores), taken by the session when no run is in
flight (`TrackerContext.store`). The store only says, through a retryable `StoreError`, that
a connection failed.

The team store is tried in a background thread (`_Attempt`), so a server that hangs never
holds a cell for longer than a short wait (`FIRST_WAIT_S`, `PROBE_WAIT_S`); while it is
unreachable it is tried again at most once every `RETRY_INTERVAL_S`. The user is told once
when runs start being kept locally and once when they go to the team store again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.contract import RunStore

# While the team store is unreachable it is tried at most this often (seconds).
RETRY_INTERVAL_S = 60.0
# How long the first open of the team store may hold the kernel's first run.
FIRST_WAIT_S = 3.0
# How long a later try may hold a run's start; past it the run is kept locally.
PROBE_WAIT_S = 1.0


def is_team_url(path_or_url: str | os.PathLike[str] | None) -> bool:
    """Whether `path_or_url` names a database server store (one that may be unreachable)."""
    from ..store.location import is_postgres_url  # lazy: the store package loads on first use

    return path_or_url is not None and is_postgres_url(os.fspath(path_or_url))


class _Attempt:
    """One try at opening the team store, on a daemon thread: `done` once it opened
    (`store`) or failed (`error`)."""

    def __init__(self, url: str, wait: float) -> None:
        self.wait = wait  # how long the run that started it waits for it
        self.done = threading.Event()
        self.store: RunStore | None = None
        self.error: BaseException | None = None
        threading.Thread(
            target=self._open, args=(url,), name="xtrack-team-store", daemon=True
        ).start()

    def _open(self, url: str) -> None:
        from ..store import open_store

        try:
            self.store = open_store(url)
        except BaseException as exc:  # noqa: BLE001 - told to the kernel through `error`
            self.error = exc
        finally:
            self.done.set()


class TeamLink:
    """The team store a kernel was pointed at, whether new runs go there (`online`), and the
    local store they go to meanwhile. Not thread-safe: the session calls it under its lock."""

    def __init__(self, url: str, local_dir: Path, tell: Callable[[str], None]) -> None:
        from ..store.location import shown_url  # lazy: see is_team_url

        self.url = url
        self.shown = shown_url(url)
        self.local_dir = local_dir
        self._tell = tell
        self.online = False
        self.team: RunStore | None = None  # the team store new runs go to while online
        self._local: RunStore | None = None
        self._attempt: _Attempt | None = None
        self._next_try = 0.0
        self._suspect = False
        self.problem = ""
        self.offline_since: float | None = None

    # -- choosing the store ---------------------------------------------------------------
    def first_store(self) -> RunStore:
        """The store the kernel's first run goes to: the team store if it opens within
        FIRST_WAIT_S, else the local one (said once). An error that retrying cannot cure
        (a bad URL, a missing psycopg, a refused role) is raised as it is."""
        return self._settle(self._try(FIRST_WAIT_S))

    def due(self) -> bool:
        """Whether `follow` may change the store new runs go to (cheap: checked per run)."""
        if self.online:
            return self._suspect and time.monotonic() >= self._next_try
        return self._finished_unseen() or time.monotonic() >= self._next_try

    def follow(self) -> RunStore:
        """The store new runs go to from now on; called only while no run is in flight.
        Online, after a write failed: the team store is tried again and left if it does
        not answer. Offline: it is tried again when due, and used again once it answers."""
        attempt = self._attempt
        if attempt is None or (attempt.done.is_set() and attempt.store is None):
            if time.monotonic() < self._next_try:
                return self.current()
            attempt = self._try(PROBE_WAIT_S)
        elif not attempt.done.is_set():
            return self.current()  # still trying in the background: no news
        self._suspect = False
        return self._settle(attempt)

    def suspect(self) -> None:
        """A write to the team store failed in a way retrying may cure: try it again
        before the next run (within the rate limit) and keep runs locally if it is down."""
        if self.online:
            self._suspect = True

    def current(self) -> RunStore:
        """The store new runs go to now."""
        if self.online and self.team is not None:
            return self.team
        return self.local()

    def local(self) -> RunStore:
        """The local default store, opened on first use and kept (runs read from it stay
        readable after the team store is back)."""
        if self._local is None:
            from ..store import open_store

            self._local = open_store(self.local_dir)
        return self._local

    def describe(self) -> str:
        """Which store is in use and whether the team store answers (`%xtrack store`)."""
        if self.online:
            return f"{self.shown} (the team store; reachable)"
        since = time.strftime("%H:%M:%S", time.localtime(self.offline_since or time.time()))
        return (
            f"{self.local_dir} (local: the team store {self.shown} has been unreachable since "
            f"{since}: {self.problem}; tried again at most every {RETRY_INTERVAL_S:g} s, "
            "`xtrack push` copies the runs kept here to it)"
        )

    def close(self) -> None:
        """Close the stores this link opened."""
        for store in (self.team, self._local):
            if store is not None:
                store.close()

    # -- attempts -----------------------------------------------------------------------
    def _try(self, wait: float) -> _Attempt:
        self._attempt = attempt = _Attempt(self.url, wait)
        self._next_try = time.monotonic() + RETRY_INTERVAL_S
        attempt.done.wait(wait)
        return attempt

    def _finished_unseen(self) -> bool:
        attempt = self._attempt
        return attempt is not None and attempt.done.is_set() and attempt.store is not None

    def _settle(self, attempt: _Attempt) -> RunStore:
        """The store new runs go to once `attempt` answered, or did not in time."""
        from ..store import StoreError

        if attempt.store is not None:
            self._attempt = None
            if self.online:  # only a write failed (busy): the store answers, stay
                attempt.store.close()
                return self.current()
            self.team, self.online = attempt.store, True
            self._next_try = 0.0  # a first failed write is checked at once
            if self.offline_since is not None:
                self.offline_since = None
                self._tell(
                    f"the team store {self.shown} is reachable again: new runs go there; "
                    f"`xtrack push` copies the runs kept in {self.local_dir} meanwhile"
                )
            return attempt.store
        error = attempt.error
        if error is not None and not (isinstance(error, StoreError) and error.retryable):
            if self._local is None and not self.online:
                raise error  # not a connection problem: the user must fix it, say so as it is
            self._attempt = None
            return self.current()
        return self._go_offline(
            str(error) if error is not None else f"it did not answer within {attempt.wait:g} s"
        )

    def _go_offline(self, problem: str) -> RunStore:
        self.problem = problem
        store = self.local()  # opened first: if it cannot be, nothing changes
        self.online = False
        if self.offline_since is None:
            self.offline_since = time.time()
            self._tell(
                f"the team store {self.shown} is unreachable, so runs are being kept locally "
                f"in {self.local_dir}; new runs go to the team store again once it answers "
                f"(tried at most every {RETRY_INTERVAL_S:g} s), and `xtrack push` sends the "
                f"runs kept here to it. Why: {problem}"
            )
        return store
