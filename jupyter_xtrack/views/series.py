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
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, Protocol

DEFAULT_CAPACITY = 400
# Chunks up to this size are read in full; bigger ones through a sample of ~SAMPLE_SIZE.
EXACT_BELOW = 20_000
SAMPLE_SIZE = 4_096
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
        "capacity", "width", "inputs", "count", "idx", "steps", "times", "lo", "hi", "sums",
        "ns", "last_value", "last_step", "last_time", "has_step",
    )

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(2, int(capacity))
        self.width = 1  # points given to `extend` per bucket
        self.inputs = 0  # points given to `extend`
        self.count = 0  # points they stand for (a sampled point stands for `weight`)
        self.idx: list[float] = []  # index of each bucket's first point in the history
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
        self, values: Sequence[float], steps: Indexable, times: Indexable, weight: int = 1
    ) -> None:
        """Add points in logged order (three sequences of equal length). `weight` > 1 says
        each point is a sample standing for that many consecutive points."""
        n = len(values)
        if n == 0:
            return
        total = self.inputs + n
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
            self.idx.append(float(self.count + i * weight))
            self.steps.append(math.nan if step is None else float(step))
            self.times.append(float(times[i]))
            self.lo.append(min(seg))
            self.hi.append(max(seg))
            self.sums.append(sum(seg))
            self.ns.append(j - i)
            i = j
        self.inputs = total
        self.count += n * weight
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

        self.idx = self.idx[::2]
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
        index = self.idx
        if axis == "step" and self.has_step:
            return [ix if math.isnan(s) else s for s, ix in zip(self.steps, index, strict=False)]
        return list(index)

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


def sample_stride(n: int, size: int) -> int:
    """A stride giving about `size` of `n` points, prime and above 32 so that it never
    lines up with metrics logged together on every call (which repeat with a short
    period) and skips one of them."""
    stride = max(37, -(-n // max(1, size)))
    while not _is_prime(stride):
        stride += 1
    return stride


def _is_prime(k: int) -> bool:
    if k < 2:
        return False
    f = 2
    while f * f <= k:
        if k % f == 0:
            return False
        f += 1
    return True


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
    picked: Sequence[Any] = itemgetter(*sel)(seq)
    return picked


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
    """The bounded histories of every metric of one run, fed with drained point chunks.

    A chunk of up to `exact_below` points is read in full. A bigger one (a fast loop) is
    read through an evenly strided sample of about `sample_size` points, so the cost per
    chunk stays flat whatever the logging rate; keys the sample misses but `known_keys()`
    names (a metric logged once an epoch among millions of steps) are then looked up in
    the full chunk. Extremes between samples can be missed here: the chart's final image
    is drawn from the store's full histories instead.
    """

    def __init__(
        self,
        run_id: str,
        capacity: int = DEFAULT_CAPACITY,
        *,
        known_keys: Callable[[], Iterable[str]] | None = None,
        exact_below: int = EXACT_BELOW,
        sample_size: int = SAMPLE_SIZE,
        skip_key: Callable[[str], bool] | None = None,
    ) -> None:
        self.run_id = run_id
        self.skip_key = skip_key  # keys left out (the chart's: the sampled system metrics)
        self.capacity = capacity
        self.series: dict[str, MinMaxSeries] = {}
        self.points = 0
        self.known_keys = known_keys
        self.exact_below = exact_below
        self.sample_size = sample_size

    def _series(self, key: str) -> MinMaxSeries:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = MinMaxSeries(self.capacity)
        return series

    def ingest(self, points: Sequence[tuple[str, str, float, int | None, float]]) -> int:
        """Take this run's points from a chunk of (run_id, key, value, step, time); returns
        how many of the chunk's points were (or, sampled, are estimated to be) this run's."""
        n = len(points)
        if n == 0:
            return 0
        weight = 1
        sample = points
        if n > self.exact_below:
            weight = sample_stride(n, self.sample_size)
            sample = points[::weight]
        rid = self.run_id
        # Columns by list comprehension: far cheaper than zip(*points), and steps and times
        # are only read where a bucket starts.
        runs = [p[0] for p in sample]
        mine = runs.count(rid)
        if mine == 0:
            return 0
        if mine != len(runs):
            sample = [p for p in sample if p[0] == rid]
        keys = [p[1] for p in sample]
        values = [p[2] for p in sample]
        groups = split_by_key(keys)
        for key, sel in groups.items():
            if self.skip_key is not None and self.skip_key(key):
                continue
            self._series(key).extend(
                pick(values, sel), _Column(sample, 3, sel), _Column(sample, 4, sel), weight
            )
        if weight > 1:
            self._rare_keys(points, set(groups))
            counted = n if mine == len(runs) else mine * weight
        else:
            counted = mine
        self.points += counted
        return counted

    def _rare_keys(self, points: Sequence[tuple[str, str, float, int | None, float]],
                   seen: set[str]) -> None:
        if self.known_keys is None:
            return
        try:
            missing = [k for k in list(self.known_keys()) if k not in seen]
        except RuntimeError:  # the dict changed size while we read it: next chunk
            return
        if not missing:
            return
        keys = [p[1] for p in points]
        rid = self.run_id
        for key in missing:
            found: list[int] = []
            pos = -1
            while True:
                try:
                    pos = keys.index(key, pos + 1)
                except ValueError:
                    break
                if points[pos][0] == rid:
                    found.append(pos)
                if len(found) > self.sample_size:
                    break  # not rare after all: the next chunks will sample it
            if found:
                rows = [points[i] for i in found]
                self._series(key).extend([r[2] for r in rows], [r[3] for r in rows],
                                         [r[4] for r in rows])

    def latest(self) -> dict[str, float]:
        """The last value logged for each metric."""
        return {k: s.last_value for k, s in self.series.items()}
