"""`Evaluation`: what `xt.evaluate` returns; the report (the `evaluation` fact) with the run
it was recorded on, shown as HTML in a notebook and as text elsewhere."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..facts import EvaluationFact

_TOP_FEATURES = 5


@dataclass
class Evaluation:
    report: EvaluationFact
    run_id: str | None
    run_number: int | None

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.report.get("metrics", {}))

    @property
    def flagged(self) -> list[tuple[str, str, list[str]]]:
        """(column, value, metrics worse than on the whole) of every flagged slice."""
        return [
            (s["column"], s["value"], s["worse"])
            for s in self.report.get("slices", [])
            if s["worse"]
        ]

    def _title(self) -> str:
        r = self.report
        where = f" (run #{self.run_number})" if self.run_number is not None else ""
        pos = f", positive class {r['pos_label']!r}" if r.get("pos_label") is not None else ""
        return f"{r.get('model', '?')} on {r.get('data', 'X')}: {r.get('n', 0)} rows{pos}{where}"

    def _lines(self) -> list[str]:
        r = self.report
        lines = [f"{k}: {v:.4g}" for k, v in self.metrics.items()]
        for column, value, worse in self.flagged:
            lines.append(f"slice {column}={value} worse on {', '.join(worse)}")
        top = r.get("importance", [])[:_TOP_FEATURES]
        if top:
            lines.append("importance: " + ", ".join(f"{f['feature']} {f['mean']:.3g}" for f in top))
        lines += r.get("notes", [])
        return lines

    def __repr__(self) -> str:
        return "\n".join([self._title(), *("  " + line for line in self._lines())])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>" for k, v in self.metrics.items()
        )
        flagged = "".join(
            f"<li>{html.escape(c)} = {html.escape(v)}: worse on {html.escape(', '.join(w))}</li>"
            for c, v, w in self.flagged
        )
        extra = f"<p>Flagged slices:</p><ul>{flagged}</ul>" if flagged else ""
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.report.get("notes", []))
        return (
            f"<div><b>{html.escape(self._title())}</b><table>{rows}</table>{extra}"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))
