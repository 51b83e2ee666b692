"""Work that waits for a quiet kernel: a run's finalisation, the figures a cell left open.

In a Run All the next cell starts within milliseconds of the last one's reply. What the
tracker does on its threads meanwhile (serialising and storing a run's facts, drawing
figures) holds the GIL beside that cell's own Python, and on two cores the cell pays for
it. So this work waits until no cell runs (the kernel layer hands in
`views/activity.KERNEL.wait_quiet` through `set_quiet`: no code for 0.3 s, or a cell
running long enough that milliseconds no longer show), at most its `patience` in seconds,
or until something waits for the runs (`lifecycle.wait_pending`: `xt.flush()`, `xt.runs()`,
a card's refresh, the end of a script), whichever comes first. Outside a kernel nothing
runs cells behind the tracker's back: always quiet.

Warm-ups (`warm_up`: the git watch's build, the environment's prefetch) only save later
cells time, so they wait for a pause between cells (a long cell is not one: the first cell
of a notebook, its imports, often runs seconds), and nobody reading the runs waits for them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from . import lifecycle
from .workers import executor

__all__ = [
    "FIGURES_WAIT_S",
    "FINALIZE_WAIT_S",
    "WARM_UP_POOL",
    "WARM_UP_WAIT_S",
    "set_quiet",
    "submit",
    "wait_quiet",
    "warm_up",
]

# The longest a run's finalisation waits for a quiet kernel: a kernel that dies in this
# window, before any quiet moment, leaves the run's facts (code, lineage, environment, git)
# unstored; its params and metrics are written as the cell ends.
FINALIZE_WAIT_S = 5.0
FIGURES_WAIT_S = 10.0  # the longest a drawing waits (a long Run All): it costs far more
# The longest a warm-up waits for no cell to run (`warm_up`): work that only saves later
# cells some time (the git watch's build, the environment's prefetch) and that nobody loses
# if the kernel dies first.
WARM_UP_WAIT_S = 60.0
WARM_UP_POOL = "xtrack-warm-up"
_POLL_S = 0.1

def _always_quiet(timeout: float, long_cell_s: float | None = None) -> bool:
    return True


# `_quiet(timeout, long_cell_s)` waits up to `timeout` seconds for a quiet kernel (a cell
# that has run `long_cell_s` counts as quiet; None: the kernel's default); True once it is.
_quiet: Callable[[float, float | None], bool] = _always_quiet


def set_quiet(wait_quiet: Callable[[float, float | None], bool]) -> None:
    """Use `wait_quiet(timeout, long_cell_s) -> bool` to decide when deferred work may run."""
    global _quiet
    _quiet = wait_quiet


def wait_quiet(patience: float, between_cells: bool = False) -> None:
    """Return once the kernel is quiet, something waits for the runs, or after `patience`.
    With `between_cells`, a long cell does not count as quiet, nor does a reader of the runs
    hurry it: only a pause between cells (or the patience running out) ends the wait."""
    deadline = time.monotonic() + patience
    long_cell_s = math.inf if between_cells else None
    while time.monotonic() < deadline and (between_cells or not lifecycle.hurried()):
        if _quiet(_POLL_S, long_cell_s):
            return


def submit(pool: str, patience: float, fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run `fn(*args)` on the one thread of pool `pool` once `wait_quiet(patience)` returns,
    in the order submitted; `lifecycle.wait_pending` waits for it."""

    def when_quiet() -> Any:
        wait_quiet(patience)
        return fn(*args)

    fut = executor(pool, 1).submit(when_quiet)
    lifecycle.track_pending(fut)
    return fut


def warm_up(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run `fn(*args)` on the warm-ups' one thread in the first pause between cells (at most
    `WARM_UP_WAIT_S` from now), in the order submitted: work that only saves later cells
    time and that nobody reads the runs for, so `lifecycle.wait_pending` does not wait."""

    def between_cells() -> Any:
        wait_quiet(WARM_UP_WAIT_S, between_cells=True)
        return fn(*args)

    return executor(WARM_UP_POOL, 1).submit(between_cells)
