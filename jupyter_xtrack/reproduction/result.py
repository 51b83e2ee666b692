"""A reproduction's outcome: the verdict and everything behind it, as text, HTML and JSON."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .compare import DIFFERS, WITHIN, Row
from .datacheck import InputCheck
from .environment import VersionDiff

REPRODUCED = "reproduced"
WITHIN_TOLERANCE = "reproduced within tolerance"
DIFFERENT = "differs"
COULD_NOT_RUN = "could not run"
VERDICTS = (REPRODUCED, WITHIN_TOLERANCE, DIFFERENT, COULD_NOT_RUN)


@dataclass
class Reproduction:
    """The verdict on re-running a run, with the comparison behind it.

    `verdict` is one of VERDICTS; `reason` says why for "could not run"; `first_cell` and
    `first_metric` say where a run that "differs" first diverged (cell 1 is the program's
    first cell). `rows` hold every compared value, `inputs` the data check, `packages` the
    distributions whose version differs from the run's, `notes` how it was rebuilt."""

    original_id: str
    original_number: int
    verdict: str = COULD_NOT_RUN
    reason: str | None = None
    run_id: str | None = None  # the reproduction's own run (reproducing the original's cell)
    run_number: int | None = None
    env: str = "current"
    first_cell: int | None = None
    first_metric: str | None = None
    cells: int = 0
    cells_run: int = 0
    rows: list[Row] = field(default_factory=list)
    inputs: list[InputCheck] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    packages: list[VersionDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data_drift_allowed: bool = False
    duration_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.verdict in (REPRODUCED, WITHIN_TOLERANCE)

    def decide(self) -> None:
        """Set the verdict from the rows (unless it could not run): the first row that
        differs gives the first diverging cell and, among that cell's rows, metric."""
        if self.reason is not None:
            self.verdict = COULD_NOT_RUN
            return
        differing = [r for r in self.rows if r.state == DIFFERS]
        if differing:
            self.verdict = DIFFERENT
            self.first_cell = min(r.cell for r in differing)
            metrics = [r for r in differing if r.cell == self.first_cell and r.what == "metric"]
            metrics = metrics or [r for r in differing if r.what == "metric"]
            self.first_metric = metrics[0].name if metrics else None
        elif any(r.state == WITHIN for r in self.rows):
            self.verdict = WITHIN_TOLERANCE
        else:
            self.verdict = REPRODUCED

    def headline(self) -> str:
        head = f"run #{self.original_number}: {self.verdict}"
        if self.run_number is not None:
            head += f" (reproduction #{self.run_number}, env {self.env})"
        if self.verdict == DIFFERENT:
            where = [f"cell {self.first_cell}"] if self.first_cell else []
            where += [f"metric {self.first_metric}"] if self.first_metric else []
            head += ": first diverges at " + ", ".join(where) if where else ""
        if self.reason:
            head += f": {self.reason}"
        if self.data_drift_allowed and any(c.drifted for c in self.inputs):
            head += " [data drift allowed]"
        return head

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out

    def __repr__(self) -> str:
        return self.text()

    def text(self) -> str:
        lines = [self.headline(), *(f"  {n}" for n in self.notes)]
        if self.untracked:
            lines.append(
                "untracked dependencies (read by the lineage, never seen by the store): "
                + ", ".join(self.untracked)
            )
        drift = [c for c in self.inputs if c.drifted]
        if drift:
            lines.append("inputs that differ from the run's:")
            lines += [f"  {c.state:8} {c.path}" for c in drift]
        if self.packages:
            lines.append("package versions that differ from the run's (run -> now):")
            lines += [
                f"  {p.name} {p.recorded or '-'} -> {p.now or '-'}"
                + (" (imported)" if p.imported else "")
                for p in self.packages[:30]
            ]
            if len(self.packages) > 30:
                lines.append(f"  ... {len(self.packages) - 30} more")
        shown = [r for r in self.rows if r.state != "same"] or self.rows[:12]
        if shown:
            lines.append(_table(shown))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {
            "reproduced": "#2e7d32",
            "reproduced within tolerance": "#558b2f",
            "differs": "#c62828",
        }.get(self.verdict, "#6d4c41")
        parts = [
            f'<div class="xtrack-reproduction"><b style="color:{colour}">'
            f"{html.escape(self.headline())}</b>"
        ]
        if self.notes or self.untracked:
            items = [*self.notes]
            if self.untracked:
                items.append("untracked dependencies: " + ", ".join(self.untracked))
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in items) + "</ul>")
        if self.packages:
            parts.append(
                "<details><summary>"
                f"{len(self.packages)} package version(s) differ"
                "</summary><ul>"
                + "".join(
                    f"<li>{html.escape(p.name)} {html.escape(p.recorded or '-')} → "
                    f"{html.escape(p.now or '-')}</li>"
                    for p in self.packages
                )
                + "</ul></details>"
            )
        if self.rows:
            head = "".join(
                f"<th>{h}</th>" for h in ("cell", "what", "name", "original", "reproduced", "state")
            )
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in _cells(r)) + "</tr>"
                for r in self.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return "".join(parts) + "</div>"


def _cells(row: Row) -> list[Any]:
    return [row.cell, row.what, row.name, _short(row.original), _short(row.reproduced), row.state]


def _short(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _table(rows: Sequence[Row]) -> str:
    cells = [
        ["cell", "what", "name", "original", "reproduced", "state"],
        *([str(c) for c in _cells(r)] for r in rows),
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(6)]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
