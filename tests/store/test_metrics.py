"""Metric histories and last values."""

from __future__ import annotations

import math
import struct
import time

import pytest

from jupyter_xtrack.store import Store, UnknownRunError
from jupyter_xtrack.store.metrics import CHUNK_MAX, MERGE_BELOW


def test_nan_and_infinities_round_trip_exactly(store: Store) -> None:
    run_id, _ = store.create_run()
    odd_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0123))[0]
    values = [1.5, math.nan, math.inf, -math.inf, odd_nan, -0.0]
    store.log_metrics([(run_id, "x", v, i, 10.0 + i) for i, v in enumerate(values)])
    got = store.metric_history(run_id, "x")["value"]
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in values]
    store.log_metrics(
        [(run_id, "last_nan", math.nan, 0, 1.0), (run_id, "last_inf", -math.inf, 0, 1.0)]
    )
    last = store.get_run(run_id)["metrics"]
    assert math.isnan(last["last_nan"]) and last["last_inf"] == -math.inf
    assert store.query_runs().columns["metrics.last_inf"] == [-math.inf]
    assert math.isnan(store.query_runs().columns["metrics.last_nan"][0])


def test_history_keeps_logged_order_across_batches_and_keys(store: Store) -> None:
    a, _ = store.create_run()
    b, _ = store.create_run()
    store.log_metrics(
        [
            (a, "loss", 3.0, 0, 1.0),
            (b, "loss", 30.0, 0, 1.0),
            (a, "acc", 0.1, 0, 1.0),
            (a, "loss", 2.0, 1, 2.0),
            (b, "loss", 20.0, None, 2.0),
        ]
    )
    store.log_metrics([(a, "loss", 1.0, 2, 3.0)])
    assert store.metric_history(a, "loss") == {
        "step": [0, 1, 2],
        "value": [3.0, 2.0, 1.0],
        "time": [1.0, 2.0, 3.0],
    }
    assert store.metric_history(b, "loss") == {
        "step": [0, None],
        "value": [30.0, 20.0],
        "time": [1.0, 2.0],
    }
    assert store.metric_keys(a) == ["acc", "loss"]
    assert store.metric_history(a, "never") == {"step": [], "value": [], "time": []}


def test_last_value_is_highest_step_then_latest_time(store: Store) -> None:
    run_id, _ = store.create_run()
    store.log_metrics([(run_id, "m", 5.0, 10, 1.0), (run_id, "m", 1.0, 3, 9.0)])
    assert store.get_run(run_id)["metrics"]["m"] == 5.0
    store.log_metrics([(run_id, "m", 2.0, 4, 20.0)])  # lower step arriving later
    assert store.get_run(run_id)["metrics"]["m"] == 5.0
    store.log_metrics([(run_id, "m", 7.0, 10, 2.0)])  # same step, later time
    assert store.get_run(run_id)["metrics"]["m"] == 7.0
    store.log_metrics([(run_id, "t", 1.0, None, 5.0), (run_id, "t", 2.0, None, 4.0)])
    assert store.get_run(run_id)["metrics"]["t"] == 1.0
    store.log_metrics([(run_id, "u", 1.0, None, 5.0), (run_id, "u", 2.0, None, 5.0)])
    assert store.get_run(run_id)["metrics"]["u"] == 2.0, "ties go to the point logged last"


def test_long_histories_span_chunks_and_small_batches_merge(store: Store) -> None:
    run_id, _ = store.create_run()
    n = CHUNK_MAX * 2 + 10
    store.log_metrics([(run_id, "big", float(i), i, float(i)) for i in range(n)])
    for i in range(20):  # one point per "cell": merged into few chunk rows
        store.log_metrics([(run_id, "slow", float(i), i, float(i))])
    hist = store.metric_history(run_id, "big")
    assert hist["value"] == [float(i) for i in range(n)] and hist["step"] == list(range(n))
    assert store.metric_history(run_id, "slow")["value"] == [float(i) for i in range(20)]
    conn = store._conn()
    chunks = dict(conn.execute("SELECT key, count(*) FROM metric_chunks GROUP BY key").fetchall())
    assert chunks["big"] == 3 and chunks["slow"] == 1
    assert MERGE_BELOW > 20


def test_unknown_run_writes_nothing(store: Store) -> None:
    run_id, _ = store.create_run()
    with pytest.raises(UnknownRunError, match="f{32}"):
        store.log_metrics([(run_id, "m", 1.0, 0, 1.0), ("f" * 32, "m", 1.0, 0, 1.0)])
    assert store.metric_history(run_id, "m")["value"] == []


def test_non_numbers_are_refused(store: Store) -> None:
    run_id, _ = store.create_run()
    with pytest.raises(TypeError, match="metric 'm' value 'high' is not a number"):
        store.log_metrics([(run_id, "m", "high", 0, 1.0)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="tuples"):
        store.log_metrics([(run_id, "m", 1.0)])  # type: ignore[list-item]


def test_numpy_and_int_values_are_accepted(store: Store) -> None:
    import numpy as np

    run_id, _ = store.create_run()
    store.log_metrics(
        [(run_id, "m", np.float32(0.5), np.int64(3), time.time()), (run_id, "m", 2, 4, time.time())]
    )  # type: ignore[list-item]
    assert store.metric_history(run_id, "m")["value"] == [0.5, 2.0]
