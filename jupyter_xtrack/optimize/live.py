"""The live view under a sweep's cell: trials so far, best so far, a chart of the objective
by trial, and which trials are running, pruned or failed.

Uses the widgets package's `SweepProgress` when it is installed; otherwise a self-updating
HTML display (an inline SVG chart), which works in any front end that renders HTML.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any, Protocol

_STATE_COLORS = {
    "complete": "#1f77b4",
    "pruned": "#b0b0b0",
    "failed": "#d62728",
    "interrupted": "#ff7f0e",
    "running": "#2ca02c",
}


class ProgressView(Protocol):
    @property
    def stop_requested(self) -> bool: ...

    def display(self) -> Any: ...

    def update(self, trials: list[dict[str, Any]]) -> None: ...

    def finish(self) -> None: ...


def make_view(title: str, metric: str | None, direction: str) -> ProgressView:
    """The best live view available in this process (a no-op outside a notebook front end);
    a view that fails is switched off, never failing the search."""
    try:
        # lazy: the widget models load anywidget
        from ..views.progress import SweepProgress

        view: ProgressView = SweepProgress(title, metric, direction)
    except Exception:  # noqa: BLE001 - the widgets are optional; fall back to HTML
        view = HtmlProgress(title, metric, direction)
    return GuardedView(view)


class GuardedView:
    """Forwards to a view; the first exception it raises switches the view off."""

    def __init__(self, inner: ProgressView) -> None:
        self.inner: ProgressView | None = inner

    @property
    def stop_requested(self) -> bool:
        try:
            return bool(self.inner is not None and self.inner.stop_requested)
        except Exception:  # noqa: BLE001
            return False

    def _call(self, name: str, *args: Any) -> None:
        if self.inner is None:
            return
        try:
            getattr(self.inner, name)(*args)
        except Exception:  # noqa: BLE001 - a view is a courtesy
            self.inner = None

    def display(self) -> None:
        self._call("display")

    def update(self, trials: list[dict[str, Any]]) -> None:
        self._call("update", trials)

    def finish(self) -> None:
        self._call("finish")


class HtmlProgress:
    """A display that re-renders itself (throttled to 4 per second) as trials end."""

    def __init__(self, title: str, metric: str | None, direction: str) -> None:
        self.title = title
        self.metric = metric or "objective"
        self.direction = direction
        self.stop_requested = False
        self._handle: Any = None
        self._last = 0.0
        self._trials: list[dict[str, Any]] = []

    def display(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is None:
                return
            self._handle = display(self, display_id=True)
        except Exception:  # noqa: BLE001 - a view is a courtesy
            self._handle = None

    def update(self, trials: list[dict[str, Any]]) -> None:
        self._trials = list(trials)
        now = time.monotonic()
        if self._handle is None or now - self._last < 0.25:
            return
        self._last = now
        self._refresh()

    def finish(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        if self._handle is None:
            return
        try:
            self._handle.update(self)
        except Exception:  # noqa: BLE001
            self._handle = None

    # -- rendering -------------------------------------------------------------------------
    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self._trials:
            counts[t["state"]] = counts.get(t["state"], 0) + 1
        return counts

    def _best(self) -> dict[str, Any] | None:
        done = [t for t in self._trials if t["state"] == "complete" and t.get("value") is not None]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        return pick(done, key=lambda t: t["value"])

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self._counts().items()) or "no trials yet"
        best = self._best()
        best_text = (
            f"best {self.metric}={best['value']:.4g} (trial {best['number']}, {best['params']})"
            if best
            else "no complete trial yet"
        )
        return f"{self.title}: {len(self._trials)} trials ({counts}); {best_text}"

    def _repr_html_(self) -> str:
        counts = self._counts()
        chips = " ".join(
            f'<span style="color:{_STATE_COLORS.get(s, "#333")}">{n} {html.escape(s)}</span>'
            for s, n in counts.items()
        )
        best = self._best()
        best_html = (
            f"best <b>{html.escape(self.metric)} = {best['value']:.4g}</b> at trial "
            f"{best['number']} <code>{html.escape(str(best['params']))}</code>"
            if best
            else "no complete trial yet"
        )
        return (
            f'<div class="xtrack-sweep"><b>{html.escape(self.title)}</b> &middot; '
            f"{len(self._trials)} trials: {chips or 'none yet'}<br>{best_html}<br>"
            f"{objective_chart(self._trials, self.direction)}</div>"
        )


def objective_chart(trials: Sequence[dict[str, Any]], direction: str, width: int = 420,
                    height: int = 120) -> str:
    """An inline SVG: each trial's value (coloured by state) and the best-so-far line."""
    points = [(t["number"], t["value"], t["state"]) for t in trials if t.get("value") is not None]
    if not points:
        return ""
    xs: list[float] = [p[0] for p in points]
    ys: list[float] = [p[1] for p in points]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = 6

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    dots = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{_STATE_COLORS.get(s, "#333")}"/>'
        for x, y, s in points
    )
    best: list[str] = []
    current: float | None = None
    for x, y, s in sorted(points):
        if s != "complete":
            continue
        if current is None or (y > current if direction == "maximize" else y < current):
            current = y
        best.append(f"{sx(x):.1f},{sy(current):.1f}")
    line = f'<polyline points="{" ".join(best)}" fill="none" stroke="#444" stroke-width="1"/>'
    return (
        f'<svg width="{width}" height="{height}" style="background:#fafafa">{line}{dots}'
        f'<text x="{pad}" y="12" font-size="10">{y1:.4g}</text>'
        f'<text x="{pad}" y="{height - 2}" font-size="10">{y0:.4g}</text></svg>'
    )
