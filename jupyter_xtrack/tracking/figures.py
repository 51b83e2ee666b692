"""Drawing the figures a cell left open (no inline display), once the kernel is quiet.

The cell copied each open figure when it ended (`capture.outputs.snapshot_new_figures`), so
what is drawn is the figure as the cell left it, whenever the drawing happens. Drawing is
the expensive part: half a second of CPU for five 18x7-inch figures, during which the
drawing thread holds the GIL for tens of milliseconds at a time. Done at once, in a Run All
it runs beside the next cells and they pay for it; so it waits for a quiet kernel
(`tracking/later.py`), at most `later.FIGURES_WAIT_S`. The run is stored without them; the
figures are added to it as artifacts when drawn, named after the displayed ones
(`figure-<n>.png`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import later, lifecycle

if TYPE_CHECKING:
    from .active_run import ActiveRun
    from .session import TrackerContext


def draw_when_quiet(
    ctx: TrackerContext, run: ActiveRun, snapshots: Sequence[Any], first: int
) -> None:
    """Draw `snapshots` (capture.outputs.FigureSnapshot) on the figures thread once the kernel
    is quiet and add them to `run` as `figure-<first>.png`, ...; `wait_pending` waits for it."""
    if snapshots:
        later.submit("xtrack-figures", later.FIGURES_WAIT_S, _draw, ctx, run, list(snapshots), first)


def _draw(ctx: TrackerContext, run: ActiveRun, snapshots: list[Any], first: int) -> None:
    # lazy, as every capture: loaded by the first run
    from ..capture.outputs import snapshot_png

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
