"""The one-line run summary shown under a tracked cell, as plain text and as HTML.

Plain text works in nbclient, VS Code and terminals; the HTML variant is the same facts
with a little colour. Every user-controlled string is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ..facts import VERDICT_TAG, Fact
from .formatting import (
    PARAM_MARK_HELP,
    fmt_bytes,
    fmt_duration,
    fmt_git,
    fmt_short,
    status_colour,
    status_mark,
)


def _parts(fields: Mapping[str, Any], max_metrics: int) -> list[str]:
    label = f"#{fields['number'] or '?'}"  # 0: not created in the store (yet)
    if fields.get("name"):
        label += f" {fields['name']}"
    parts = [f"xtrack {label}", str(fields.get("status")), fmt_duration(fields.get("duration_s"))]
    error = fields.get(Fact.ERROR)
    if error:
        parts[1] += f" ({error.get('type')})"
    metrics = dict(fields.get("metrics") or {})
    if metrics:
        shown = list(metrics.items())[-max_metrics:]
        parts.append(" ".join(f"{k}={fmt_short(v)}" for k, v in shown))
    git = fmt_git(fields.get(Fact.GIT))
    if git:
        parts.append(git)
    lost = fields.get(Fact.NOT_STORED)
    if lost:
        parts.append("⚠ " + not_stored_text(lost, reason=False))
    return parts


def not_stored_text(lost: Mapping[str, Any], *, reason: bool = True) -> str:
    """What the store is missing of a run (a `not_stored` fact), e.g. `287,001 metric points
    and 1 write not stored (the disk ... is full)`."""
    parts = []
    if lost.get("points"):
        parts.append(f"{lost['points']:,} metric point{'s' if lost['points'] != 1 else ''}")
    if lost.get("writes"):
        parts.append(f"{lost['writes']:,} write{'s' if lost['writes'] != 1 else ''}")
    text = " and ".join(parts or ["nothing"]) + " not stored"
    if reason and lost.get("reason"):
        text += f" ({lost['reason']})"
    return text


def summary_text(fields: Mapping[str, Any], max_metrics: int = 4) -> str:
    """`✓ xtrack #12 baseline · finished · 1.23 s · acc=0.93 loss=0.12 · git a1b2c3d* (main)`."""
    mark = status_mark(fields.get("status"))
    return f"{mark} " + " · ".join(_parts(fields, max_metrics))


def summary_html(fields: Mapping[str, Any], max_metrics: int = 4) -> str:
    status = str(fields.get("status"))
    colour = status_colour(status)
    mark = status_mark(status)
    body = " · ".join(html.escape(p) for p in _parts(fields, max_metrics))
    return (
        f'<div class="xtrack-summary" style="font-family:var(--jp-code-font-family,monospace);'
        f'font-size:12px;opacity:0.9"><span style="color:{colour}">{mark}</span> {body}</div>'
    )


class RunSummary:
    """Displayable summary: IPython shows `_repr_html_` where it can, the text elsewhere."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = dict(fields)

    def __repr__(self) -> str:
        return summary_text(self.fields)

    def _repr_html_(self) -> str:
        return summary_html(self.fields)


def _kv_lines(
    title: str, values: Mapping[str, Any], marks: Mapping[str, str] | None = None
) -> list[str]:
    """`title:` then one `key  value` line each; a key's marks (params: "↻ varies", ...)
    after its value, and what the marks used mean at the end."""
    if not values:
        return []
    marks = marks or {}
    width = max(len(k) for k in values)
    lines = [f"{title}:"] + [
        f"  {k.ljust(width)}  {fmt_short(v)}" + (f"  {marks[k]}" if k in marks else "")
        for k, v in values.items()
    ]
    used = " ".join(marks.values())
    lines += [f"  {mark}: {why}" for mark, why in PARAM_MARK_HELP.items() if mark in used]
    return lines


def _reproduction_lines(run: Any) -> list[str]:
    """The `reproduces` link, both ways: what this run reproduces, and its reproductions."""
    lines = []
    if run.reproduces:
        verdict = run.tags.get(VERDICT_TAG)
        lines.append(f"reproduces run {run.reproduces[:8]}" + (f" · {verdict}" if verdict else ""))
    found = run.reproductions()
    if found:
        lines.append("reproductions: " + ", ".join(
            f"#{r['number']} {r['verdict'] or r['status']}" for r in found))
    return lines


def detail_text(run: Any) -> str:
    """A readable multi-line description of one run (for `%xtrack show` and `xtrack show`)."""
    lines = [summary_text(run.summary_fields(), max_metrics=0)]
    started = run.started_at.isoformat(timespec="seconds") if run.started_at else "?"
    lines.append(f"id {run.id} · experiment {run.experiment} · started {started}")
    if run.not_stored:
        lines.append("incomplete: " + not_stored_text(run.not_stored))
    if run.notebook_path:
        cell = f" (cell {run.cell_id})" if run.cell_id else ""
        lines.append(f"notebook {run.notebook_path}{cell}")
    lines += _kv_lines("params", run.params, run.param_marks)
    lines += _kv_lines("metrics", run.metrics)
    lines += _kv_lines("tags", run.tags)
    lines += _reproduction_lines(run)
    git = run.fact(Fact.GIT) or {}
    if git:
        lines.append(fmt_git(git) + (f" · remote {git['remote']}" if git.get("remote") else ""))
    for title, files in (("inputs", run.inputs), ("outputs", run.outputs)):
        if files:
            lines.append(f"{title}:")
            for f in files:
                link = f" ← run {f['produced_by'][:8]}" if f.get("produced_by") else ""
                lines.append(f"  {f.get('path')}  {f.get('hash') or f.get('status')}{link}")
    if run.datasets:
        lines.append("datasets:")
        for d in run.datasets:
            lines.append(f"  {d.get('name')}  {d.get('kind')} {d.get('shape')}  {d.get('hash')}")
    if run.artifacts:
        lines.append("artifacts:")
        for a in run.artifacts:
            lines.append(f"  {a.get('name')}  {a.get('size')} bytes")
    res = run.resources
    if res:
        parts = [f"wall {fmt_duration(res.get('wall_s'))}", f"cpu {fmt_duration(res.get('cpu_s'))}"]
        if res.get("peak_rss_bytes"):
            parts.append(f"peak rss {fmt_bytes(res['peak_rss_bytes'])}")
        if res.get("peak_gpu_bytes"):
            parts.append(f"peak gpu {fmt_bytes(res['peak_gpu_bytes'])}")
        lines.append("resources: " + ", ".join(parts))
    if run.error:
        lines.append("error:")
        lines += ["  " + ln for ln in str(run.error.get("traceback", "")).rstrip().splitlines()]
    return "\n".join(lines)


class RunDetail:
    """Displayable full view of one run."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def __repr__(self) -> str:
        return detail_text(self.run)

    def _repr_html_(self) -> str:
        return f'<pre class="xtrack-run">{html.escape(detail_text(self.run))}</pre>'
