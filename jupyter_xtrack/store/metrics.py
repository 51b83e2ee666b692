"""Metric points: chunked packed histories plus the last value of each (run, key).

A history is a sequence of chunk rows, each holding up to CHUNK_MAX points as three
packed arrays. A batch appends to the last chunk while that chunk is small (so a metric
logged once per cell does not leave one row per point) and starts new chunks otherwise.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from .codec import NO_STEP, unpack_floats, unpack_steps
from .dialect import Conn

CHUNK_MAX = 65536
MERGE_BELOW = 4096


def _columns(points: Sequence[Sequence[Any]]) -> tuple[list[str], list[str], Any, Any, Any]:
    """The points as run ids, keys, and float64 values / int64 steps / float64 times."""
    import numpy as np

    n = len(points)
    for p in points[:1] if points else ():
        if len(p) != 5:
            raise ValueError("metric points must be (run_id, key, value, step, wall_time) tuples")
    runs = list(map(itemgetter(0), points))
    keys = list(map(itemgetter(1), points))
    try:
        values = np.fromiter(map(itemgetter(2), points), dtype=np.float64, count=n)
    except (TypeError, ValueError):
        for p in points:
            try:
                float(p[2])
            except (TypeError, ValueError):
                raise TypeError(f"metric {p[1]!r} value {p[2]!r:.60} is not a number") from None
        raise
    raw_steps = list(map(itemgetter(3), points))
    if None in raw_steps:
        as_float = np.array(raw_steps, dtype=np.float64)  # None becomes NaN
        missing = np.isnan(as_float)
        as_float[missing] = 0
        steps = as_float.astype(np.int64)
        steps[missing] = NO_STEP
    else:
        steps = np.array(raw_steps, dtype=np.int64)
    times = np.fromiter(map(itemgetter(4), points), dtype=np.float64, count=n)
    return runs, keys, values, steps, times


def _groups(runs: list[str], keys: list[str]) -> list[tuple[str, str, Any]]:
    """(run id, key, point indices in logged order) per series; indices None for a batch
    holding one series. Grouping is a stable sort of integer codes, so it runs in numpy
    rather than a Python loop over the points."""
    import numpy as np

    run_codes = {r: i for i, r in enumerate(dict.fromkeys(runs))}
    key_codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    if len(run_codes) == 1 and len(key_codes) == 1:
        return [(runs[0], keys[0], None)]
    n = len(keys)
    codes = np.fromiter(map(key_codes.__getitem__, keys), dtype=np.int64, count=n)
    if len(run_codes) > 1:
        codes += len(key_codes) * np.fromiter(
            map(run_codes.__getitem__, runs), dtype=np.int64, count=n
        )
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    run_of = list(run_codes)
    key_of = list(key_codes)
    out: list[tuple[str, str, Any]] = []
    start = 0
    for code in np.flatnonzero(counts).tolist():
        end = start + int(counts[code])
        run_i, key_i = divmod(code, len(key_codes))
        out.append((run_of[run_i], key_of[key_i], order[start:end]))
        start = end
    return out


def last_index(steps: Any, times: Any) -> int:
    """Index of the point that is "last": highest step (no step counts lowest), then
    latest time, then logged last."""
    import numpy as np

    candidates = np.flatnonzero(steps == steps.max())
    if len(candidates) == 1:
        return int(candidates[0])
    latest = times[candidates][::-1]
    return int(candidates[len(candidates) - 1 - int(np.argmax(latest))])


def write_points(
    conn: Conn,
    numbers: dict[str, int],
    points: Sequence[Sequence[Any]],
    *,
    concat_in_sql: bool = False,
) -> dict[int, dict[str, float]]:
    """Append the points to their histories and update last values, inside the caller's
    transaction. Returns, per run number, the metrics whose last value changed.
    `concat_in_sql` appends to a chunk with `||` in the database (PostgreSQL's bytea)
    instead of reading it back (SQLite's `||` would turn blobs into text)."""
    runs, keys, all_values, all_steps, all_times = _columns(points)
    changed: dict[int, dict[str, float]] = {}
    chunk_rows: list[tuple[Any, ...]] = []
    for run_id, key, ix in _groups(runs, keys):
        if ix is None:
            vals, stps, tms = all_values, all_steps, all_times
        else:
            vals, stps, tms = all_values[ix], all_steps[ix], all_times[ix]
        run = numbers[run_id]
        li = last_index(stps, tms)
        new_last = (int(stps[li]), float(tms[li]))
        # The last chunk's size comes along: one query per series, not two.
        row = conn.execute(
            "SELECT m.value, m.step, m.time, m.count, m.chunks, c.n FROM metrics AS m "
            "LEFT JOIN metric_chunks AS c ON c.run = m.run AND c.key = m.key "
            "AND c.seq = m.chunks - 1 WHERE m.run = ? AND m.key = ?",
            (run, key),
        ).fetchone()
        count, chunks = (0, 0) if row is None else (row[3], row[4])
        start = 0
        if chunks and row[5] < MERGE_BELOW:
            extend = _append_to_last_chunk if concat_in_sql else _extend_last_chunk
            start = extend(conn, run, key, chunks - 1, row[5], vals, stps, tms)
        while start < len(vals):
            end = start + CHUNK_MAX
            chunk_rows.append(
                (
                    run,
                    key,
                    chunks,
                    len(vals[start:end]),
                    _le(stps[start:end], "<i8"),
                    _le(vals[start:end], "<f8"),
                    _le(tms[start:end], "<f8"),
                )
            )
            chunks += 1
            start = end
        old_last = None if row is None else (NO_STEP if row[1] is None else row[1], row[2])
        if old_last is None or new_last >= old_last:
            value, (step, when) = float(vals[li]), new_last
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


def _le(arr: Any, dtype: str) -> bytes:
    return bytes(arr.astype(dtype, copy=False).tobytes())


def _extend_last_chunk(
    conn: Conn,
    run: int,
    key: str,
    seq: int,
    n: int,
    vals: Any,
    stps: Any,
    tms: Any,
) -> int:
    """Append the head of the new points to the last chunk (`n` points, fewer than
    MERGE_BELOW); returns how many points it took."""
    take: int = min(len(vals), CHUNK_MAX - n)
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
            s + _le(stps[:take], "<i8"),
            v + _le(vals[:take], "<f8"),
            t + _le(tms[:take], "<f8"),
            run,
            key,
            seq,
        ),
    )
    return take


def _append_to_last_chunk(
    conn: Conn, run: int, key: str, seq: int, n: int, vals: Any, stps: Any, tms: Any
) -> int:
    """`_extend_last_chunk`, concatenating in the database: the chunk is never read."""
    take: int = min(len(vals), CHUNK_MAX - n)
    conn.execute(
        "UPDATE metric_chunks SET n = n + ?, steps = steps || ?, vals = vals || ?, "
        "times = times || ? WHERE run = ? AND key = ? AND seq = ?",
        (
            take,
            _le(stps[:take], "<i8"),
            _le(vals[:take], "<f8"),
            _le(tms[:take], "<f8"),
            run,
            key,
            seq,
        ),
    )
    return take


def read_history(conn: Conn, run: int, key: str) -> dict[str, list[Any]]:
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
