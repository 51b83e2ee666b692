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
