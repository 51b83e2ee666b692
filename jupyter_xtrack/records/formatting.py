"""Every rendering of a value as text, in one place: numbers, params and metrics, durations,
sizes, git state, hashes, a status's mark and colour.

Two renderings of a param or metric exist on purpose and keep their own rules: `fmt_short`
for the one-line summary, `xtrack ls` and `Comparison` text (4 significant digits, 40
characters), `fmt_value` for the views (thousands separators, 60 characters). The views'
JavaScript side (views/static/views.js `fmt`) follows `fmt_number`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..facts import Fact

__all__ = ["PARAM_MARK_HELP", "fmt_bytes", "fmt_duration", "fmt_git", "fmt_number", "fmt_short",
           "fmt_value", "param_mark_help", "param_marks", "short_hash", "status_colour",
           "status_mark"]

# How a status looks in the summary line and the run card. A status missing here (a new one
# in facts.Status) still renders, with the neutral mark and colour.
_STATUS_MARKS = {"finished": "✓", "failed": "✗", "crashed": "✗", "interrupted": "■",
                 "killed": "■", "running": "…"}
_STATUS_COLOURS = {"finished": "#2e7d32", "failed": "#c62828", "crashed": "#c62828",
                   "running": "#1565c0"}


def status_mark(status: object) -> str:
    return _STATUS_MARKS.get(str(status), "·")


def status_colour(status: object) -> str:
    return _STATUS_COLOURS.get(str(status), "#6d4c41")


def fmt_short(value: Any) -> str:
    """A short human rendering of a param or metric value for summaries and text tables."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fmt_duration(seconds: float | None) -> str:
    """Readable durations: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds is None:
        return "?"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_bytes(n: float) -> str:
    """1.5 KiB, 23 MiB, 1.2 GiB."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n} bytes"


def fmt_git(git: Mapping[str, Any] | None) -> str:
    """`git a1b2c3d* (main)`, `no git`, or "" when nothing is known."""
    if not git:
        return ""
    if git.get("repo") is False:
        return "no git"
    commit = (git.get("commit") or "")[:7] or "no commits"
    branch = git.get("branch") or "detached"
    dirty = "*" if git.get("dirty") else ""
    return f"git {commit}{dirty} ({branch})"


def fmt_number(value: float | int | None, digits: int = 4) -> str:
    """`value` with `digits` significant digits: 0.1235, 1,234, 1.235e-05, 3.2e+08.

    Integers (and integral floats below 1e15) keep every digit with thousands separators;
    None, NaN and infinities read as —, nan, inf, -inf.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e6:
        return f"{int(v):,}"
    mag = abs(v)
    if mag >= 1e6 or mag < 1e-3:
        return f"{v:.{max(digits - 1, 0)}e}".replace("e-0", "e-").replace("e+0", "e+")
    text = f"{v:.{digits}g}"
    if "e" in text:  # %g chose exponent form inside our fixed range: spell it out
        text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return text


def fmt_value(value: Any, digits: int = 4) -> str:
    """Any param or metric value as short text: numbers via `fmt_number`, the rest as str,
    cut at 60 characters."""
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_number(value, digits)
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def short_hash(value: str | None, length: int = 12) -> str:
    """The first `length` characters of a content hash, without an algorithm prefix."""
    if not value:
        return "—"
    text = str(value)
    if ":" in text:
        text = text.split(":", 1)[1]
    return text[:length]


# A value too long to keep is stored as "<{size} xxh3:{16 hex}> {preview}"
# (capture/params.py, `_digest_form`).
_DIGEST_VALUE = re.compile(r"<[^<>]* xxh3:[0-9a-f]{16}> ")

# What each mark on a param means (the views show it as a tooltip, the text views in a
# legend): a loop's values, a loop's last value, a repr, a digest.
PARAM_MARK_HELP = {
    "↻ values": "a loop in the cell gave it several values: all of them are stored",
    "↻ varies": "a loop in the cell changed it: the value it ended with is stored",
    "(repr)": "not a JSON value: stored as its repr (text), compared as text",
    "(digest)": "too long to keep: stored by its digest and a short preview",
}


def param_marks(record: Mapping[str, Any]) -> dict[str, str]:
    """Param key -> its marks ("↻ varies", "(repr)", ...; see PARAM_MARK_HELP), for the
    params a run's `params_varying` and `params_flagged` facts name, so that every view
    says which values are not plain settings."""
    varying = record.get(Fact.PARAMS_VARYING) or {}
    flagged = record.get(Fact.PARAMS_FLAGGED) or []
    params = record.get("params") or {}
    marks: dict[str, str] = {}
    for key in params:
        found = []
        if key in varying:
            found.append("↻ values" if varying[key] == "values" else "↻ varies")
        if key in flagged:
            value = params[key]
            digest = isinstance(value, str) and _DIGEST_VALUE.match(value) is not None
            found.append("(digest)" if digest else "(repr)")
        if found:
            marks[key] = " ".join(found)
    return marks


def param_mark_help(marks: str) -> str:
    """The explanation of a param's marks (as `param_marks` gives them), one per mark."""
    return "; ".join(help for mark, help in PARAM_MARK_HELP.items() if mark in marks)
