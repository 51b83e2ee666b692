"""The kernel's view of trials that other processes ask for and run (Dask workers, `xtrack
worker`s): read from the shared study, they become the sweep's records, count towards its
failures, and their runs take the sweep run's context once the sweep ends. Used by sweeps
on workers (`dispatch`) and by sweeps in the kernel that `xtrack worker`s joined
(`handover`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...tracking import inherit
from ...tracking.session import CONTEXT
from .result import STATE_ATTR, SURPLUS, TrialRecord, record_of, run_of

if TYPE_CHECKING:
    from .plan import SweepPlan

FOLLOW_S = 0.5  # how often the kernel reads the study while others run trials
SETTLE_S = 10.0  # how long the end waits for other processes' trial runs to reach the store


class Follower:
    """The sweep's `records` (shared with its loop and live view), kept up with the study:
    trials asked elsewhere are added as they appear and take their end from it."""

    def __init__(self, records: list[TrialRecord], parent_id: str) -> None:
        self.records = records
        self.parent_id = parent_id
        self.by_number: dict[int, TrialRecord] = {r.number: r for r in records}
        self.others: set[int] = set()  # trials of this sweep run asked by other processes
        self.failed = 0  # how many of those failed or crashed

    def own(self, record: TrialRecord) -> None:
        """A trial this process asked for and runs (its record is kept by its loop)."""
        self.records.append(record)
        self.by_number[record.number] = record

    def update(self, plan: SweepPlan, trials: list[Any]) -> bool:
        """From the study's `trials`: new ones become records (running or ended), running
        ones take their end. Whether anything changed."""
        from optuna.trial import TrialState

        fixed = plan.fixed()
        changed = False
        for t in trials:
            if t.state == TrialState.WAITING or t.user_attrs.get(STATE_ATTR) == SURPLUS:
                changed |= self._forget(t.number)  # seen running before it turned out surplus
                continue
            record = self.by_number.get(t.number)
            if record is None:
                record = TrialRecord(t.number, "running", {}, run_id=run_of(t, plan.run_key))
                self.records.append(record)
                self.by_number[t.number] = record
                self.others.add(t.number)
                changed = True
            if record.state != "running" or t.number not in self.others:
                continue
            record.params = {**t.params, **fixed}
            ended = record_of(t, plan.run_key)
            if ended is not None:
                record.state, record.value, record.duration_s = (
                    ended.state,
                    ended.value,
                    ended.duration_s,
                )
                self.failed += record.state in ("failed", "crashed")
                changed = True
        return changed

    def _forget(self, number: int) -> bool:
        record = self.by_number.pop(number, None)
        if record is None:
            return False
        self.records.remove(record)
        self.others.discard(number)
        return True

    def settle_runs(self, wait: bool = True) -> None:
        """The end of the sweep: the runs of trials asked elsewhere take the sweep run's
        context, once each is in the store (another process's may still be in its writer
        for a moment; without `wait`, those found now). A run never written (its process
        died first) leaves its record."""
        store = CONTEXT.store()
        wanted = {r.run_id for n, r in self.by_number.items() if n in self.others and r.run_id}
        if not wanted:
            return
        deadline = time.monotonic() + (SETTLE_S if wait else 0.0)
        found: dict[str, dict[str, Any]] = {}
        while True:
            try:
                found = store.get_runs(sorted(wanted))
            except Exception:  # noqa: BLE001 - a busy store: adopt what can be
                break
            if len(found) == len(wanted) and all(
                r.get("status") != "running" for r in found.values()
            ):
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(FOLLOW_S)
        for record in self.by_number.values():
            if record.run_id in wanted and record.run_id not in found:
                record.run_id = None  # never written: its process died first
        for run_id in found:
            facts = inherit.context_for(self.parent_id, run_id, {})
            if facts:
                CONTEXT.writer().submit(lambda s, i=run_id, f=facts: s.set_facts(i, **f))
