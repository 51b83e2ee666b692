"""A cell's datasets, fingerprinted in the state the cell left them, whatever runs next.

Hashing every frame, array and tensor before the cell returns would put ~13 ms per 100 MB in
the cell's path; hashing them after it returns, unguarded, lets the next cell (`df["b"] = 0`,
`X += 1`) change them first, so the run would record the mutated state or a hash of
half-changed data. So a small object (up to `INLINE_BYTES`) is fingerprinted at once, and the
larger ones on a worker thread (xxhash releases the GIL) that `settle()` waits for before any
other code of the user runs: the kernel hooks call it on IPython's `pre_execute` event, which
fires before every cell, silent execute and comm message (widget callbacks included).

Pandas frames and series need no waiting where pandas copies on write (always from pandas
3, or with `mode.copy_on_write` on): a shallow copy taken at cell end (microseconds, no data
copied) keeps the cell's state however the next code changes the original, since pandas
then copies the block it writes to. Such a copy is hashed on the worker without holding back
the next cell (`settle()` does not wait for it), when every column holds plain values
(numbers, booleans, dates, strings, categories: pandas' own dtypes, never `object` ones,
whose elements the next code could change in place); others wait as above. Not held either:
a frame built with `copy=False` over a numpy array that the user then writes to directly.

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

    def __init__(self, slots: Fingerprints, jobs: list[tuple[_Job, list[int]]]) -> None:
        self._slots = slots
        self._jobs = jobs  # each job and the slots it fills

    def result(self) -> list[dict[str, Any]]:
        """Every fingerprint (waiting for the deferred ones), objects that have none left out."""
        slots = list(self._slots)
        for job, indices in self._jobs:
            for index, fp in zip(indices, job.future.result(), strict=True):
                if fp is not None and job.late:
                    fp["warning"] = LATE_WARNING
                slots[index] = fp
        return [fp for fp in slots if fp is not None]


def _fingerprint_all(named: list[tuple[str, Any]]) -> Fingerprints:
    # lazy, as every capture: loaded by the first run
    from ..capture.fingerprint import fingerprint

    return [fingerprint(obj, name) for name, obj in named]


def _plain_dtype(dtype: Any) -> bool:
    """Values of this dtype cannot change but through pandas (which copies on write)."""
    # lazy: loaded with pandas, whose objects alone get here
    import numpy as np

    if isinstance(dtype, np.dtype):
        return dtype.kind in _PLAIN_KINDS
    return (type(dtype).__module__ or "").partition(".")[0] == "pandas"


_PLAIN_KINDS = frozenset("biufcmM")


def frozen_copy(obj: Any) -> Any | None:
    """A shallow copy of a pandas frame or series that no later code can change (see the
    module docstring; it shares the data until the original is written to), or None when pandas does not copy on write or a column (or the
    index) may hold objects changed in place."""
    if (type(obj).__module__ or "").partition(".")[0] != "pandas":
        return None
    # lazy: only a pandas object gets here, so pandas is loaded
    import pandas as pd

    if int(pd.__version__.split(".")[0]) < 3 and pd.get_option("mode.copy_on_write") is not True:
        return None
    if isinstance(obj, pd.DataFrame):
        dtypes = list(obj.dtypes)
    elif isinstance(obj, pd.Series):
        dtypes = [obj.dtype]
    else:
        return None
    index = obj.index
    dtypes += list(index.dtypes) if isinstance(index, pd.MultiIndex) else [index.dtype]
    if not all(map(_plain_dtype, dtypes)):
        return None
    return obj.copy(deep=False)


def take(named: list[tuple[str, Any]], defer: bool = True) -> CellDatasets:
    """Fingerprint ``named`` (name, object) pairs as they are now; see the module docstring.

    With ``defer``, objects larger than ``INLINE_BYTES`` are hashed on a worker: that
    ``settle()`` waits for (not for the pandas objects `frozen_copy` copies); without it,
    everything is hashed before this returns.
    """
    if not named:
        return CellDatasets([], [])
    # lazy, as every capture: loaded by the first run
    from ..capture.fingerprint import estimated_bytes

    slots: Fingerprints = [None] * len(named)
    now: list[int] = []
    later: list[int] = []
    for index, (_, obj) in enumerate(named):
        (later if defer and estimated_bytes(obj) > INLINE_BYTES else now).append(index)
    for index, fp in zip(now, _fingerprint_all([named[i] for i in now]), strict=True):
        slots[index] = fp
    copies = {i: frozen_copy(named[i][1]) for i in later}
    jobs = []
    frozen = [i for i in later if copies[i] is not None]
    if frozen:  # nothing the next code does can change these copies: never waited for
        work = [(named[i][0], copies[i]) for i in frozen]
        jobs.append((_Job(pool().submit(_fingerprint_all, work)), frozen))
    live = [i for i in later if copies[i] is None]
    if live:  # the originals: settle() holds the next code back until they are hashed
        job = _Job(pool().submit(_fingerprint_all, [named[i] for i in live]))
        with _lock:
            _pending.add(job)
        jobs.append((job, live))
    return CellDatasets(slots, jobs)


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
