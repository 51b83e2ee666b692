"""`xtrack worker SWEEP`: this process joins a running sweep, from any machine that reaches
its run store and study storage. It reads the sweep's plan from the store and runs trials
(ask and tell on the shared study) until the sweep has its number of trials, is stopped,
or this worker's trials failed `max_failures` times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...tracking.session import CONTEXT
from .plan import load_plan
from .remote import (
    ASKED_ATTR,
    attach_store,
    claim,
    load_study,
    reap_crashed,
    run_trial,
    stop_signal,
    worker_name,
)
from .storage import store_location


@dataclass
class JoinReport:
    """What this worker did: its trials by outcome, and why it stopped."""

    sweep: str
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = "the sweep has its trials"


def join_sweep(
    ref: str | int, store: str | None = None, say: Callable[[str], None] = print
) -> JoinReport:
    """Run trials of sweep run `ref` (number, id or prefix) in the run store `store`
    (default: this process's, `XTRACK_STORE` or the repository's `.xtrack/`)."""
    if store is not None:
        attach_store(store)
    plan = load_plan(CONTEXT.store(), ref)
    # Trials go where the sweep was found: the kernel's path to a shared folder may not be
    # this machine's, and a journal beside that folder moves with it.
    here = store_location()
    if plan.study_location == plan.store_location:
        plan.study_location = here
    plan.store_location = here
    study = load_study(plan, sampling=True)
    stop = stop_signal(plan.parent_id)
    report = JoinReport(plan.study_name)
    say(f"joined sweep {plan.study_name} ({plan.trials} trials, {plan.space.describe()})")
    failed = 0
    me = worker_name()
    while True:
        if stop():
            report.reason = "the sweep was stopped"
            break
        reap_crashed(study)
        trial = claim(study, plan)
        if trial is None:
            break
        trial.set_user_attr(ASKED_ATTR, me)  # so others can tell when this process dies
        out = run_trial(plan, trial.number, me, trial=trial)
        state = str(out["state"])
        report.counts[state] = report.counts.get(state, 0) + 1
        value = "" if out["value"] is None else f" {plan.metric or 'value'}={out['value']:.6g}"
        say(f"trial {trial.number}: {state}{value}")
        failed += state == "failed"
        if failed >= plan.max_failures:
            report.reason = f"{failed} of this worker's trials failed"
            break
    CONTEXT.flush()
    return report
