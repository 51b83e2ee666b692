"""The run table: `%xtrack runs [FILTER]` and `xt.runs(...).pipe(xt.show)`.

Sort by any column, filter in the filter language (the page sends the text, Python runs
`xt.runs(filter)`; a malformed filter shows the FilterError, caret and all, under the
box), tick runs, and compare them. The HTML and text fallbacks show the same rows.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..records.formatting import fmt_duration, fmt_number, fmt_value
from ..store import FilterError
from . import frontend
from .compare_view import comparison_payload
from .source import current as runs_source

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 500
MAX_COLUMNS = 30
TEXT_ROWS = 50
_LEAD = ("number", "name", "status", "experiment", "started_at", "duration_s")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell(column: str, value: Any) -> str:
    if _missing(value):
        return ""
    if column in ("started_at", "ended_at"):
        if hasattr(value, "strftime"):
            return str(value.strftime("%Y-%m-%d %H:%M"))
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    if column == "duration_s":
        return fmt_duration(float(value))
    if column == "number":
        return f"#{int(value)}"
    if column == "git.commit":
        return str(value)[:8]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer() and column.startswith("params."):
        return fmt_number(value)
    return fmt_value(value)


def shown_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the table shows: number, name, status, experiment, started, duration,
    then metrics.*, params.*, tags.*, git.* (at most 30; id stays hidden)."""
    cols = [c for c in _LEAD if c in frame.columns]
    for prefix in ("metrics.", "params.", "tags.", "git."):
        cols += [c for c in frame.columns if str(c).startswith(prefix)]
    # Columns that are empty in every row say nothing.
    cols = [c for c in cols if c in _LEAD or frame[c].notna().any()]
    return cols[:MAX_COLUMNS]


class RunTableView:
    """An interactive table of runs (see the module docstring). `frame` is the DataFrame
    shown (after filter and sort); `selected` the ids the user ticked."""

    def __init__(self, frame: pd.DataFrame, filter: str | None = None) -> None:
        self.frame = frame
        self.filter = filter or str(getattr(frame, "attrs", {}).get("xtrack_filter") or "")
        self.sort_column: str | None = None
        self.descending = False
        self.error = ""
        self.widget: Any = None
        self.comparison: Any = None

    @property
    def selected(self) -> list[str]:
        """Ids of the runs ticked in the table, in table order."""
        return list(self.widget.selected) if self.widget is not None else []

    # -- the model ----------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        """The table's model: display columns, formatted cells (at most 500 rows)."""
        frame = self.frame
        cols = shown_columns(frame)
        rows = []
        head = frame.head(MAX_ROWS)
        ids = list(head["id"]) if "id" in head.columns else [str(i) for i in range(len(head))]
        statuses = list(head["status"]) if "status" in head.columns else [""] * len(head)
        values = {c: list(head[c]) for c in cols}
        for i, run_id in enumerate(ids):
            rows.append({
                "id": str(run_id),
                "status": str(statuses[i] or ""),
                "cells": [_cell(c, values[c][i]) for c in cols],
            })
        numeric = [c in ("number", "duration_s") or c.startswith("metrics.") for c in cols]
        return {
            "columns": cols,
            "numeric": numeric,
            "rows": rows,
            "shown": len(rows),
            "total": len(frame),
            "sort": {"column": self.sort_column, "descending": self.descending},
        }

    def sort(self, column: str) -> None:
        """Sort by `column`; sorting by the same column again flips the direction. Missing
        values go last either way."""
        if column not in self.frame.columns:
            raise KeyError(f"no column {column!r} in this run table")
        if self.sort_column == column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = column, False
        self.frame = self.frame.sort_values(column, ascending=not self.descending,
                                            na_position="last", kind="stable")
        self._sync()

    def apply_filter(self, text: str) -> bool:
        """Show the runs matching `text` (filter language; empty: all runs). A malformed
        filter keeps the rows and sets `error` to the FilterError message; returns False."""
        text = (text or "").strip()
        try:
            frame = runs_source().runs(text or None)
        except FilterError as exc:
            self.error = str(exc)
            self._sync()
            return False
        self.frame, self.filter, self.error = frame, text, ""
        if self.sort_column and self.sort_column in frame.columns:
            self.frame = frame.sort_values(self.sort_column, ascending=not self.descending,
                                           na_position="last", kind="stable")
        self._sync()
        return True

    def compare(self, ids: list[str] | None = None) -> Any:
        """Compare the ticked runs (or `ids`): shows the compare view under the table and
        returns the Comparison; sets `error` when fewer than two runs are chosen."""
        chosen = list(ids if ids is not None else self.selected)
        if len(chosen) < 2:
            self.error = "select at least two runs to compare (tick their boxes)"
            self._sync()
            return None
        self.comparison = runs_source().compare(*chosen)
        self.error = ""
        if self.widget is not None:
            self.widget.compare = comparison_payload(self.comparison)
        self._sync()
        return self.comparison

    # -- display ------------------------------------------------------------------------
    def _sync(self) -> None:
        widget = self.widget
        if widget is None:
            return
        with widget.hold_sync():
            widget.table = self.payload()
            widget.filter = self.filter
            widget.error = self.error
            visible = {r["id"] for r in widget.table["rows"]}
            widget.selected = [i for i in widget.selected if i in visible]

    def _on_action(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "filter":
            self.apply_filter(str(message.get("text") or ""))
        elif kind == "sort":
            self.sort(str(message.get("column")))
        elif kind == "compare":
            self.compare()

    def text(self) -> str:
        """The first 50 rows as an aligned text table."""
        p = self.payload()
        cols = p["columns"]
        table = [cols] + [r["cells"] for r in p["rows"][:TEXT_ROWS]]
        widths = [min(30, max(len(row[i]) for row in table)) for i in range(len(cols))]
        lines = ["  ".join(c[:w].ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
                 for row in table]
        more = p["total"] - min(p["shown"], TEXT_ROWS)
        if more > 0:
            lines.append(f"… {more} more runs")
        if not p["rows"]:
            lines.append("(no runs)" + (f" matching {self.filter!r}" if self.filter else ""))
        return "\n".join(lines)

    def html(self) -> str:
        """The rows as an HTML table."""
        p = self.payload()
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in p["columns"])
        body = "".join(
            "<tr>" + "".join(
                f'<td style="text-align:{"right" if n else "left"}">{esc(v)}</td>'
                for v, n in zip(r["cells"], p["numeric"], strict=False)
            ) + "</tr>"
            for r in p["rows"]
        )
        note = f"<div>{p['shown']} of {p['total']} runs</div>" if p["total"] else "<div>no runs</div>"
        return f'<div class="xtrack-runs"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>'

    def bundle(self) -> dict[str, Any]:
        if self.widget is None and frontend.widgets_enabled():
            # lazy: anywidget loads only when a widget is shown
            from .models import TableModel

            self.widget = TableModel(table=self.payload(), filter=self.filter)
            self.widget.on_action(self._on_action)
        return frontend.widget_bundle(self.widget, self.html(), self.text())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return frontend.marked(self.bundle())

    def __repr__(self) -> str:
        return self.text()

