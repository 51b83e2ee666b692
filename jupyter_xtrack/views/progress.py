"""Sweep and AutoML progress: a live trial table, a best-so-far chart and a Stop button.

    progress = SweepProgress("sweep lr x depth", metric="val_acc", direction="maximize")
    progress.display()
    for ...:
        progress.update(trials)          # [{number, state, value, params, duration_s}, ...]
        if progress.stop_requested: break
    progress.finish()                    # leaves a static chart and table in the output

With widgets the view updates live (at most 4 times a second) and the Stop button sets
`stop_requested`; in other kernels the HTML table is refreshed about once a second; in a
terminal nothing is printed until `finish()`, which prints the text table.
"""

from __future__ import annotations

import html
import math
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..records.formatting import fmt_duration, fmt_number, fmt_value
from . import frontend
from .static_chart import Line, Panel, image_bundle, img_tag

STATES = ("running", "complete", "pruned", "failed")
_MAX_PARAM_COLUMNS = 8
_MAX_ROWS = 200
_WIDGET_INTERVAL_S = 0.25
_HTML_INTERVAL_S = 1.0


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def progress_payload(
    title: str, metric: str | None, direction: str, trials: Sequence[dict[str, Any]],
    *, finished: bool = False, stopping: bool = False,
) -> dict[str, Any]:
    """The view's model: counts per state, the best trial, the best-so-far curve, and the
    trial rows (newest first, at most 200) with their params as columns."""
    maximize = direction != "minimize"
    ordered = sorted(trials, key=lambda t: (t.get("number") is None, t.get("number") or 0))
    counts = dict.fromkeys(STATES, 0)
    best: dict[str, Any] | None = None
    best_value: float | None = None
    values: list[list[float | str]] = []
    curve: list[list[float]] = []
    for t in ordered:
        state = str(t.get("state") or "running")
        counts[state] = counts.get(state, 0) + 1
        value = _finite(t.get("value"))
        number = t.get("number")
        if value is None or number is None:
            continue
        values.append([float(number), value, state])
        if state != "complete":
            continue
        if best_value is None or (value > best_value if maximize else value < best_value):
            best_value, best = value, t
        curve.append([float(number), best_value])
    param_keys: list[str] = []
    for t in ordered:
        for key in t.get("params") or {}:
            if key not in param_keys:
                param_keys.append(key)
    shown_params = param_keys[:_MAX_PARAM_COLUMNS]
    rows = []
    for t in reversed(ordered[-_MAX_ROWS:]):
        params = t.get("params") or {}
        rows.append({
            "number": t.get("number"),
            "state": str(t.get("state") or "running"),
            "value": _finite(t.get("value")),
            "value_text": fmt_value(t.get("value")),
            "params": [fmt_value(params.get(k)) if k in params else "" for k in shown_params],
            "duration": fmt_duration(t.get("duration_s")) if t.get("duration_s") is not None else "",
            "best": best is not None and t is best,
        })
    return {
        "title": title,
        "metric": metric or "value",
        "direction": "maximize" if maximize else "minimize",
        "counts": counts,
        "total": len(ordered),
        "best": None if best is None else {
            "number": best.get("number"),
            "value": best_value,
            "value_text": fmt_number(best_value),
            "params": {k: fmt_value(v) for k, v in (best.get("params") or {}).items()},
        },
        "values": values,
        "curve": curve,
        "param_keys": shown_params,
        "rows": rows,
        "finished": finished,
        "stopping": stopping,
    }


def progress_text(payload: dict[str, Any]) -> str:
    """A readable text table of the trials, for terminals and plain front ends."""
    counts = payload["counts"]
    head = (f"{payload['title']}: {payload['total']} trials · "
            + " · ".join(f"{n} {s}" for s, n in counts.items() if n))
    best = payload["best"]
    lines = [head]
    if best:
        params = " ".join(f"{k}={v}" for k, v in best["params"].items())
        lines.append(f"best {payload['metric']} = {best['value_text']} (trial {best['number']}) {params}".rstrip())
    cols = ["trial", "state", payload["metric"], *payload["param_keys"], "duration"]
    table = [cols] + [
        [str(r["number"]), r["state"] + (" *" if r["best"] else ""), r["value_text"] if r["value"] is not None else "—",
         *r["params"], r["duration"]]
        for r in payload["rows"]
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
              for row in table]
    return "\n".join(lines)


