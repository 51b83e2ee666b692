"""Whether the kernel is running the user's code, for work that should wait until it is not.

Turning a run card into its widget sends a comm open, the widget's state and a display
update, and the first time imports anywidget and ipywidgets: 10-20 ms of GIL and messaging
that, done while the next cell of a Run All runs, is paid by that cell. The kernel hooks
report here when a cell starts and ends (`kernel/hooks.py`), and the card thread waits for
`wait_quiet()`: no code for `QUIET_S` (Run All sends the next cell within milliseconds of
the last reply, a person takes longer), or a cell running for `LONG_CELL_S` already, whose
time those milliseconds no longer change. Outside a kernel nothing reports: always quiet.
Work that costs more than milliseconds (the first widget imports anywidget and ipywidgets:
~100 ms of GIL-held imports) waits for `wait_idle()` instead: no cell for `IDLE_S`.
"""

from __future__ import annotations

import time

__all__ = ["IDLE_S", "LONG_CELL_S", "QUIET_S", "KernelActivity", "KERNEL"]

QUIET_S = 0.3
LONG_CELL_S = 2.0
# Idle: no cell for this long. Longer than QUIET_S: Run All can leave a gap of a few tenths
# of a second between cells (the front end handling a large figure), which a 100 ms import
# started in it would spill over into the next cell.
IDLE_S = 1.0


class KernelActivity:
    """When the running cell started (None: none runs) and when code last ran. Written by
    the kernel's main thread, read by the card thread: one tuple, swapped whole, no lock
    (a lock would be one more GIL hand-off on the cell's path)."""

    def __init__(self) -> None:
        self._state: tuple[float | None, float] = (None, time.monotonic() - QUIET_S)

    def cell_started(self) -> None:
        now = time.monotonic()
        self._state = (now, now)

    def cell_ended(self) -> None:
        self._state = (None, time.monotonic())

    def code_ran(self) -> None:
        """A silent execute or any code outside a cell: not idle just now."""
        running, _ = self._state
        self._state = (running, time.monotonic())

    def quiet_at(self, long_cell_s: float | None = None) -> float:
        """The monotonic time from which the kernel counts as quiet, as things stand (a
        cell running for `long_cell_s`, default `LONG_CELL_S`, counts as quiet)."""
        running, last = self._state
        if running is None:
            return last + QUIET_S
        return running + (LONG_CELL_S if long_cell_s is None else long_cell_s)

    def idle_at(self) -> float | None:
        """The monotonic time from which no cell has run for `IDLE_S`; None while one runs."""
        running, last = self._state
        return None if running is not None else last + IDLE_S

    def wait_idle(self, timeout: float) -> bool:
        """As `wait_quiet`, but a long cell does not count as quiet: for work whose cost
        would show even in a cell of seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            due = self.idle_at()
            if due is not None and now >= due:
                return True
            if now >= deadline:
                return False
            time.sleep(max(0.0, min(deadline, now + QUIET_S, due or deadline) - now))

    def wait_quiet(self, timeout: float, long_cell_s: float | None = None) -> bool:
        """Return True once the kernel is quiet, False after `timeout` seconds if it never
        was. Looks again at least every `QUIET_S`: a cell that started moves the moment
        later, one that ended moves it earlier (nothing on the cell's path wakes us).
        `long_cell_s`: how long a cell must have run to count as quiet (`LONG_CELL_S`)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            due = self.quiet_at(long_cell_s)
            if now >= due:
                return True
            if now >= deadline:
                return False
            time.sleep(min(due, deadline, now + QUIET_S) - now)


KERNEL = KernelActivity()  # the one kernel this process is
