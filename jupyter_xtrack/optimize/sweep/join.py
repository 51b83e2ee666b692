"""`xtrack worker SWEEP`: this process joins a running sweep, from any machine that reaches
its run store and study storage. It reads the sweep's plan from the store (a sweep in the
kernel hands it over when asked: `handover`) and runs the loop that the sweep's Dask
workers run (`remote.run_trials`: ask and tell on the shared study) until the sweep has its
number of trials, is stopped, or this worker's trials failed `max_failures` times."""

from __future__ import annotations

from collections.abc import Callable

from ...tracking.session import CONTEXT
from .plan import load_plan
from .remote import LoopReport, attach_store, run_trials, worker_name
from .result import TrialRecord
from .storage import store_location

JoinReport = LoopReport  # what this worker did: its trials by outcome, and why it stopped


def join_sweep(
    ref: str | int,
    store: str | None = None,
    say: Callable[[str], None] = print,
    seed: int | None = None,
) -> JoinReport:
    """Run trials of sweep run `ref` (number, id or prefix) in the run store `store`
    (default: this process's, `XTRACK_STORE` or the repository's `.xtrack/`), sampling
    with `seed` (default unseeded: each joiner's draws its own)."""
    if store is not None:
        attach_store(store)
    plan = load_plan(CONTEXT.store(), ref, worker_name(), say)
    # Trials go where the sweep was found: the kernel's path to a shared folder may not be
    # this machine's, and a journal beside that folder moves with it.
    here = store_location()
    if plan.study_location == plan.store_location:
        plan.study_location = here
    plan.store_location = here
    plan.artifacts = None  # blobs go where this machine's store puts them, as runs do
    say(f"joined sweep {plan.study_name} ({plan.trials} trials, {plan.space.describe()})")

    def said(record: TrialRecord) -> None:
        value = "" if record.value is None else f" {plan.metric or 'value'}={record.value:.6g}"
        say(f"trial {record.number}: {record.state}{value}")

    return run_trials(plan, on_trial=said, reap=True, seed=seed)