def progress_html(payload: dict[str, Any], chart: str = "") -> str:
    """The same as an HTML table (with an optional chart tag above it)."""
    esc = html.escape
    counts = " · ".join(f"{n} {s}" for s, n in payload["counts"].items() if n)
    best = payload["best"]
    best_html = ""
    if best:
        best_html = (f"<div>best <b>{esc(payload['metric'])} = {esc(best['value_text'])}</b> "
                     f"(trial {esc(str(best['number']))})</div>")
    head = "".join(f"<th>{esc(c)}</th>" for c in
                   ["trial", "state", payload["metric"], *payload["param_keys"], "duration"])
    body = "".join(
        f'<tr class="xt-{esc(r["state"])}{" xt-best" if r["best"] else ""}">'
        f"<td>{esc(str(r['number']))}</td><td>{esc(r['state'])}</td>"
        f"<td>{esc(r['value_text']) if r['value'] is not None else '—'}</td>"
        + "".join(f"<td>{esc(p)}</td>" for p in r["params"])
        + f"<td>{esc(r['duration'])}</td></tr>"
        for r in payload["rows"]
    )
    return (
        f'<div class="xtrack-progress"><div><b>{esc(payload["title"])}</b> · '
        f"{payload['total']} trials · {esc(counts)}</div>{best_html}{chart}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def progress_panels(payload: dict[str, Any]) -> list[Panel]:
    """The best-so-far chart: every trial's value as a point, the best as a step line."""
    values = payload["values"]
    if not values:
        return []
    curve = payload["curve"]
    lines = [Line("trials", [v[0] for v in values], [v[1] for v in values], markers=True)]
    if curve:
        lines.append(Line("best so far", [c[0] for c in curve], [c[1] for c in curve], step=True))
    return [Panel(f"{payload['metric']} ({payload['direction']})", lines, xlabel="trial")]


class SweepProgress:
    """The progress view of one sweep (see the module docstring)."""

    def __init__(self, title: str, metric: str | None = None, direction: str = "maximize") -> None:
        self.title = title
        self.metric = metric
        self.direction = direction
        self.display_id = f"xtrack-progress-{uuid.uuid4().hex}"
        self.trials: list[dict[str, Any]] = []
        self.finished = False
        self._stop = False
        self._widget: Any = None
        self._shown = False
        self._last_push = 0.0
        self._lock = threading.Lock()

    @property
    def stop_requested(self) -> bool:
        """True once the user pressed Stop (or `request_stop()` was called)."""
        widget = self._widget
        return self._stop or bool(widget is not None and widget.stop_requested)

    def request_stop(self) -> None:
        """Ask the sweep to stop after the trials that are running (what Stop does)."""
        self._stop = True
        self._push(force=True)

    def payload(self) -> dict[str, Any]:
        return progress_payload(self.title, self.metric, self.direction, self.trials,
                                finished=self.finished, stopping=self.stop_requested)

    def display(self) -> SweepProgress:
        """Show the view under the running cell; returns self."""
        try:
            payload = self.payload()
            if frontend.widgets_enabled():
                # lazy: anywidget loads only when a widget is shown
                from .models import ProgressModel

                self._widget = ProgressModel(progress=payload)
                self._widget.on_action(self._on_action)
                bundle = frontend.widget_bundle(self._widget, progress_html(payload), progress_text(payload))
                frontend.display_bundle(bundle, self.display_id)
                self._shown = True
            elif frontend.in_kernel():
                frontend.display_bundle(self._static_bundle(payload, chart=False), self.display_id)
                self._shown = True
        except Exception:  # noqa: BLE001 - progress display must never stop a sweep
            self._widget = None
        self._last_push = time.monotonic()
        return self

    def update(self, trials: Sequence[dict[str, Any]]) -> None:
        """Show these trials (the full list so far). Cheap to call often: the view is
        refreshed at most 4 times a second (once a second without widgets)."""
        self.trials = [dict(t) for t in trials]
        self._push()

    def finish(self) -> None:
        """Replace the live view with a static chart and table that read without a kernel
        (in a terminal: print the text table)."""
        self.finished = True
        payload = self.payload()
        try:
            if self._shown:
                frontend.update_bundle(self._static_bundle(payload, chart=True), self.display_id)
            else:
                print(progress_text(payload))
        except Exception:  # noqa: BLE001
            pass
        widget, self._widget = self._widget, None
        if widget is not None:
            self._stop = self._stop or bool(widget.stop_requested)
            try:
                widget.close()
            except Exception:  # noqa: BLE001
                pass

    # -- internals ------------------------------------------------------------------
    def _on_action(self, message: dict[str, Any]) -> None:
        if message.get("type") == "stop":
            self.request_stop()

    def _push(self, force: bool = False) -> None:
        if not self._shown or self.finished:
            return
        now = time.monotonic()
        interval = _WIDGET_INTERVAL_S if self._widget is not None else _HTML_INTERVAL_S
        if not force and now - self._last_push < interval:
            return
        with self._lock:
            self._last_push = now
            payload = self.payload()
            try:
                if self._widget is not None:
                    self._widget.progress = payload
                else:
                    frontend.update_bundle(self._static_bundle(payload, chart=False), self.display_id)
            except Exception:  # noqa: BLE001
                pass

    def _static_bundle(self, payload: dict[str, Any], *, chart: bool) -> dict[str, Any]:
        panels = progress_panels(payload) if chart else []
        tag = img_tag(panels, alt=f"best {payload['metric']} so far", ncols=1, panel_w=5.0, panel_h=2.4)
        bundle: dict[str, Any] = {
            "text/html": progress_html(payload, tag),
            "text/plain": progress_text(payload),
        }
        if chart and panels:
            image = image_bundle(panels, progress_text(payload), ncols=1, panel_w=5.0, panel_h=2.4)
            bundle.update({k: v for k, v in image.items() if k != "text/plain"})
        return bundle
