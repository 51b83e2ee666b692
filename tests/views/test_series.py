"""Bounded min/max series and the per-key split of drained point chunks: the fast paths
must give exactly what a plain per-point grouping gives."""

from __future__ import annotations

import random

import pytest

from jupyter_xtrack.views.series import MinMaxSeries, SeriesSet, pick, split_by_key


def reference_groups(keys: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return groups


def as_indices(sel: object, n: int) -> list[int]:
    return list(pick(list(range(n)), sel))  # type: ignore[arg-type]


SHAPES = {
    "one key": ["loss"] * 1000,
    "two keys every call": ["loss", "acc"] * 500,
    "three keys every call": ["a", "b", "c"] * 300,
    "dense plus rare": ["loss" if i % 97 else "val" for i in range(5000)],
    "dense plus two rare": ["loss" if i % 50 else ("val" if i % 100 else "lr") for i in range(5000)],
    "random": [random.Random(1).choice("abcd") for _ in range(3000)],
    "irregular two dense": ["a"] * 10 + ["b"] * 7 + ["a", "b"] * 100,
    "single point": ["x"],
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_split_by_key_matches_reference(shape: str) -> None:
    keys = SHAPES[shape]
    got = {k: as_indices(sel, len(keys)) for k, sel in split_by_key(keys).items()}
    assert got == reference_groups(keys)


def test_series_stays_bounded_and_keeps_extremes() -> None:
    s = MinMaxSeries(capacity=64)
    values = [float(i % 10) for i in range(100_000)]
    values[54_321] = 1e9  # one spike among 100k points
    values[77_777] = -5.0
    steps = list(range(100_000))
    times = [1000.0 + i for i in range(100_000)]
    for start in range(0, 100_000, 7_919):  # chunks of awkward sizes
        end = start + 7_919
        s.extend(values[start:end], steps[start:end], times[start:end])
    assert len(s.ns) <= 64
    assert sum(s.ns) == s.count == 100_000
    assert max(s.hi) == 1e9 and min(s.lo) == -5.0
    assert s.last_value == values[-1] and s.last_step == 99_999
    xs = s.xs("step")
    assert xs == sorted(xs) and xs[0] == 0.0
    assert len(s.packed()) == 5 * 8 * len(s.ns)
    assert sum(s.sums) == pytest.approx(sum(values))


def test_series_without_steps_uses_point_index() -> None:
    s = MinMaxSeries(capacity=8)
    s.extend([1.0, 2.0, 3.0], [None, None, None], [0.0, 1.0, 2.0])
    assert not s.has_step and s.xs("step") == [0.0, 1.0, 2.0]
    assert s.xs("time") == [0.0, 1.0, 2.0]


def test_series_set_takes_only_its_run_and_groups_keys() -> None:
    ss = SeriesSet("run-a", capacity=32)
    chunk = []
    for i in range(1000):
        chunk.append(("run-a", "loss", 1.0 / (i + 1), i, 10.0 + i))
        chunk.append(("run-a", "acc", i / 1000, i, 10.0 + i))
        if i % 3 == 0:
            chunk.append(("run-b", "loss", 99.0, i, 10.0 + i))  # a nested run's points
    assert ss.ingest(chunk) == 2000
    assert ss.ingest([("run-b", "x", 1.0, 0, 0.0)]) == 0
    assert set(ss.series) == {"loss", "acc"}
    assert ss.series["loss"].count == 1000 and max(ss.series["loss"].hi) == 1.0
    assert ss.latest() == {"loss": pytest.approx(0.001), "acc": pytest.approx(0.999)}
    assert ss.points == 2000


def test_big_chunks_are_sampled_at_flat_cost_and_rare_keys_still_found() -> None:
    ss = SeriesSet("r", capacity=64, known_keys=lambda: ["loss", "acc", "val"],
                   exact_below=1000, sample_size=256)
    chunk = []
    for i in range(200_000):
        chunk.append(("r", "loss", 1.0 / (i + 1), i, float(i)))
        chunk.append(("r", "acc", i / 200_000, i, float(i)))
        if i % 50_000 == 0:
            chunk.append(("r", "val", float(i), i, float(i)))  # 4 points among 400k
    counted = ss.ingest(chunk)
    assert counted == len(chunk)  # every sampled point was this run's: the whole chunk is
    loss, acc, val = ss.series["loss"], ss.series["acc"], ss.series["val"]
    # About 256 samples were read, split over both keys logged on every call...
    assert 100 < loss.inputs < 300 and 100 < acc.inputs < 300
    # ...standing for all the points, with steps in order and the right last values.
    assert loss.count == pytest.approx(200_000, rel=0.02)
    assert loss.xs("step") == sorted(loss.xs("step"))
    assert val.count == 4 and val.xs("step") == [0.0, 50_000.0, 100_000.0, 150_000.0]
    assert acc.last_step is not None and acc.last_step > 199_000


def test_sample_stride_never_lines_up_with_interleaved_keys() -> None:
    from jupyter_xtrack.views.series import sample_stride

    for n in (20_001, 100_000, 1_000_000):
        stride = sample_stride(n, 4096)
        assert stride > 32 and all(stride % p for p in range(2, 33))
        assert n // stride <= 4096 * 1.1
