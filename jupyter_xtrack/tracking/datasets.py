"""A cell's datasets, fingerprinted in the state the cell left them, whatever runs next.

Hashing every frame, array and tensor before the cell returns would put ~13 ms per 100 MB in
the cell's path; hashing them after it returns, unguarded, lets the next cell (`df["b"] = 0`,
`X += 1`) change them first, so the run would record the mutated state or a hash of
half-changed data. So a small object (up to `INLINE_BYTES`) is fingerprinted at once, and the
larger ones on a worker thread (xxhash releases the GIL) that `settle()` waits for before any
other code of the user runs: the kernel hooks call it on IPython's `pre_execute` event, which
fires before every cell, silent execute and comm message (widget callbacks included).

Runs that the cell hooks do not end (`%%track` run through `run_cell_magic`) take every
fingerprint before `take` returns (`defer=False`): the rest of their cell runs with no hook
in between. What `settle()` cannot hold back, and so may still change a
large object while it is hashed: threads and asyncio tasks that the user's code started and
that keep running after the cell, and an execute request's `user_expressions` (evaluated
after the cell's hooks). A fingerprint still running after `SETTLE_TIMEOUT_S` lets the next
code run and says so in its `warning`.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, wait
from typing import Any

from .workers import executor

__all__ = ["INLINE_BYTES", "SETTLE_TIMEOUT_S", "CellDatasets", "settle", "take"]

# Up to this much data (estimated) is hashed before the cell returns: about 0.1 ms.
INLINE_BYTES = 1 << 20
# The longest the next code waits for the last cell's fingerprints (at ~7 GB/s, far more data
# than a kernel holds); past it, it runs, and the late fingerprints say they may be inexact.
SETTLE_TIMEOUT_S = 30.0
LATE_WARNING = (
    "hashed after the next code started running (fingerprinting took longer than "
    f"{SETTLE_TIMEOUT_S:g} s): the hash may not be of the state the cell left"
)

Fingerprints = list[dict[str, Any] | None]


class _Job:
    """The large objects of one run, hashed on a worker."""

    def __init__(self, future: Future[Fingerprints]) -> None:
        self.future = future
        self.late = False  # set by settle() when the next code had to run before it ended


_pending: set[_Job] = set()
_lock = threading.Lock()


def pool() -> Any:
    """The workers that fingerprint large objects: their own, so that a queue of other
    finalisation work (git, blobs, store writes) never delays them, nor the next cell."""
    return executor("xtrack-data", 2)


class CellDatasets:
    """The fingerprints of one run's datasets, in the order the names were given."""

    def __init__(self, slots: Fingerprints, job: _Job | None, deferred: list[int]) -> None:
        self._slots = slots
        self._job = job
        self._deferred = deferred

    def result(self) -> list[dict[str, Any]]:
        """Every fingerprint (waiting for the deferred ones), objects that have none left out."""
        slots = list(self._slots)
        if self._job is not None:
            for index, fp in zip(self._deferred, self._job.future.result(), strict=True):
                if fp is not None and self._job.late:
                    fp["warning"] = LATE_WARNING
                slots[index] = fp
        return [fp for fp in slots if fp is not None]


def _fingerprint_all(named: list[tuple[str, Any]]) -> Fingerprints:
    # lazy, as every capture: loaded by the first run
    from ..capture.fingerprint import fingerprint

    return [fingerprint(obj, name) for name, obj in named]


def take(named: list[tuple[str, Any]], defer: bool = True) -> CellDatasets:
    """Fingerprint ``named`` (name, object) pairs as they are now; see the module docstring.

    With ``defer``, objects larger than ``INLINE_BYTES`` are hashed on a worker that
    ``settle()`` waits for; without it, everything is hashed before this returns.
    """
    if not named:
        return CellDatasets([], None, [])
    # lazy, as every capture: loaded by the first run
    from ..capture.fingerprint import estimated_bytes

    slots: Fingerprints = [None] * len(named)
    now: list[int] = []
    later: list[int] = []
    for index, (_, obj) in enumerate(named):
        (later if defer and estimated_bytes(obj) > INLINE_BYTES else now).append(index)
    for index, fp in zip(now, _fingerprint_all([named[i] for i in now]), strict=True):
        slots[index] = fp
    if not later:
        return CellDatasets(slots, None, [])
    job = _Job(pool().submit(_fingerprint_all, [named[i] for i in later]))
    with _lock:
        _pending.add(job)
    return CellDatasets(slots, job, later)


def settle(timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Return once every deferred fingerprint is taken (or after ``timeout`` seconds, marking
    those still running as late). Call it before any other code of the user's runs."""
    with _lock:
        jobs = list(_pending)
    if not jobs:
        return
    wait([job.future for job in jobs], timeout)
    with _lock:
        for job in jobs:
            if job.future.done():
                _pending.discard(job)
            else:
                job.late = True
