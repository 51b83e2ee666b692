"""The compare view: params and metrics side by side with differences highlighted, metric
histories overlaid, environment/git/data differences, and code diffs.

The widget renders `comparison_payload`; the HTML fallback is the Comparison's own table
plus an SVG of the overlaid histories; the text fallback is its text table.
"""

from __future__ import annotations

from typing import Any

from ..records.formatting import fmt_value
from . import frontend
from .series import MinMaxSeries
from .static_chart import Line, Panel, chart_svg

HISTORY_BUCKETS = 300
MAX_HISTORIES = 8
MAX_DIFF_CHARS = 20_000
_COLLAPSED = ("env", "git", "data")


def metric_histories(runs: list[Any], keys: list[str]) -> list[dict[str, Any]]:
    """For each metric (at most 8) that some run logged two or more times: one downsampled
    line per run ({label, index, xs, ys}), x being the step (or the point's index)."""
    out: list[dict[str, Any]] = []
    for key in keys:
        lines = []
        for index, run in enumerate(runs):
            try:
                hist = run.store.metric_history(run.id, key)
            except Exception:  # noqa: BLE001 - a run without this metric has no line
                continue
            values = hist.get("value") or []
            if len(values) < 2:
                continue
            series = MinMaxSeries(HISTORY_BUCKETS)
            series.extend(values, hist["step"], hist["time"])
            label = f"#{run.number}" + (f" {run.name}" if run.name else "")
            lines.append({"label": label, "index": index, "xs": series.xs("step"),
                          "ys": series.means()})
        if lines:
            out.append({"key": key, "runs": lines})
        if len(out) >= MAX_HISTORIES:
            break
    return out


def comparison_payload(comparison: Any) -> dict[str, Any]:
    """The compare view's model for a `Comparison` (JSON-able)."""
    sections = []
    for name, rows in comparison.sections():
        srows = [
            {"key": key, "values": [fmt_value(v) for v in values],
             "differs": comparison.differs(values)}
            for key, values in rows.items()
        ]
        sections.append({"name": name, "rows": srows, "collapse": name in _COLLAPSED})
    metric_keys = list(comparison.metrics)
    return {
        "labels": comparison.labels,
        "run_ids": [r.id for r in comparison.runs],
        "sections": sections,
        "histories": metric_histories(comparison.runs, metric_keys),
        "code_diffs": [
            {"label": label, "diff": diff[:MAX_DIFF_CHARS]}
            for label, diff in comparison.code_diffs.items()
        ],
    }


def histories_svg(payload: dict[str, Any]) -> str:
    """The overlaid histories as one SVG (for the HTML fallback); "" when there are none."""
    panels = [
        Panel(h["key"], [Line(r["label"], r["xs"], r["ys"]) for r in h["runs"]])
        for h in payload["histories"]
    ]
    return chart_svg(panels) if panels else ""


class CompareView:
    """A displayable comparison (what `xt.show(comparison)` returns)."""

    def __init__(self, comparison: Any) -> None:
        self.comparison = comparison
        self.payload = comparison_payload(comparison)
        self.widget: Any = None

    def bundle(self) -> dict[str, Any]:
        comp = self.comparison
        html_ = comp._repr_html_() + histories_svg(self.payload)
        text = repr(comp)
        if self.widget is None and frontend.widgets_enabled():
            # lazy: anywidget loads only when a widget is shown
            from .models import CompareModel

            self.widget = CompareModel(compare=self.payload)
        return frontend.widget_bundle(self.widget, html_, text)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return frontend.marked(self.bundle())

    def __repr__(self) -> str:
        return repr(self.comparison)


def comparison_bundle(comparison: Any) -> dict[str, Any]:
    """Display data of a Comparison: compare widget + HTML + text (HTML + text without
    widgets)."""
    return CompareView(comparison).bundle()
