"""Bounded summaries of metric histories for charts: min/max/mean buckets.

A live chart must keep up with any logging rate at a fixed cost, so each metric keeps at
most `capacity` buckets of `width` consecutive points (min, max, mean, first step and
time); when a bucket more is needed, neighbours merge and `width` doubles. Extremes are
never lost, so a spike shows however many points were logged.

`split_by_key` groups a drained chunk of points per metric with C-speed sequence
operations (count, slicing, index) in the common shapes (one metric; metrics logged
together every call; one dense metric plus rare ones), and a Python loop otherwise.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Protocol

DEFAULT_CAPACITY = 400
# A key counts as rare in a chunk when it holds at most this share of the points.
_RARE_SHARE = 16
_MAX_KEYS_FAST = 32

Selection = slice | list[int] | None  # None: every point of the chunk


class Indexable(Protocol):
    """What `MinMaxSeries.extend` reads steps and times from: a length and item access."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> Any: ...


class MinMaxSeries:
    """One metric's history summarised in at most `capacity` buckets (see module doc)."""

    __slots__ = (
        "capacity", "width", "count", "steps", "times", "lo", "hi", "sums", "ns",
        "last_value", "last_step", "last_time", "has_step",
    )

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(2, int(capacity))
        self.width = 1
        self.count = 0
        self.steps: list[float] = []  # step of each bucket's first point (nan: no step)
        self.times: list[float] = []  # wall time of each bucket's first point
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.sums: list[float] = []
        self.ns: list[int] = []
        self.last_value = math.nan
        self.last_step: int | None = None
        self.last_time = math.nan
        self.has_step = False

    def extend(
        self, values: Sequence[float], steps: Indexable, times: Indexable
    ) -> None:
        """Add points in logged order (three sequences of equal length)."""
        n = len(values)
        if n == 0:
            return
        total = self.count + n
        while total > self.capacity * self.width:
            self._merge()
        width = self.width
        i = 0
        if self.ns and self.ns[-1] < width:
            take = min(width - self.ns[-1], n)
            seg = values[:take]
            lo, hi = min(seg), max(seg)
            if lo < self.lo[-1]:
                self.lo[-1] = lo
            if hi > self.hi[-1]:
                self.hi[-1] = hi
            self.sums[-1] += sum(seg)
            self.ns[-1] += take
            i = take
        while i < n:
            j = min(i + width, n)
            seg = values[i:j]
            step = steps[i]
            self.steps.append(math.nan if step is None else float(step))
            self.times.append(float(times[i]))
            self.lo.append(min(seg))
            self.hi.append(max(seg))
            self.sums.append(sum(seg))
            self.ns.append(j - i)
            i = j
        self.count = total
        self.last_value = float(values[-1])
        last_step = steps[-1]
        self.last_step = None if last_step is None else int(last_step)
        if last_step is not None:
            self.has_step = True
        self.last_time = float(times[-1])

    def _merge(self) -> None:
        """Halve the number of buckets by merging neighbours; width doubles."""
        def pairs(xs: list[Any], fn: Any) -> list[Any]:
            return [fn(xs[k], xs[k + 1]) if k + 1 < len(xs) else xs[k] for k in range(0, len(xs), 2)]

        self.steps = self.steps[::2]
        self.times = self.times[::2]
        self.lo = pairs(self.lo, min)
        self.hi = pairs(self.hi, max)
        self.sums = pairs(self.sums, lambda a, b: a + b)
        self.ns = pairs(self.ns, lambda a, b: a + b)
        self.width *= 2

    def means(self) -> list[float]:
        """The mean value of each bucket."""
        return [s / n if n else math.nan for s, n in zip(self.sums, self.ns, strict=False)]

    def xs(self, axis: str = "step") -> list[float]:
        """Bucket positions on `axis`: "step" (the point's index where no step was given),
        "time" (wall time, seconds) or "index"."""
        if axis == "time":
            return list(self.times)
        index = [float(k * self.width) for k in range(len(self.ns))]
        if axis == "step" and self.has_step:
            return [ix if math.isnan(s) else s for s, ix in zip(self.steps, index, strict=False)]
        return index

    def packed(self) -> bytes:
        """Little-endian float64 columns: step-or-index x, time, min, max, mean."""
        cols = array("d")
        for col in (self.xs("step"), self.times, self.lo, self.hi, self.means()):
            cols.extend(col)
        if cols.itemsize != 8:  # pragma: no cover - every CPython platform has 8-byte doubles
            raise RuntimeError("float64 arrays are needed")
        import sys

        if sys.byteorder != "little":  # pragma: no cover
            cols.byteswap()
        return cols.tobytes()


