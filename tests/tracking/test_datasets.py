"""tracking/datasets.py: fingerprints of the state the cell left, on real arrays."""

from __future__ import annotations

import threading

import numpy as np

from jupyter_xtrack.capture.fingerprint import fingerprint
from jupyter_xtrack.tracking import datasets
from jupyter_xtrack.tracking.datasets import INLINE_BYTES, LATE_WARNING, settle, take


def _hash(obj: object) -> str:
    fp = fingerprint(obj, "x")
    assert fp is not None and fp["hash"]
    return fp["hash"]


def test_small_objects_are_fingerprinted_before_take_returns() -> None:
    small = np.arange(10.0)
    expected = _hash(small)
    taken = take([("small", small), ("not data", [1, 2])])
    small += 1  # the next statement, with no settle() in between
    assert [(d["name"], d["hash"]) for d in taken.result()] == [("small", expected)]


def test_large_objects_are_done_by_settle_in_their_order() -> None:
    big = np.ones(INLINE_BYTES // 8 + 1)
    small = np.zeros(3)
    expected = [_hash(small), _hash(big), _hash(small)]
    taken = take([("a", small), ("big", big), ("c", small)])
    settle()
    big[0] = 5  # only after settle(): the fingerprint is already of the state before
    assert [d["hash"] for d in taken.result()] == expected
    assert [d["name"] for d in taken.result()] == ["a", "big", "c"]
    assert not datasets._pending  # nothing left for the next cell to wait for


def test_without_defer_everything_is_hashed_at_once() -> None:
    big = np.ones(INLINE_BYTES // 8 + 1)
    expected = _hash(big)
    taken = take([("big", big)], defer=False)
    big[0] = 5
    assert [d["hash"] for d in taken.result()] == [expected]


def test_fingerprints_still_running_after_the_timeout_are_marked_late() -> None:
    # keep the workers busy, so the job is still queued when settle() gives up
    release = threading.Event()
    blockers = [datasets.pool().submit(release.wait) for _ in range(2)]
    big = np.ones(INLINE_BYTES // 8 + 1)
    taken = take([("big", big)])
    settle(timeout=0.05)
    release.set()
    for blocker in blockers:
        blocker.result()
    [fp] = taken.result()
    assert fp["hash"] == _hash(big) and fp["warning"] == LATE_WARNING
    settle()  # and a later settle() has nothing to wait for
    assert not datasets._pending


def _busy_pool() -> tuple[threading.Event, list[object]]:
    """Both fingerprint workers held, so a job stays queued until `release` is set."""
    release = threading.Event()
    return release, [datasets.pool().submit(release.wait) for _ in range(2)]


def test_a_large_frame_does_not_hold_back_the_next_code_and_is_hashed_as_left() -> None:
    import pandas as pd

    rows = INLINE_BYTES // 8
    frame = pd.DataFrame({"a": np.arange(rows, dtype=float), "b": np.ones(rows)})
    series = pd.Series(np.arange(rows, dtype=np.int64), name="s")
    expected = [_hash(frame), _hash(series)]
    release, blockers = _busy_pool()
    try:
        taken = take([("frame", frame), ("series", series)])
        assert not datasets._pending  # settle(), before the next code, has nothing to wait for
        # the next code changes both, in place, before any worker has looked at them
        frame.iloc[0, 0] = -1.0
        frame["b"] += 1
        frame["c"] = 0
        series.iloc[:10] = 7
    finally:
        release.set()
    for blocker in blockers:
        blocker.result()  # type: ignore[attr-defined]
    assert [d["hash"] for d in taken.result()] == expected
    assert _hash(frame) != expected[0] and _hash(series) != expected[1]


def test_frames_of_objects_and_arrays_still_wait_for_settle() -> None:
    import pandas as pd

    rows = INLINE_BYTES // 8
    objects = pd.DataFrame({"o": np.array([[i] for i in range(rows)] + [None], dtype=object)[:-1]})
    array = np.ones(rows + 1)
    taken = take([("objects", objects), ("array", array)])
    assert datasets.frozen_copy(objects) is None and datasets.frozen_copy(array) is None
    assert datasets._pending
    settle()
    assert not datasets._pending and len(taken.result()) == 2
