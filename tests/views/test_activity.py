"""views/activity.py: when the kernel counts as quiet, from what the hooks report."""

from __future__ import annotations

import time

from jupyter_xtrack.views.activity import LONG_CELL_S, QUIET_S, KernelActivity


def test_quiet_moments_follow_the_cells() -> None:
    kernel = KernelActivity()
    assert kernel.wait_quiet(0)  # nothing ran yet: quiet at once
    before = time.monotonic()
    kernel.cell_started()
    # a running cell: quiet only once it has run LONG_CELL_S
    assert before + LONG_CELL_S <= kernel.quiet_at() <= time.monotonic() + LONG_CELL_S
    assert not kernel.wait_quiet(0)
    kernel.code_ran()  # a silent execute inside: the cell is still the one running
    assert kernel.quiet_at() <= time.monotonic() + LONG_CELL_S
    ended = time.monotonic()
    kernel.cell_ended()
    # no cell: quiet QUIET_S after the last code ran
    assert ended + QUIET_S <= kernel.quiet_at() <= time.monotonic() + QUIET_S
    assert kernel.wait_quiet(QUIET_S + 5)


def test_a_silent_execute_between_cells_postpones_the_quiet_moment() -> None:
    kernel = KernelActivity()
    kernel.cell_ended()
    time.sleep(0.01)  # the silent execute comes later than the cell's end
    before = time.monotonic()
    kernel.code_ran()
    assert kernel.quiet_at() >= before + QUIET_S


def test_a_long_cell_is_quiet_but_never_idle(monkeypatch) -> None:
    from jupyter_xtrack.views import activity

    monkeypatch.setattr(activity, "LONG_CELL_S", 0.05)
    kernel = KernelActivity()
    kernel.cell_started()
    time.sleep(0.1)
    assert kernel.wait_quiet(0)  # past LONG_CELL_S: quiet enough for milliseconds of work
    assert kernel.idle_at() is None and not kernel.wait_idle(0.2)
    kernel.cell_ended()
    assert not kernel.wait_idle(0)  # the cell just ended: idle only IDLE_S later
    assert kernel.idle_at() >= kernel.quiet_at()  # later than merely quiet
    assert kernel.wait_idle(activity.IDLE_S + 5)
