"""Shrinking a metric history for a chart without flattening its spikes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def min_max_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices (ascending) of at most `max_points` points of `values` that keep its shape:
    the history is cut into equal buckets and each bucket keeps its first, lowest, highest
    and last point, so every peak and dip survives. NaN points count as neither low nor
    high. Every index when the history already fits."""
    n = len(values)
    if max_points <= 0:
        return []
    if n <= max_points:
        return list(range(n))
    if max_points < 4:
        # Too few points for four per bucket: an even spread is the best that fits.
        return sorted({round(i * (n - 1) / max(1, max_points - 1)) for i in range(max_points)})
    import numpy as np

    vals = np.asarray(values, dtype=np.float64)
    buckets = max_points // 4
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    width = int(np.max(np.diff(edges)))
    # Lay the buckets out as rows of a padded matrix so one vectorised argmin/argmax
    # covers all of them; padding and NaN never win.
    starts = edges[:-1]
    lengths = np.diff(edges)
    cols = np.arange(width)
    grid_idx = starts[:, None] + cols[None, :]
    valid = cols[None, :] < lengths[:, None]
    grid_idx = np.where(valid, grid_idx, starts[:, None])
    grid = vals[grid_idx]
    finite = valid & ~np.isnan(grid)
    low = np.where(finite, grid, np.inf).argmin(axis=1)
    high = np.where(finite, grid, -np.inf).argmax(axis=1)
    picks = np.concatenate(
        [starts, starts + low, starts + high, starts + lengths - 1]
    )
    return [int(i) for i in np.unique(picks)]


def downsample_history(history: dict[str, list[Any]], max_points: int | None) -> dict[str, Any]:
    """`history` ({"step", "value", "time"} lists) cut to at most `max_points` points by
    `min_max_indices`, plus `count` (points stored) and `downsampled` (whether any were
    dropped). None or 0 means every point."""
    values = history.get("value", [])
    count = len(values)
    if not max_points or count <= max_points:
        return {**history, "count": count, "downsampled": False}
    keep = min_max_indices(values, max_points)
    return {
        "step": [history["step"][i] for i in keep],
        "value": [values[i] for i in keep],
        "time": [history["time"][i] for i in keep],
        "count": count,
        "downsampled": True,
    }