def split_by_key(keys: Sequence[str]) -> dict[str, Selection]:
    """Point positions per key, in logged order: None for "all", a slice, or an index list."""
    n = len(keys)
    if n == 0:
        return {}
    first = keys[0]
    if keys.count(first) == n:
        return {first: None}
    period = _period(keys)
    if period:
        return {keys[j]: slice(j, None, period) for j in range(period)}
    distinct = set(keys)
    if len(distinct) <= _MAX_KEYS_FAST:
        counts = {k: keys.count(k) for k in distinct}
        dense = [k for k, c in counts.items() if c * _RARE_SHARE > n]
        if len(dense) == 1:
            return _one_dense(keys, dense[0], counts)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        ix = groups.get(key)
        if ix is None:
            groups[key] = [i]
        else:
            ix.append(i)
    return dict(groups)


def _period(keys: Sequence[str]) -> int:
    """p when keys repeat with period p (metrics logged together on every call), else 0."""
    first = keys[0]
    try:
        p = keys.index(first, 1)
    except ValueError:
        return 0
    if p > _MAX_KEYS_FAST or len(set(keys[:p])) != p:
        return 0
    for j in range(p):
        col = keys[j::p]
        if col.count(keys[j]) != len(col):
            return 0
    return p


def _one_dense(keys: Sequence[str], dense: str, counts: dict[str, int]) -> dict[str, Selection]:
    out: dict[str, Selection] = {}
    rare_all: list[int] = []
    for key, count in counts.items():
        if key == dense:
            continue
        ix: list[int] = []
        pos = -1
        for _ in range(count):
            pos = keys.index(key, pos + 1)
            ix.append(pos)
        out[key] = ix
        rare_all.extend(ix)
    rare_all.sort()
    # The dense key holds everything between the rare positions.
    out[dense] = _complement(rare_all, len(keys))
    return out


def _complement(sorted_ix: list[int], n: int) -> list[int]:
    result: list[int] = []
    prev = 0
    for i in sorted_ix:
        result.extend(range(prev, i))
        prev = i + 1
    result.extend(range(prev, n))
    return result


def pick(seq: Sequence[Any], sel: Selection) -> Sequence[Any]:
    """The items of `seq` at `sel` (see `split_by_key`)."""
    if sel is None:
        return seq
    if isinstance(sel, slice):
        return seq[sel]
    if len(sel) == 1:
        return (seq[sel[0]],)
    return itemgetter(*sel)(seq)


class _Column:
    """Field `field` of the selected points, read lazily (only bucket starts are read)."""

    __slots__ = ("_points", "_field", "_sel", "_n")

    def __init__(self, points: Sequence[tuple[Any, ...]], field: int, sel: Selection) -> None:
        self._points = points
        self._field = field
        self._sel = sel
        if sel is None:
            self._n = len(points)
        elif isinstance(sel, slice):
            self._n = len(range(*sel.indices(len(points))))
        else:
            self._n = len(sel)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Any:
        if i < 0:
            i += self._n
        sel = self._sel
        if sel is None:
            at = i
        elif isinstance(sel, slice):
            start, _, step = sel.indices(len(self._points))
            at = start + i * step
        else:
            at = sel[i]
        return self._points[at][self._field]


class SeriesSet:
    """The bounded histories of every metric of one run, fed with drained point chunks."""

    def __init__(self, run_id: str, capacity: int = DEFAULT_CAPACITY) -> None:
        self.run_id = run_id
        self.capacity = capacity
        self.series: dict[str, MinMaxSeries] = {}
        self.points = 0

    def ingest(self, points: Sequence[tuple[str, str, float, int | None, float]]) -> int:
        """Take this run's points from a chunk of (run_id, key, value, step, time); returns
        how many were this run's."""
        if not points:
            return 0
        rid = self.run_id
        # Columns by list comprehension: far cheaper than zip(*points) on big chunks, and
        # steps and times are only read where a bucket starts.
        runs = [p[0] for p in points]
        mine = runs.count(rid)
        if mine == 0:
            return 0
        if mine != len(runs):
            points = [p for p in points if p[0] == rid]
        keys = [p[1] for p in points]
        values = [p[2] for p in points]
        for key, sel in split_by_key(keys).items():
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = MinMaxSeries(self.capacity)
            series.extend(pick(values, sel), _Column(points, 3, sel), _Column(points, 4, sel))
        self.points += mine
        return mine

    def latest(self) -> dict[str, float]:
        """The last value logged for each metric."""
        return {k: s.last_value for k, s in self.series.items()}
