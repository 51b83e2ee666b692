"""Comparing a reproduction with the original, row by row: metrics (exact, or within a
tolerance, relative and absolute, per metric if given), metric histories point by point,
params, datasets' fingerprints, and each cell's text output in the style of nbval (memory
addresses, timings, dates and run numbers normalised first). Images are compared by hash and
reported, never failed: a renderer's version changes their bytes, not the result."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..facts import SYSTEM_METRIC_PREFIX
from ..records.run import Run

SAME, WITHIN, DIFFERS, REPORTED = "same", "within tolerance", "differs", "reported"

_NORMALISE = (
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x<address>"),
    (
        re.compile(
            r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        ),
        "<date>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<time>"),
    (re.compile(r"\d+(?:\.\d+)?\s?(?:it/s|s/it)"), "<rate>"),
    (
        re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds|min|mins|minutes)\b"),
        "<duration>",
    ),
    (re.compile(r"xtrack #\d+"), "xtrack #<n>"),
)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Tolerance:
    """|a - b| <= max(rel * max(|a|, |b|), abs), as math.isclose."""

    rel: float = 0.0
    abs: float = 0.0

    def allows(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:g}" for k, v in (("rel", self.rel), ("abs", self.abs)) if v)


Tolerances = dict[str | None, Tolerance]  # by metric name; None: every other metric


def parse_tolerance(spec: Any) -> Tolerances:
    """Tolerances from a number (relative and absolute), a string `[METRIC=][rel:|abs:]X`
    (several joined by commas), a list of those, or a {metric: number or string} mapping."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {None if k is None else str(k): _one(v) for k, v in spec.items()}
    items = [spec] if isinstance(spec, (int, float, str)) else list(spec)
    out: Tolerances = {}
    for item in items:
        if isinstance(item, (int, float)):
            out[None] = _one(item)
            continue
        for part in _split(str(item)):
            name, _, value = part.rpartition("=")
            key = name.strip() or None
            out[key] = _merge(out.get(key), _one(value))
    return out


def _split(text: str) -> list[str]:
    """ "loss=rel:1e-3,abs:1e-9,acc=0" -> ["loss=rel:1e-3", "loss=abs:1e-9", "acc=0"]."""
    parts: list[str] = []
    for piece in (p.strip() for p in text.split(",") if p.strip()):
        if "=" not in piece and parts and "=" in parts[-1]:
            piece = parts[-1].split("=", 1)[0] + "=" + piece
        parts.append(piece)
    return parts


def _one(value: Any) -> Tolerance:
    if isinstance(value, (int, float)):
        return _checked(Tolerance(float(value), float(value)))
    text = str(value).strip()
    kind, _, number = text.partition(":") if ":" in text else ("", "", text)
    try:
        x = float(number)
    except ValueError:
        raise ValueError(f"tolerance {text!r}: expected a number, rel:X or abs:X") from None
    if kind not in ("", "rel", "abs"):
        raise ValueError(f"tolerance {text!r}: the kind is rel or abs, not {kind!r}")
    return _checked(Tolerance(x if kind != "abs" else 0.0, x if kind != "rel" else 0.0))


def _checked(tol: Tolerance) -> Tolerance:
    if not (tol.rel >= 0 and tol.abs >= 0 and math.isfinite(tol.rel + tol.abs)):
        raise ValueError(f"a tolerance is a finite number >= 0, not {tol}")
    return tol


def _merge(old: Tolerance | None, new: Tolerance) -> Tolerance:
    if old is None:
        return new
    return Tolerance(max(old.rel, new.rel), max(old.abs, new.abs))


def tolerance_for(tolerances: Tolerances, name: str | None) -> Tolerance:
    return tolerances.get(name) or tolerances.get(None) or Tolerance()


@dataclass(frozen=True)
class Row:
    """One compared value. `cell` is the 1-based position of the cell in the program."""

    what: str  # metric, history, param, dataset, output, image, run
    name: str
    cell: int
    original: Any
    reproduced: Any
    state: str


def number_state(a: Any, b: Any, tol: Tolerance) -> str:
    if a == b or (_isnan(a) and _isnan(b)):
        return SAME
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and tol.allows(a, b):
        return WITHIN
    return DIFFERS


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


# Metrics that measure the machine, not the program: never a reason for `differs`.
MEASURED_METRICS = frozenset({"elapsed_s", "fit_time_s", "predict_time_s", "job_progress"})


def compared_metric(name: str) -> bool:
    """Whether a reproduction compares metric `name`: not the sampled `system/*` metrics
    (CPU, memory, GPU) nor the searches' wall-clock bookkeeping."""
    return not name.startswith(SYSTEM_METRIC_PREFIX) and name not in MEASURED_METRICS


