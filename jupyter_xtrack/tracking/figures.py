"""Drawing the figures a cell left open (no inline display), once the kernel is quiet.

The cell copied each open figure when it ended (`capture.outputs.snapshot_new_figures`), so
what is drawn is the figure as the cell left it, whenever the drawing happens. Drawing is
the expensive part: half a second of CPU for five 18x7-inch figures, during which the
drawing thread holds the GIL for tens of milliseconds at a time. Done at once, in a Run All
it runs beside the next cells and they pay for it; so it waits until no cell runs (the
kernel layer hands in `views/activity.KERNEL.wait_quiet` through `set_quiet`), at most
`QUIET_WAIT_S`, or until something waits for the run (`lifecycle.wait_pending`: `xt.flush()`,
the end of a script). The run is stored at once without them; the figures are added to it
as artifacts when drawn, named after the displayed ones (`figure-<n>.png`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .workers import executor

if TYPE_CHECKING:
    from .active_run import ActiveRun
    from .session import TrackerContext

QUIET_WAIT_S = 10.0  # the longest a drawing waits for a quiet kernel (a long Run All)
_POLL_S = 0.1

# Waits up to its argument in seconds for a quiet kernel; True once it is. Outside a kernel
# nothing runs cells behind the tracker's back: always quiet.
_quiet: Callable[[float], bool] = lambda timeout: True  # noqa: E731


def set_quiet(wait_quiet: Callable[[float], bool]) -> None:
    """Use `wait_quiet(timeout) -> bool` to decide when figures may be drawn."""
    global _quiet
    _quiet = wait_quiet


def draw_when_quiet(
    ctx: TrackerContext, run: ActiveRun, snapshots: Sequence[Any], first: int
) -> None:
    """Draw `snapshots` (capture.outputs.FigureSnapshot) on the figures thread once the kernel
    is quiet and add them to `run` as `figure-<first>.png`, ...; `wait_pending` waits for it."""
    if snapshots:
        pool = executor("xtrack-figures", 1)
        lifecycle.track_pending(pool.submit(_draw, ctx, run, list(snapshots), first))


def _wait_quiet() -> None:
    deadline = time.monotonic() + QUIET_WAIT_S
    while not lifecycle.hurried() and time.monotonic() < deadline:
        if _quiet(_POLL_S):
            return


def _draw(ctx: TrackerContext, run: ActiveRun, snapshots: list[Any], first: int) -> None:
    # lazy, as every capture: loaded by the first run
    from ..capture.outputs import snapshot_png

    _wait_quiet()
    figures: list[tuple[str, str, int]] = []
    try:
        for snap in snapshots:
            png = snapshot_png(snap)
            if png:
                name = f"figure-{first + len(figures)}.png"
                figures.append((name, run.store.put_blob(png), len(png)))
    except Exception as exc:  # noqa: BLE001 - the run is stored; say what it lacks
        ctx.warn_once(
            "capture:figures", f"run #{run.number}: figures not stored: {type(exc).__name__}: {exc}"
        )
    lifecycle.store_figures(ctx, run, figures)
