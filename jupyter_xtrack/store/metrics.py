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
    fresh: set[int] | frozenset[int] = frozenset(),
) -> dict[int, dict[str, float]]:
    """Append the points to their histories and update last values, inside the caller's
    transaction. Returns, per run number, the metrics whose last value changed.
    `concat_in_sql` appends to a chunk with `||` in the database (PostgreSQL's bytea)
    instead of reading it back (SQLite's `||` would turn blobs into text). Runs in
    `fresh` have no metric yet: nothing of theirs is read.

    Every series' row is read in one query per SERIES_PER_QUERY series, and the chunk
    appends, new chunks and metric rows are each sent with one `executemany` (pipelined by
    psycopg): a batch of 500 keys is a handful of round trips, not three per key."""
    runs, keys, all_values, all_steps, all_times = _columns(points)
    series = [(numbers[run_id], key, ix) for run_id, key, ix in _groups(runs, keys)]
    stored = _stored_rows(
        conn, [(run, key) for run, key, _ in series if run not in fresh], concat_in_sql
    )
    changed: dict[int, dict[str, float]] = {}
    appends: list[tuple[Any, ...]] = []
    chunk_rows: list[tuple[Any, ...]] = []
    metric_rows: list[tuple[Any, ...]] = []
    for run, key, ix in series:
        if ix is None:
            vals, stps, tms = all_values, all_steps, all_times
        else:
            vals, stps, tms = all_values[ix], all_steps[ix], all_times[ix]
        row = stored.get((run, key))
        count, chunks = (0, 0) if row is None else (row[3], row[4])
        start = 0
        if chunks and row is not None and row[5] < MERGE_BELOW:
            start = min(len(vals), CHUNK_MAX - row[5])
            appends.append(_append(run, key, chunks - 1, row, vals, stps, tms, start))
        while start < len(vals):
            end = start + CHUNK_MAX
            chunk_rows.append(
                (run, key, chunks, len(vals[start:end]), *_packed(stps, vals, tms, start, end))
            )
            chunks += 1
            start = end
        li = last_index(stps, tms)
        new_last = (int(stps[li]), float(tms[li]))
        old_last = None if row is None else (NO_STEP if row[1] is None else row[1], row[2])
        if old_last is None or new_last >= old_last:
            value, (step, when) = float(vals[li]), new_last
            changed.setdefault(run, {})[key] = value
        else:
            value = math.nan if row is None or row[0] is None else row[0]
            step, when = old_last
        metric_rows.append(
            (run, key, value, None if step == NO_STEP else step, when, count + len(vals), chunks)
        )
    if appends:
        conn.executemany(_APPEND_IN_SQL if concat_in_sql else _REPLACE_CHUNK, appends)
    if chunk_rows:
        conn.executemany(
            "INSERT INTO metric_chunks(run, key, seq, n, steps, vals, times) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            chunk_rows,
        )
    conn.executemany(
        "INSERT INTO metrics(run, key, value, step, time, count, chunks) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run, key) DO UPDATE SET "
        "value = excluded.value, step = excluded.step, time = excluded.time, "
        "count = excluded.count, chunks = excluded.chunks",
        metric_rows,
    )
    return changed


SERIES_PER_QUERY = 250  # (run, key) pairs per read: 500 parameters at most
# A chunk that takes more points, appended in the database (PostgreSQL's bytea `||`) or
# replaced by its concatenation made here (SQLite's `||` would turn blobs into text).
_APPEND_IN_SQL = (
    "UPDATE metric_chunks SET n = n + ?, steps = steps || ?, vals = vals || ?, "
    "times = times || ? WHERE run = ? AND key = ? AND seq = ?"
)
_REPLACE_CHUNK = (
    "UPDATE metric_chunks SET n = ?, steps = ?, vals = ?, times = ? "
    "WHERE run = ? AND key = ? AND seq = ?"
)


def _stored_rows(
    conn: Conn, series: list[tuple[int, str]], concat_in_sql: bool
) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Per (run, key) already stored: (value, step, time, count, chunks, points in the
    last chunk, and, unless `concat_in_sql`, that chunk's steps, vals and times when it
    is small enough to take more points). Runs and keys are matched as two IN lists (an
    index lookup on both backends) and pairs not asked for dropped here."""
    # CASE keeps SQLite from reading a full chunk's blobs, which will not be appended to.
    small = (
        ""
        if concat_in_sql
        else "".join(
            f", CASE WHEN c.n < {MERGE_BELOW} THEN c.{col} END"
            for col in ("steps", "vals", "times")
        )
    )
    out: dict[tuple[int, str], tuple[Any, ...]] = {}
    for start in range(0, len(series), SERIES_PER_QUERY):
        part = series[start : start + SERIES_PER_QUERY]
        runs = list(dict.fromkeys(run for run, _ in part))
        keys = list(dict.fromkeys(key for _, key in part))
        wanted = set(part)
        rows = conn.execute(
            f"SELECT m.run, m.key, m.value, m.step, m.time, m.count, m.chunks, c.n{small} "
            "FROM metrics AS m LEFT JOIN metric_chunks AS c ON c.run = m.run "
            "AND c.key = m.key AND c.seq = m.chunks - 1 "
            f"WHERE m.run IN ({', '.join('?' * len(runs))}) "
            f"AND m.key IN ({', '.join('?' * len(keys))})",
            [*runs, *keys],
        )
        out.update(((r[0], r[1]), tuple(r[2:])) for r in rows if (r[0], r[1]) in wanted)
    return out


def _append(
    run: int,
    key: str,
    seq: int,
    row: tuple[Any, ...],
    vals: Any,
    stps: Any,
    tms: Any,
    take: int,
) -> tuple[Any, ...]:
    """The parameters of the update that appends the first `take` new points to chunk
    `seq` (`row` from `_stored_rows`: its chunk's blobs at 6..8 when read back)."""
    steps, values, times = _packed(stps, vals, tms, 0, take)
    if len(row) == 6:  # appended in the database
        return (take, steps, values, times, run, key, seq)
    return (row[5] + take, row[6] + steps, row[7] + values, row[8] + times, run, key, seq)


def _packed(stps: Any, vals: Any, tms: Any, start: int, end: int) -> tuple[bytes, bytes, bytes]:
    """Points start..end as the chunk's little-endian steps, values and times."""
    return (
        _le(stps[start:end], "<i8"),
        _le(vals[start:end], "<f8"),
        _le(tms[start:end], "<f8"),
    )


def _le(arr: Any, dtype: str) -> bytes:
    return bytes(arr.astype(dtype, copy=False).tobytes())


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