def compare_runs(
    original: Run, reproduced: Run | None, cell: int, tolerances: Tolerances
) -> list[Row]:
    """Metrics, histories, params, datasets, stdout and images of one cell's two runs."""
    if reproduced is None:
        return [
            Row(
                "run",
                original.name or f"#{original.number}",
                cell,
                f"#{original.number}",
                None,
                DIFFERS,
            )
        ]
    rows: list[Row] = []
    a = {k: v for k, v in original.metrics.items() if compared_metric(k)}
    b = {k: v for k, v in reproduced.metrics.items() if compared_metric(k)}
    for key in sorted(set(a) | set(b)):
        tol = tolerance_for(tolerances, key)
        state = number_state(a.get(key), b.get(key), tol)
        rows.append(Row("metric", key, cell, a.get(key), b.get(key), state))
        if key in a and key in b:
            rows += _history_rows(original, reproduced, key, cell, tol)
    pa, pb = original.params, reproduced.params
    rows += [
        Row("param", k, cell, pa.get(k), pb.get(k), SAME if pa.get(k) == pb.get(k) else DIFFERS)
        for k in sorted(set(pa) | set(pb))
    ]
    da = {d.get("name"): d.get("hash") for d in original.datasets}
    db = {d.get("name"): d.get("hash") for d in reproduced.datasets}
    rows += [
        Row(
            "dataset",
            str(k),
            cell,
            da.get(k),
            db.get(k),
            SAME if da.get(k) == db.get(k) else DIFFERS,
        )
        for k in sorted(set(da) | set(db), key=str)
    ]
    rows.append(output_row(cell, original.stdout or "", reproduced.stdout or "", tolerances))
    rows += image_rows(cell, _images(original), _images(reproduced))
    return rows


def _history_rows(a: Run, b: Run, key: str, cell: int, tol: Tolerance) -> list[Row]:
    """One row for a history of several points: the first point that differs, or the
    worst state over all of them."""
    ha, hb = a.store.metric_history(a.id, key), b.store.metric_history(b.id, key)
    if len(ha["value"]) < 2 and len(hb["value"]) < 2:
        return []
    label = f"{len(ha['value'])} points"
    if ha["step"] != hb["step"]:
        return [
            Row("history", key, cell, label, f"{len(hb['value'])} points (other steps)", DIFFERS)
        ]
    worst = SAME
    for step, x, y in zip(ha["step"], ha["value"], hb["value"], strict=True):
        state = number_state(x, y, tol)
        if state == DIFFERS:
            return [Row("history", key, cell, f"step {step}: {x!r}", f"{y!r}", DIFFERS)]
        worst = WITHIN if state == WITHIN else worst
    return [Row("history", key, cell, label, label, worst)]


def _images(run: Run) -> list[str]:
    return [
        str(a.get("hash"))
        for a in run.artifacts
        if str(a.get("media_type") or "").startswith("image/")
    ]


def image_rows(cell: int, a: Sequence[str], b: Sequence[str]) -> list[Row]:
    if not a and not b:
        return []
    same = list(a) == list(b)
    return [
        Row(
            "image",
            f"{len(a)} image(s)",
            cell,
            ", ".join(h[-8:] for h in a),
            ", ".join(h[-8:] for h in b),
            SAME if same else REPORTED,
        )
    ]


def normalise(text: str) -> str:
    """Text output with what changes on every run (addresses, timings, dates) masked."""
    for pattern, mask in _NORMALISE:
        text = pattern.sub(mask, text)
    return text.replace("\r\n", "\n").rstrip()


def text_state(a: str, b: str, tol: Tolerance) -> str:
    """same after normalising; within tolerance when only numbers differ and each pair is
    within `tol`; else differs."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return SAME
    if _NUMBER.sub("#", na) != _NUMBER.sub("#", nb):
        return DIFFERS
    pairs = zip(_NUMBER.findall(na), _NUMBER.findall(nb), strict=True)
    return WITHIN if all(tol.allows(float(x), float(y)) for x, y in pairs) else DIFFERS


def output_row(cell: int, a: str, b: str, tolerances: Tolerances) -> Row:
    state = text_state(a, b, tolerance_for(tolerances, None))
    return Row("output", "text", cell, _clip(a), _clip(b), state)


def _clip(text: str, width: int = 60) -> str:
    flat = " ".join(normalise(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cell_text(outputs: Sequence[Mapping[str, Any]]) -> str:
    """A notebook cell's text outputs (streams, then text/plain results) as one string."""
    parts: list[str] = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(_joined(out.get("text")))
        elif out.get("output_type") in ("execute_result", "display_data"):
            data = out.get("data") or {}
            if "text/plain" in data and not any(
                k.startswith("application/vnd.jupyter") for k in data
            ):
                parts.append(_joined(data["text/plain"]) + "\n")
    return "".join(parts)


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text or "")
