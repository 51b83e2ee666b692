"""A sweep in the kernel that `xtrack worker`s join.

A sweep started without workers runs its trials in the kernel and keeps no plan: what a
joiner needs (the objective, a cell's with the variables it reads) is pickled only when one
asks for it, so a sweep that nobody joins pays one read of a tag every POLL_S. `xtrack
worker` sets the sweep run's JOIN_TAG (`plan.load_plan`); between two trials the kernel
reads it, stores the plan as a sweep on workers does, and from then on:

- asks the study for its own trials as workers do (`remote.Claimer`), so the sweep's number
  counts the trials of every process, and a place that a crashed trial freed is taken again;
- follows the joiners' trials into its records and live view (`follow.Follower`), their
  failures counting towards `max_failures`, and ends the trials of joiners that died;
- at its end waits for the joiners' running trials before the sweep run ends (its end is
  what stops every worker), and gives their runs the sweep run's context.

An objective that cannot be pickled is refused: the tag then says why, and the joiner says
so and stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...tracking import inherit
from ...tracking.session import CONTEXT
from .follow import FOLLOW_S, Follower
from .plan import JOIN_TAG, REFUSED, SweepPlan, make_plan, store_plan
from .remote import Claimer, counts, reap_crashed, worker_name

if TYPE_CHECKING:
    import optuna

    from ...tracking.search_runs import TrackedRun
    from .config import SweepConfig
    from .objective import Objective

POLL_S = 0.5  # how often a sweep in the kernel reads whether a worker asked to join
REAP_S = 2.0  # how often, once joined, it looks for trials of joiners that died


class HandOver:
    """A sweep in the kernel, as `xtrack worker`s may join it (see the module)."""

    def __init__(self, cfg: SweepConfig, objective: Objective, study: optuna.Study,
                 parent: TrackedRun, follower: Follower) -> None:
        self.cfg = cfg
        self.objective = objective
        self.study = study
        self.parent = parent
        self.follower = follower
        self.started = time.time()  # the sweep's timeout counts from here, joiners' too
        self.plan: SweepPlan | None = None  # once handed over
        self.claim: Claimer | None = None
        self._asked = False  # a joiner's request was answered (handed over or refused)
        self._next_poll = 0.0
        self._next_reap = 0.0

    @property
    def joined(self) -> bool:
        return self.plan is not None

    def poll(self) -> None:
        """Between two trials: hand the plan over when a worker asked for it."""
        if self._asked:
            return
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + POLL_S
        try:
            asked = CONTEXT.store().get_tag(self.parent.id, JOIN_TAG)
        except Exception:  # noqa: BLE001 - not in the store yet, or busy: ask again later
            return
        if asked and not asked.startswith(REFUSED):
            self._asked = True
            self._hand_over(asked)

    def _hand_over(self, asker: str) -> None:
        try:
            plan = make_plan(self.cfg, self.study, self.parent, self.objective.for_workers(),
                             started=self.started)
            CONTEXT.flush()  # the sweep run is in the store before its plan
            store_plan(CONTEXT.store(), plan)
        except Exception as exc:  # noqa: BLE001 - an objective that cannot travel
            reason = f"its objective cannot be sent to another process ({type(exc).__name__}: {exc})"
            CONTEXT.warn_once(f"sweep-join:{self.parent.id}",
                              f"sweep {self.study.study_name}: {asker} cannot join: {reason}")
            try:
                CONTEXT.store().set_tags(self.parent.id, {JOIN_TAG: REFUSED + reason})
            except Exception:  # noqa: BLE001 - the joiner then waits until the sweep ends
                pass
            return
        plan.objective = self.objective  # the kernel's own trials run it as it is
        inherit.expect_children(self.parent.id)
        self.claim = Claimer(self.study, plan, worker_name())
        self.plan = plan

    def follow(self) -> bool:
        """Once joined, after each of the kernel's trials: the joiners' trials into the
        records, and the trials of joiners that died ended. Whether the records changed."""
        plan = self.plan
        if plan is None:
            return False
        trials = self.study.get_trials(deepcopy=False)
        if time.monotonic() >= self._next_reap:
            self._next_reap = time.monotonic() + REAP_S
            if reap_crashed(self.study, plan, None, trials):
                trials = self.study.get_trials(deepcopy=False)
        return self.follower.update(plan, trials)

    def wait_for_joiners(self, check: Callable[[], None], report: Callable[[], None]) -> bool:
        """The kernel asked for its last trial: wait while joiners run theirs. True when the
        sweep is over; False when trials that crashed freed places the kernel may take.
        `check()` raises when the sweep is stopped; `report()` shows progress."""
        plan = self.plan
        assert plan is not None
        from optuna.trial import TrialState

        while True:
            check()
            self._next_reap = 0.0
            if self.follow():
                report()
            trials = self.study.get_trials(deepcopy=False)
            counted = sum(1 for t in trials if counts(t))
            if counted < plan.trials and (plan.deadline is None or time.time() < plan.deadline):
                return False
            if not any(t.state == TrialState.RUNNING for t in trials):
                return True
            time.sleep(FOLLOW_S)
