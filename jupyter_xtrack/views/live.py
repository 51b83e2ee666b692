"""The live metrics chart under a tracked cell that calls `xt.log`.

It reads the points the background writer drains (a writer listener), never the `xt.log`
hot path: each drained chunk is folded into bounded min/max series (`series.py`), and the
widget gets a new frame at most every `FRAME_S` seconds, however fast the cell logs. When
the cell ends the widget is replaced by a PNG of its last frame, so the saved notebook
shows the curves without a kernel and without widget state.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from typing import Any

from ..capture.system_metrics import is_system_metric
from ..records.formatting import fmt_number
from ..tracking.session import CONTEXT
from . import frontend
from .series import MinMaxSeries, SeriesSet
from .static_chart import Line, Panel, image_bundle

FRAME_S = 0.25  # at most 4 frames a second
FINAL_FLUSH_S = 10.0
# Runs whose listener saw at least this many points freeze off the cell's critical path.
BACKGROUND_FREEZE_POINTS = 50_000
MAX_PANELS = 12


def run_label(run: Any) -> str:
    """`#12 baseline` (or `#12`)."""
    name = getattr(run, "name", None)
    return f"#{getattr(run, 'number', '?')}" + (f" {name}" if name else "")


def series_panels(series: SeriesSet, axis: str = "step") -> list[Panel]:
    """One panel per metric with two or more points: mean line and min..max band."""
    panels: list[Panel] = []
    for key, s in series.series.items():
        if s.count < 2:
            continue
        xs = s.xs(axis)
        if axis == "time" and xs:
            t0 = xs[0]
            xs = [x - t0 for x in xs]
        lo = s.lo if s.width > 1 else None
        hi = s.hi if s.width > 1 else None
        panels.append(Panel(f"{key} = {fmt_number(s.last_value)}", [Line(key, xs, s.means(), lo, hi)],
                            xlabel="step" if s.has_step else "point"))
        if len(panels) >= MAX_PANELS:
            break
    return panels


def series_text(label: str, series: SeriesSet) -> str:
    """`run #12: loss 0.1234 (1,000 points) · acc 0.9 (1,000 points)`."""
    parts = [f"{k} {fmt_number(s.last_value)} ({fmt_number(s.count)} points)"
             for k, s in series.series.items()]
    return f"run {label}: " + (" · ".join(parts) if parts else "no metrics logged")


class LiveChart:
    """The live chart of one run (see the module docstring)."""

    def __init__(self, run: Any, *, frame_s: float = FRAME_S) -> None:
        self.run = run
        self.run_id = str(run.id)
        self.label = run_label(run)
        self.frame_s = frame_s
        self._writer: Any = None
        # the chart shows what the cell logs; system/* histories are in the card and sidebar
        self.series = SeriesSet(self.run_id, known_keys=self._stored_keys, skip_key=is_system_metric)
        self.display_id = f"xtrack-live-{uuid.uuid4().hex}"
        self.widget: Any = None
        self.frames = 0  # frames pushed to the page (tests and benchmarks read it)
        self.busy_s = 0.0  # time spent in the writer listener (what the chart costs)
        self._lock = threading.Lock()
        self._dirty = False
        self._last_push = 0.0
        self._timer: threading.Timer | None = None
        self._t0 = float(run.record.get("started_at") or time.time())
        self._done = False
        self.frozen: dict[str, Any] | None = None  # the bundle that replaced the widget

    # -- start ---------------------------------------------------------------------
    def start(self) -> bool:
        """Show the chart and listen to the writer; False (nothing shown) without widgets."""
        if not frontend.widgets_enabled():
            return False
        # lazy: anywidget loads only when a widget is shown
        from .models import LiveChartModel

        writer = CONTEXT.writer()
        add = getattr(writer, "add_listener", None)
        self.widget = LiveChartModel(meta=self._meta(), data=b"")
        frontend.display_bundle(
            frontend.widget_bundle(
                self.widget,
                f"<div class='xtrack-live'>live metrics of run {self.label} (needs a running kernel)</div>",
                f"live metrics of run {self.label}",
            ),
            self.display_id,
        )
        if add is not None:
            add(self.on_points)
            self._writer = writer
        return True

    # -- the writer thread -------------------------------------------------------------
    def on_points(self, points: list[tuple[str, str, float, int | None, float]]) -> None:
        """Writer listener: fold this run's points in; push a frame when one is due."""
        if self._done:
            return
        started = time.perf_counter()
        try:
            with self._lock:
                if not self.series.ingest(points):
                    return
                self._dirty = True
            self._maybe_push()
        except Exception:  # noqa: BLE001 - never disturb the writer
            pass
        finally:
            self.busy_s += time.perf_counter() - started

    def _maybe_push(self) -> None:
        now = time.monotonic()
        wait = self.frame_s - (now - self._last_push)
        if wait <= 0:
            self.push()
        elif self._timer is None:
            # Points may stop coming for a while: make sure the last ones are drawn.
            timer = threading.Timer(wait, self._trailing)
            timer.daemon = True
            self._timer = timer
            timer.start()

    def _trailing(self) -> None:
        self._timer = None
        if self._dirty and not self._done:
            self.push()

    def push(self) -> None:
        """Send the current frame to the page."""
        widget = self.widget
        if widget is None:
            return
        with self._lock:
            meta, data = self._meta(), self._packed()
            self._dirty = False
            self._last_push = time.monotonic()
        try:
            with widget.hold_sync():
                widget.meta = meta
                widget.data = data
            self.frames += 1
        except Exception:  # noqa: BLE001 - a closed comm: the cell goes on
            pass

    def _layout(self) -> list[list[Any]]:
        layout, off = [], 0
        for key, s in self.series.series.items():
            n = len(s.ns)
            layout.append([key, off, n])
            off += 5 * n
        return layout

    def _stored_live(self) -> dict[str, float]:
        """The run's own last values (exact and current even where a chunk was sampled),
        under the names the store keeps: a metric named after a secret is shown redacted,
        as everywhere else, and one not yet drained waits for the next frame."""
        last = getattr(self.run, "_last", None)
        stored_name = getattr(self._writer, "stored_name", None)
        if not last or stored_name is None:
            return {}
        out = {}
        try:
            items = list(last.items())
        except RuntimeError:  # the cell logged a new key while we read: next frame
            return {}
        for key, value in items:
            name = stored_name(key)
            if name is not None:
                out[name] = value
        return out

    def _stored_keys(self) -> list[str]:
        return list(self._stored_live())

    def _meta(self, status: str = "running") -> dict[str, Any]:
        live = self._stored_live() if status == "running" else {}
        values = live or self.series.latest()
        latest = {k: (v if math.isfinite(v) else None) for k, v in values.items()}
        return {
            "run": self.label,
            "run_id": self.run_id,
            "status": status,
            "points": self.series.points,
            "keys": list(self.series.series),
            "latest": latest,
            "layout": self._layout(),
            "t0": self._t0,
        }

    def _packed(self) -> bytes:
        return b"".join(s.packed() for s in self.series.series.values())

    # -- end ---------------------------------------------------------------------------
    def finish(self) -> threading.Thread:
        """Stop listening and replace the widget with a static image of every point (or
        with nothing when no metric got two points). The last points must reach the
        listener first, which waits on the writer: for a run that logged little that is
        quick and done before returning (so headless runs save the image too); for a big
        one it happens on a background thread, so the cell returns at once."""
        thread = threading.Thread(target=self._freeze, name="xtrack-live-freeze", daemon=True)
        thread.start()
        if self.series.points < BACKGROUND_FREEZE_POINTS:
            thread.join(FINAL_FLUSH_S)
        return thread

    def _freeze(self) -> None:
        try:
            # Every point logged so far goes through the listener (and into the store).
            CONTEXT.flush(FINAL_FLUSH_S)
            writer = self._writer
            if writer is not None:
                writer.remove_listener(self.on_points)
            self._done = True
            timer = self._timer
            if timer is not None:
                timer.cancel()
            # The last frame is drawn from the store's full histories: exact extremes even
            # where the live view sampled a fast loop.
            self._load_from_store()
            panels = series_panels(self.series)
            text = series_text(self.label, self.series)
            self.frozen = image_bundle(panels, text) if panels else {"text/plain": ""}
            widget, self.widget = self.widget, None
            if widget is not None:
                frontend.update_bundle(self.frozen, self.display_id)
                widget.close()
        except Exception:  # noqa: BLE001 - the live widget stays; the run is recorded anyway
            pass

    def _load_from_store(self) -> None:
        """Replace the live series with the run's full histories from the store (kept as
        they are when the store cannot be read)."""
        try:
            store = self.run.store
            exact = SeriesSet(self.run_id)
            for key in store.metric_keys(self.run_id):
                hist = store.metric_history(self.run_id, key)
                if hist.get("value"):
                    series = exact.series.setdefault(key, MinMaxSeries(exact.capacity))
                    series.extend(hist["value"], hist["step"], hist["time"])
                    exact.points += len(hist["value"])
        except Exception:  # noqa: BLE001 - the live series are a fine last frame too
            return
        if exact.series:
            # Keep the order the metrics were first logged in.
            order = [k for k in self.series.series if k in exact.series]
            order += [k for k in exact.series if k not in order]
            exact.series = {k: exact.series[k] for k in order}
            self.series = exact
