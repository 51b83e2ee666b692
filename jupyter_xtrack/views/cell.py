"""What a tracked cell shows: the live chart while it runs, then the chart's last frame as
an image and the run card. Called by the `%%track` hooks through `on_run_start` and
`on_run_end`; every step is guarded, so a view problem never fails the cell."""

from __future__ import annotations

from typing import Any

from . import frontend
from .card import RunCard
from .live import LiveChart

LAST: CellViews | None = None  # the views of the last tracked cell (benchmarks read it)


class CellViews:
    """The views of one tracked cell."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.live: Any = None
        self.card: Any = None

    @classmethod
    def start(cls, run: Any, *, calls_log: bool) -> CellViews:
        """Show the live chart when the cell calls `xt.log` and widgets work here."""
        views = cls(run)
        if calls_log and run is not None:
            try:
                live = LiveChart(run)
                if live.start():
                    views.live = live
            except Exception:  # noqa: BLE001 - the cell runs without a chart
                views.live = None
        return views

    def end(self, run: Any) -> bool:
        """Freeze the chart and show the card; True when the card was shown. Outside a
        kernel (terminals) nothing is shown and the caller prints its one-line summary."""
        global LAST
        LAST = self
        if self.live is not None:
            try:
                self.live.finish()
            except Exception:  # noqa: BLE001
                pass
        if run is None or not frontend.in_kernel():
            return False
        try:
            self.card = RunCard(run, pending=True)
            self.card.display()
            self.card.refresh_when_stored()
            return True
        except Exception:  # noqa: BLE001 - the caller falls back to the summary line
            return False
