"""A sweep as other processes run it: the `SweepPlan` sent to Dask workers and stored with
the sweep run, from which `xtrack worker SWEEP_ID` joins the sweep from any machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import SweepError

if TYPE_CHECKING:
    from ...store.contract import RunStore
    from ..space import Space
    from .objective import Objective

# The sweep run's artifact holding its cloudpickled plan (objective included).
PLAN_ARTIFACT = "xtrack-sweep-plan.pkl"


@dataclass
class SweepPlan:
    """Everything a worker needs to run trials of a sweep: where its study and its run
    store are, its parent run and where that ran, what the trials optimise, and how."""

    study_name: str
    study_location: str  # a store folder or journal file, or a PostgreSQL URL
    store_location: str  # where the trial runs go: the kernel's store
    parent_id: str
    notebook_path: str | None
    cell_id: str | None
    experiment: str | None
    metric: str | None
    sampler: str
    pruner: str
    trials: int
    max_failures: int
    space: Space
    objective: Objective
    # The study's key from which trial run ids derive (`result.trial_run_id`).
    run_key: str = ""
    # When no trial may start any more (Unix time, from the sweep's timeout), or None.
    deadline: float | None = None
    # Where the kernel's store keeps its blobs when elsewhere (XTRACK_ARTIFACTS), or None.
    artifacts: str | None = None
    # The sweep's seed: the kernel's loop k samples with seed + k (loop 0 draws as the sweep
    # would in the kernel); `xtrack worker` loops sample unseeded. None: all unseeded.
    seed: int | None = None

    def distributions(self) -> dict[str, Any]:
        return self.space.distributions()

    def fixed(self) -> dict[str, Any]:
        return dict(self.space.fixed)


def store_plan(store: RunStore, plan: SweepPlan) -> None:
    """Keep `plan` (cloudpickled) as an artifact of its sweep run, for `xtrack worker`."""
    import cloudpickle  # lazy: only sweeps on workers store a plan

    data = cloudpickle.dumps(plan)
    blob = store.put_blob(data)
    store.add_artifact(
        plan.parent_id,
        PLAN_ARTIFACT,
        blob=blob,
        size=len(data),
        media_type="application/vnd.python.pickle",
    )


def load_plan(store: RunStore, ref: str | int) -> SweepPlan:
    """The plan of sweep run `ref` (its number, id or prefix). SweepError when `ref` is no
    sweep, or one started without workers (it has no plan to join)."""
    import cloudpickle  # lazy: see store_plan

    run = store.get_run(ref)
    if run.get("kind") != "sweep":
        raise SweepError(f"run #{run['number']} is a {run.get('kind')} run, not a sweep")
    found = [a for a in store.artifacts(run["id"]) if a.get("name") == PLAN_ARTIFACT]
    if not found:
        raise SweepError(
            f"sweep #{run['number']} was started without workers, so it has no plan to join; "
            "start it with --workers N (or workers=...)"
        )
    try:
        plan = cloudpickle.loads(store.get_blob(found[-1]["hash"]))
    except Exception as exc:  # noqa: BLE001 - a missing module or another Python
        raise SweepError(
            f"cannot load sweep #{run['number']}'s objective here ({type(exc).__name__}: "
            f"{exc}); install what it imports, with the same Python version"
        ) from None
    if not isinstance(plan, SweepPlan):
        raise SweepError(f"sweep #{run['number']}'s plan is not one this version can run")
    return plan
