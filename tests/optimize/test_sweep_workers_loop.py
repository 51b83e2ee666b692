"""Workers that ask for their own trials (`remote.run_trials`): what they write to the study
per trial (what plain Optuna writes, nothing more), the trial runs' derived ids, who asked
each trial, the sweep's number kept across loops (`Claimer`), the trials of dead workers
ended (`reap_crashed`), the sweep's timeout, and the kernel's blob location on workers."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.space import parse_space
from jupyter_xtrack.optimize.sweep import SweepResult, sweep
from jupyter_xtrack.optimize.sweep.plan import SweepPlan
from jupyter_xtrack.optimize.sweep.remote import Claimer, mark_crashed, reap_crashed
from jupyter_xtrack.optimize.sweep.result import (
    ASKED_ATTR,
    RUN_ATTR,
    RUN_KEY_ATTR,
    STATE_ATTR,
    trial_run_id,
)
from jupyter_xtrack.optimize.sweep.storage import open_storage
from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.ids import new_run_id
from tests.optimize.conftest import dask_client

distributed = pytest.importorskip("distributed", reason="pip install 'jupyter_xtrack[teams]'")




def steady(x: float, y: float) -> float:
    """Logs its value at two steps, returns it."""
    for step in range(2):
        xt.log(score=x + y, step=step)
        time.sleep(0.02)
    return x + y


def sleepy(x: float) -> float:
    time.sleep(0.2)
    return x


def broken(x: float) -> float:
    raise ValueError(f"no good: {x}")


def with_artifact(x: float) -> float:
    path = Path(tempfile.mkdtemp()) / "point.txt"
    path.write_text(str(x))
    xt.log_artifact(str(path))
    return x


@pytest.mark.slow
def test_workers_ask_for_their_trials_and_write_nothing_more_per_trial(
    store_dir: Path, client: Any
) -> None:
    result = sweep(
        steady,
        "x=uniform(0, 1); y=uniform(0, 1)",
        trials=8,
        metric="score",
        show=False,
        workers=client,
    )
    assert isinstance(result, SweepResult) and result.state == "finished"
    assert [t.state for t in result.trials] == ["complete"] * 8
    study = result.study()
    key = study.user_attrs[RUN_KEY_ATTR]
    workers = set(client.scheduler_info()["workers"])
    store = open_store(store_dir)
    by_number = {t.number: t for t in study.trials}
    for record in result.trials:
        frozen = by_number[record.number]
        assert frozen.user_attrs[ASKED_ATTR] in workers  # a worker asked, not the kernel
        assert RUN_ATTR not in frozen.user_attrs  # the run's id is derived, not stored
        assert record.run_id == trial_run_id(key, record.number)
        run = store.get_run(record.run_id)
        assert run["parent_id"] == result.run_id and run["status"] == "finished"
        assert run["tags"]["xtrack.worker"] == frozen.user_attrs[ASKED_ATTR]
    # Per trial, the journal holds what plain Optuna writes (the trial, its params, its
    # intermediate values, its end); user attrs only for the surplus trials that each loop
    # asks for once the sweep has its number, and which never run.
    journal = Path(result.storage_path or "")
    ops = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    id_of = {t._trial_id: t for t in study.trials}
    attr_writes = [op for op in ops if op["op_code"] == 8]  # SET_TRIAL_USER_ATTR
    assert len(attr_writes) <= 2
    for op in attr_writes:
        surplus = id_of[op["trial_id"]]
        assert surplus.user_attrs[STATE_ATTR] == "surplus"
        assert surplus.number not in {r.number for r in result.trials}


def _plan(store_dir: Path, parent_id: str, trials: int) -> SweepPlan:
    return SweepPlan(
        study_name="s",
        study_location=str(store_dir),
        store_location=str(store_dir),
        parent_id=parent_id,
        notebook_path=None,
        cell_id=None,
        experiment=None,
        metric=None,
        sampler="random",
        pruner="none",
        trials=trials,
        max_failures=3,
        space=parse_space({"x": "uniform(0, 1)", "k": 1}),
        objective=None,  # type: ignore[arg-type]  # not run here
        run_key=new_run_id(),
    )


@pytest.fixture
def journal_study(store_dir: Path) -> Any:
    import optuna

    open_store(store_dir)  # the folder the journal goes in
    return optuna.create_study(study_name="s", storage=open_storage(str(store_dir)))


def test_a_trial_past_the_sweeps_number_is_surplus_and_a_crash_frees_a_place(
    store_dir: Path, journal_study: Any
) -> None:
    parent, _ = open_store(store_dir).create_run(kind="sweep", name="sweep")
    plan = _plan(store_dir, parent, trials=3)
    first, second = Claimer(journal_study, plan, "a"), Claimer(journal_study, plan, "b")
    asked = [first(), second(), first()]
    assert [t.number for t in asked if t is not None] == [0, 1, 2]
    assert asked[0] is not None and asked[0].params.keys() == {"x"}
    assert second() is None  # trial 3 would be a fourth
    frozen = journal_study.trials
    assert frozen[3].user_attrs[STATE_ATTR] == "surplus" and frozen[3].state.name == "FAIL"
    assert frozen[3].params == {}  # decided before its params were drawn
    assert frozen[1].user_attrs[ASKED_ATTR] == "b"
    # Trial 1 crashes: its place is free again, for whichever loop asks next.
    mark_crashed(journal_study, frozen[1], plan)
    again = first()
    assert again is not None and again.number == 4
    assert first() is None
    assert len(journal_study.trials) == 5  # near the end, it read the study before asking


def test_a_dead_workers_trial_is_crashed_with_a_run_even_before_its_writer_made_one(
    store_dir: Path, journal_study: Any
) -> None:
    store = open_store(store_dir)
    parent, _ = store.create_run(kind="sweep", name="sweep")
    plan = _plan(store_dir, parent, trials=5)
    dead = Claimer(journal_study, plan, "tcp://127.0.0.1:1")()
    alive = Claimer(journal_study, plan, "tcp://127.0.0.1:2")()
    assert dead is not None and alive is not None
    assert reap_crashed(journal_study, plan, live={"tcp://127.0.0.1:2"}) == [dead.number]
    frozen = journal_study.trials
    assert frozen[dead.number].state.name == "FAIL"
    assert frozen[dead.number].user_attrs[STATE_ATTR] == "crashed"
    assert frozen[alive.number].state.name == "RUNNING"
    run = store.get_run(trial_run_id(plan.run_key, dead.number))
    assert run["status"] == "crashed" and run["parent_id"] == parent and run["kind"] == "trial"
    assert run["tags"]["xtrack.worker"] == "tcp://127.0.0.1:1"
    assert run["tags"]["xtrack.trial.state"] == "crashed"
    assert run["params"] == {"x": dead.params["x"], "k": 1}
    # With the scheduler unknown, a Dask worker's trial is left to the run store to judge.
    assert reap_crashed(journal_study, plan, live=None) == []


def test_trial_run_ids_are_derived_run_ids() -> None:
    key = new_run_id()
    ids = {trial_run_id(key, n) for n in range(1000)}
    assert len(ids) == 1000
    assert trial_run_id(key, 7) == trial_run_id(key, 7) != trial_run_id(new_run_id(), 7)
    for run_id in list(ids)[:50]:
        assert len(run_id) == 32 and run_id.startswith("0") and int(run_id, 16) >= 0
        assert run_id[:12] == key[:12] and run_id[12] == "7"  # UUIDv7 layout, the key's time


@pytest.mark.slow
def test_no_more_loops_than_open_places(store_dir: Path, client: Any) -> None:
    result = sweep(steady, "x=uniform(0, 1); y=uniform(0, 1)", trials=1, show=False, workers=client)
    assert isinstance(result, SweepResult) and [t.state for t in result.trials] == ["complete"]
    # Two worker threads, one trial to run: one loop, so no surplus trial was asked.
    assert len(result.study().trials) == 1


@pytest.mark.slow
def test_a_timeout_stops_the_workers_asking(store_dir: Path, client: Any) -> None:
    result = sweep(sleepy, "x=uniform(0, 1)", trials=500, timeout=1.5, show=False, workers=client)
    assert isinstance(result, SweepResult) and result.state == "finished"
    assert 2 <= len(result.trials) < 500
    assert {t.state for t in result.trials} == {"complete"}


@pytest.mark.slow
def test_failing_trials_on_every_worker_stop_the_sweep_at_max_failures(
    store_dir: Path, client: Any
) -> None:
    result = sweep(broken, "x=uniform(0, 1)", trials=40, max_failures=3, show=False, workers=client)
    assert isinstance(result, SweepResult) and result.state == "failed"
    states = [t.state for t in result.trials]
    assert states.count("failed") >= 3 and len(states) < 40
    assert set(states) <= {"failed", "interrupted"}
    xt.flush()
    run = open_store(store_dir).get_run(result.run_id or "")
    assert run["status"] == "failed" and run["tags"]["xtrack.sweep.state"] == "failed"
    failed = next(t for t in result.trials if t.state == "failed")
    assert open_store(store_dir).get_run(failed.run_id or "")["status"] == "failed"


@pytest.mark.slow
def test_workers_put_blobs_where_the_kernel_does(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers started before the kernel's XTRACK_ARTIFACTS was set: they take it from the
    # sweep, not from their own environment.
    monkeypatch.delenv("XTRACK_ARTIFACTS", raising=False)
    blobs = tmp_path / "blobs"
    with dask_client(1) as own:
        monkeypatch.setenv("XTRACK_ARTIFACTS", str(blobs))
        result = sweep(with_artifact, "x=uniform(0, 1)", trials=2, show=False, workers=own)
    assert isinstance(result, SweepResult) and len(result.trials) == 2
    store = open_store(store_dir, artifacts=str(blobs))
    for record in result.trials:
        (artifact,) = store.artifacts(record.run_id or "")
        assert artifact["name"].endswith("point.txt")
        assert store.get_blob(artifact["hash"])  # read from the kernel's blob folder
    assert any(p.is_file() for p in blobs.rglob("*"))
    local = store_dir / "blobs"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))


def plane(x: float, y: float) -> float:
    return x + y


@pytest.mark.slow
def test_a_seeded_sweep_on_one_worker_draws_what_it_draws_in_the_kernel(store_dir: Path) -> None:
    space = "x=uniform(0, 1); y=int(0, 100)"
    here = sweep(plane, space, trials=4, sampler="random", seed=7, show=False, name="here")
    with dask_client(1) as own:
        there = sweep(
            plane, space, trials=4, sampler="random", seed=7, show=False, name="there", workers=own
        )
        other = sweep(
            plane, space, trials=4, sampler="random", seed=8, show=False, name="other", workers=own
        )
    assert isinstance(there, SweepResult) and isinstance(other, SweepResult)

    def drawn(result: SweepResult) -> list[dict[str, Any]]:
        return [t.params for t in sorted(result.trials, key=lambda t: t.number)]

    assert drawn(there) == drawn(here)  # the first loop samples with the sweep's seed
    assert drawn(other) != drawn(here)


def _lock_held_at_owner_writes(storage: Any, pg_url: str) -> list[bool]:
    """For each statement on trials' user attrs sent through `storage` (an RDB
    storage), whether another client found the study's row locked (`SELECT ... FOR UPDATE
    NOWAIT` on studies from a connection of its own) just before it was sent."""
    import psycopg
    from sqlalchemy import event

    held: list[bool] = []
    engine = storage._backend.engine  # the _CachedStorage's RDBStorage
    other = psycopg.connect(pg_url, options="-csearch_path=optuna")

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "trial_user_attributes" not in statement:
            return
        try:
            other.execute("SELECT 1 FROM studies FOR UPDATE NOWAIT")
            held.append(False)
        except psycopg.errors.LockNotAvailable:
            held.append(True)
        other.rollback()

    return held


@pytest.fixture
def pg_sweep(store_dir: Path, pg_url: str) -> tuple[Any, SweepPlan]:
    """A study on PostgreSQL, and the plan of a sweep of 5 trials on it."""
    import optuna

    store = open_store(store_dir)
    study = optuna.create_study(study_name="s", storage=open_storage(pg_url))
    parent, _ = store.create_run(kind="sweep", name="sweep")
    return study, _plan(store_dir, parent, trials=5)


def test_on_postgresql_the_owner_is_written_outside_the_creation_lock(
    pg_sweep: tuple[Any, SweepPlan], pg_url: str
) -> None:
    study, plan = pg_sweep
    held = _lock_held_at_owner_writes(study._storage, pg_url)
    trial = Claimer(study, plan, "tcp://127.0.0.1:7")()
    assert trial is not None
    assert study.trials[0].user_attrs[ASKED_ATTR] == "tcp://127.0.0.1:7"
    assert held and not any(held)  # the study's row free whenever the attrs are touched


def test_a_trial_whose_loop_died_before_naming_its_owner_is_ended_after_a_heartbeat(
    pg_sweep: tuple[Any, SweepPlan],
) -> None:
    import datetime

    from optuna.trial import FrozenTrial, TrialState

    from jupyter_xtrack.optimize.sweep import remote

    study, plan = pg_sweep
    storage = study._storage

    def ownerless(age_s: float) -> int:
        """A trial as a loop killed between its creation and its owner's write leaves it."""
        started = datetime.datetime.now() - datetime.timedelta(seconds=age_s)
        template = FrozenTrial(
            number=-1, state=TrialState.RUNNING, value=None, datetime_start=started,
            datetime_complete=None, params={}, distributions={}, user_attrs={},
            system_attrs={}, intermediate_values={}, trial_id=-1,
        )  # fmt: skip
        return storage.get_trial_number_from_id(
            storage.create_new_trial(study._study_id, template_trial=template)
        )

    orphan = ownerless(remote.STALE_HEARTBEAT_S + 5)
    fresh = ownerless(0)  # may still be naming its owner
    owned = Claimer(study, plan, "tcp://127.0.0.1:7")()
    assert owned is not None
    assert reap_crashed(study, plan, live={"tcp://127.0.0.1:7"}) == [orphan]
    frozen = {t.number: t for t in study.trials}
    assert frozen[orphan].state.name == "FAIL"
    assert frozen[orphan].user_attrs[STATE_ATTR] == "crashed"
    assert frozen[fresh].state.name == "RUNNING"
    assert frozen[owned.number].state.name == "RUNNING"  # its worker lives
