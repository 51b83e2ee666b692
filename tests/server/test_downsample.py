"""Min/max downsampling keeps every peak and dip of a metric history."""

from __future__ import annotations

import math
import random

import pytest

from jupyter_xtrack.server.downsample import downsample_history, min_max_indices


@pytest.mark.parametrize("n, k", [(10, 20), (1000, 100), (1001, 7), (50_000, 2000), (5, 3)])
def test_indices_sorted_unique_and_bounded(n: int, k: int) -> None:
    values = [random.Random(n).gauss(0, 1) for _ in range(n)]
    idx = min_max_indices(values, k)
    assert idx == sorted(set(idx))
    assert len(idx) <= k
    assert all(0 <= i < n for i in idx)


@pytest.mark.parametrize("seed", range(5))
def test_every_bucket_keeps_its_extremes(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.random() for _ in range(10_000)]
    for _ in range(20):
        values[rng.randrange(len(values))] = rng.choice([-50.0, 50.0])
    idx = min_max_indices(values, 400)
    kept = [values[i] for i in idx]
    assert values.count(50.0) and max(kept) == 50.0 and min(kept) == -50.0
    # First and last points anchor the line.
    assert idx[0] == 0 and idx[-1] == len(values) - 1


def test_nan_never_hides_a_real_extreme() -> None:
    values = [math.nan] * 100 + [1.0, 9.0, -9.0] + [math.nan] * 100
    kept = [values[i] for i in min_max_indices(values, 8)]
    assert 9.0 in kept and -9.0 in kept


def test_history_fields_follow_the_indices() -> None:
    n = 1000
    history = {"step": list(range(n)), "value": [float(i % 10) for i in range(n)],
               "time": [float(i) for i in range(n)]}
    out = downsample_history(history, 100)
    assert out["downsampled"] and out["count"] == n
    assert out["step"] == [int(t) for t in out["time"]]
    assert downsample_history(history, None)["downsampled"] is False
    assert downsample_history(history, 5000)["value"] == history["value"]
