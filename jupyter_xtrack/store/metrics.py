"""Metric points: chunked packed histories plus the last value of each (run, key).

A history is a sequence of chunk rows, each holding up to CHUNK_MAX points as three
packed arrays. A batch appends to the last chunk while that chunk is small (so a metric
logged once per cell does not leave one row per point) and starts new chunks otherwise.
"""

from __future__ import annotations

import math
import sqlite3
from array import array
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from .codec import NO_STEP, float_array, step_array, to_le_bytes, unpack_floats, unpack_steps

CHUNK_MAX = 65536
MERGE_BELOW = 4096


def last_index(steps: array[int], times: array[float]) -> int:
    """Index of the point that is "last": highest step (no step counts lowest), then
    latest time, then logged last."""
    n = len(steps)
    top = max(steps)
    same = steps.count(top)
    if same == 1:
        return steps.index(top)
    if same == n:
        latest = max(times)
        return n - 1 - times[::-1].index(latest)
    best = -1
    for i in range(n):
        if steps[i] == top and (best < 0 or times[i] >= times[best]):
            best = i
    return best


def group_points(
    runs: Sequence[str], keys: Sequence[str]
) -> dict[tuple[str, str], list[int] | None]:
    """Point indices by (run id, key), in logged order; None stands for "all points" when
    the batch holds a single series (the common case, kept free of index lists)."""
    first = (runs[0], keys[0])
    if runs.count(first[0]) == len(runs) and keys.count(first[1]) == len(keys):
        return {first: None}
    groups: dict[tuple[str, str], list[int] | None] = {}
    for i, rk in enumerate(zip(runs, keys, strict=False)):
        ix = groups.get(rk)
        if ix is None:
            groups[rk] = [i]
        else:
            ix.append(i)
    return groups


def write_points(
    conn: sqlite3.Connection,
    numbers: dict[str, int],
    runs: Sequence[str],
    keys: Sequence[str],
    values: Sequence[Any],
    steps: Sequence[Any],
    times: Sequence[Any],
) -> dict[int, dict[str, float]]:
    """Append the points to their histories and update last values, inside the caller's
    transaction. Returns, per run number, the metrics whose last value changed."""
    changed: dict[int, dict[str, float]] = {}
    chunk_rows: list[tuple[Any, ...]] = []
    for (run_id, key), ix in group_points(runs, keys).items():
        if ix is None:
            vals, stps, tms = float_array(values), step_array(steps), float_array(times)
        elif len(ix) == 1:
            i = ix[0]
            vals, stps, tms = (
                float_array([values[i]]),
                step_array([steps[i]]),
                float_array([times[i]]),
            )
        else:
            pick = itemgetter(*ix)
            vals, stps, tms = (
                float_array(pick(values)),
                step_array(pick(steps)),
                float_array(pick(times)),
            )
        run = numbers[run_id]
        li = last_index(stps, tms)
        new_last = (stps[li], tms[li])
        row = conn.execute(
            "SELECT value, step, time, count, chunks FROM metrics WHERE run = ? AND key = ?",
            (run, key),
        ).fetchone()
        count, chunks = (0, 0) if row is None else (row[3], row[4])
        start = 0
        if chunks:
            start = _extend_last_chunk(conn, run, key, chunks - 1, vals, stps, tms)
        while start < len(vals):
            end = start + CHUNK_MAX
            chunk_rows.append(
                (
                    run,
                    key,
                    chunks,
                    len(vals[start:end]),
                    to_le_bytes(stps[start:end]),
                    to_le_bytes(vals[start:end]),
                    to_le_bytes(tms[start:end]),
                )
            )
            chunks += 1
            start = end
        old_last = None if row is None else (NO_STEP if row[1] is None else row[1], row[2])
        if old_last is None or new_last >= old_last:
            value, step, when = vals[li], stps[li], tms[li]
            changed.setdefault(run, {})[key] = value
        else:
            value = math.nan if row[0] is None else row[0]
            step, when = old_last
        conn.execute(
            "INSERT INTO metrics(run, key, value, step, time, count, chunks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run, key) DO UPDATE SET "
            "value = excluded.value, step = excluded.step, time = excluded.time, "
            "count = excluded.count, chunks = excluded.chunks",
            (run, key, value, None if step == NO_STEP else step, when, count + len(vals), chunks),
        )
    if chunk_rows:
        conn.executemany(
            "INSERT INTO metric_chunks(run, key, seq, n, steps, vals, times) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            chunk_rows,
        )
    return changed


def _extend_last_chunk(
    conn: sqlite3.Connection,
    run: int,
    key: str,
    seq: int,
    vals: array[float],
    stps: array[int],
    tms: array[float],
) -> int:
    """Append the head of the new points to the last chunk while it is small; returns how
    many points it took."""
    (n,) = conn.execute(
        "SELECT n FROM metric_chunks WHERE run = ? AND key = ? AND seq = ?", (run, key, seq)
    ).fetchone()
    if n >= MERGE_BELOW:
        return 0
    take = min(len(vals), CHUNK_MAX - n)
    # Concatenate in Python: SQLite's || would turn the blobs into text.
    s, v, t = conn.execute(
        "SELECT steps, vals, times FROM metric_chunks WHERE run = ? AND key = ? AND seq = ?",
        (run, key, seq),
    ).fetchone()
    conn.execute(
        "UPDATE metric_chunks SET n = ?, steps = ?, vals = ?, times = ? "
        "WHERE run = ? AND key = ? AND seq = ?",
        (
            n + take,
            s + to_le_bytes(stps[:take]),
            v + to_le_bytes(vals[:take]),
            t + to_le_bytes(tms[:take]),
            run,
            key,
            seq,
        ),
    )
    return take


def read_history(conn: sqlite3.Connection, run: int, key: str) -> dict[str, list[Any]]:
    """{"step": [...], "value": [...], "time": [...]} in logged order (step None where the
    point had none)."""
    steps: array[int] = array("q")
    vals: array[float] = array("d")
    times: array[float] = array("d")
    for s, v, t in conn.execute(
        "SELECT steps, vals, times FROM metric_chunks WHERE run = ? AND key = ? ORDER BY seq",
        (run, key),
    ):
        steps.extend(unpack_steps(s))
        vals.extend(unpack_floats(v))
        times.extend(unpack_floats(t))
    step_list: list[int | None] = list(steps.tolist())
    if NO_STEP in steps:
        step_list = [None if s == NO_STEP else s for s in step_list]
    return {"step": step_list, "value": vals.tolist(), "time": times.tolist()}
