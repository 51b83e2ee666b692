"""A sweep as other processes run it: the `SweepPlan` sent to Dask workers and stored with
the sweep run, from which `xtrack worker SWEEP_ID` joins the sweep from any machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import SweepError

if TYPE_CHECKING:
    import optuna

    from ...store.contract import RunStore
    from ...tracking.search_runs import TrackedRun
    from ..space import Space
    from .config import SweepConfig
    from .objective import Objective

# The sweep run's artifact holding its cloudpickled plan (objective included).
PLAN_ARTIFACT = "xtrack-sweep-plan.pkl"
# The sweep run's tag by which `xtrack worker` asks a sweep in the kernel for its plan (the
# asker's name), and by which the kernel says it cannot give one (REFUSED and why).
JOIN_TAG = "xtrack.sweep.join"
REFUSED = "refused: "
ASK_POLL_S = 0.2  # how often a joiner looks for the plan it asked for


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
    # would in the kernel); `xtrack worker` loops sample unseeded unless given `--seed`.
    # None: all unseeded.
    seed: int | None = None

    def distributions(self) -> dict[str, Any]:
        return self.space.distributions()

    def fixed(self) -> dict[str, Any]:
        return dict(self.space.fixed)


def make_plan(
    cfg: SweepConfig,
    study: optuna.Study,
    parent: TrackedRun,
    objective: Objective,
    started: float | None = None,
) -> SweepPlan:
    """The plan of the sweep `cfg` whose study and run are `study` and `parent`, with
    `objective` as other processes run it; its timeout counts from `started` (Unix time,
    default now). Draws the study's run key when it has none."""
    import time

    from ...store.location import artifacts_url
    from .storage import store_location, study_location

    return SweepPlan(
        study_name=study.study_name,
        study_location=study_location(cfg.storage),
        store_location=store_location(),
        parent_id=parent.id,
        notebook_path=parent.run.notebook_path,
        cell_id=parent.run.cell_id,
        experiment=parent.run.experiment,
        metric=cfg.metric,
        sampler=cfg.sampler,
        pruner=cfg.pruner,
        trials=cfg.trial_limit(),
        max_failures=cfg.max_failures,
        space=cfg.space,
        objective=objective,
        run_key=run_key(study),
        deadline=None if cfg.timeout is None else (started or time.time()) + cfg.timeout,
        artifacts=artifacts_url(None),
        seed=cfg.seed,
    )


def run_key(study: optuna.Study) -> str:
    """The study's run key (`result.trial_run_id`), drawn when trials are first asked for
    elsewhere and kept by a resumed sweep: one write per study, none per trial."""
    from ...store.ids import new_run_id
    from .result import RUN_KEY_ATTR

    key = study.user_attrs.get(RUN_KEY_ATTR)
    if not key:
        key = new_run_id()
        study.set_user_attr(RUN_KEY_ATTR, key)
    return str(key)


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


def load_plan(
    store: RunStore, ref: str | int, asker: str, say: Callable[[str], None] | None = None
) -> SweepPlan:
    """The plan of sweep run `ref` (its number, id or prefix). A sweep in the kernel keeps
    none until a worker asks (`handover`): `asker` asks for it and waits, while the sweep
    runs, until its kernel stores it between two trials (`say` hears that it waits).
    SweepError when `ref` is no running sweep, or its plan cannot be had or loaded here."""
    import cloudpickle  # lazy: see store_plan

    run = store.get_run(ref)
    if run.get("kind") != "sweep":
        raise SweepError(f"run #{run['number']} is a {run.get('kind')} run, not a sweep")
    found = _plan_artifact(store, run["id"])
    if found is None:
        found = _ask_for_plan(store, run, asker, say)
    try:
        plan = cloudpickle.loads(store.get_blob(found["hash"]))
    except Exception as exc:  # noqa: BLE001 - a missing module or another Python
        raise SweepError(
            f"cannot load sweep #{run['number']}'s objective here ({type(exc).__name__}: "
            f"{exc}); install what it imports, with the same Python version"
        ) from None
    if not isinstance(plan, SweepPlan):
        raise SweepError(f"sweep #{run['number']}'s plan is not one this version can run")
    return plan


def _plan_artifact(store: RunStore, run_id: str) -> dict[str, Any] | None:
    found = [a for a in store.artifacts(run_id) if a.get("name") == PLAN_ARTIFACT]
    return found[-1] if found else None


def _ask_for_plan(
    store: RunStore, run: dict[str, Any], asker: str, say: Callable[[str], None] | None
) -> dict[str, Any]:
    """Ask the kernel of sweep `run` for its plan, and wait for it while the sweep runs."""
    import time

    number, run_id = run["number"], run["id"]
    ended = f"sweep #{number} has ended: there is nothing to join"
    if run.get("status") != "running" or store.get_tag(run_id, "xtrack.sweep.state") != "running":
        raise SweepError(ended)
    _refused(number, store.get_tag(run_id, JOIN_TAG))  # an earlier joiner was told so
    store.set_tags(run_id, {JOIN_TAG: asker})
    if say is not None:
        say(f"asked sweep #{number}'s kernel for its plan: it hands it over after its current trial")
    while True:
        time.sleep(ASK_POLL_S)
        found = _plan_artifact(store, run_id)
        if found is not None:
            return found
        _refused(number, store.get_tag(run_id, JOIN_TAG))
        state = store.get_tag(run_id, "xtrack.sweep.state")
        if state != "running" or store.get_run(run_id).get("status") != "running":
            raise SweepError(ended)


def _refused(number: int, answer: str | None) -> None:
    """Raise when the kernel of sweep #`number` answered a request for its plan with a
    refusal (`answer`: its JOIN_TAG)."""
    if answer and answer.startswith(REFUSED):
        raise SweepError(f"sweep #{number} cannot be joined: {answer[len(REFUSED):]}")
