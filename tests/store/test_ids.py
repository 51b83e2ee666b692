"""Run ids: UUIDv7 layout, increasing within a process, unique."""

from __future__ import annotations

import re
import time

from jupyter_xtrack.store.ids import new_run_id


def test_ids_have_the_uuid7_layout_and_increase() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_run_id() for _ in range(5000)]  # several share a millisecond: the counter
    after = time.time_ns() // 1_000_000
    assert all(re.fullmatch(r"0[0-9a-f]{11}7[0-9a-f]{3}[89ab][0-9a-f]{15}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert before <= int(ids[0][:12], 16) <= int(ids[-1][:12], 16) <= after + 1
    # the random low 62 bits differ from id to id
    assert len({int(i, 16) & ((1 << 62) - 1) for i in ids}) == len(ids)
