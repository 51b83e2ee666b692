"""A sweep's study on PostgreSQL creates its trials in one pipelined transaction
(`optimize/sweep/rdb.py`): Optuna's rows and numbering, whoever creates them at once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from jupyter_xtrack.optimize.sweep.storage import open_storage, sqlalchemy_url


def _optuna_storage(pg_url: str) -> Any:
    """Optuna's own `RDBStorage` on the sweep's schema, as a plain Optuna user opens it."""
    import optuna

    return optuna.storages.RDBStorage(
        sqlalchemy_url(pg_url), engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}}
    )


def _create_many(pg_url: str, name: str, count: int, optunas_own: bool) -> list[int]:
    """In a process of its own: `count` trials created in study `name`; their ids."""
    import optuna

    storage = _optuna_storage(pg_url) if optunas_own else open_storage(pg_url)
    study = optuna.load_study(study_name=name, storage=storage)
    return [study.ask()._trial_id for _ in range(count)]


def test_trials_created_at_once_by_many_clients_are_numbered_as_optuna_numbers_them(
    pg_url: str,
) -> None:
    import optuna
    import psycopg

    optuna.create_study(study_name="s", storage=open_storage(pg_url))
    # Four processes at once, one of them plain Optuna's code: 4 x 40 creations race for
    # the study's lock. Started fresh, as Dask starts its workers (a forked child would
    # share this process's pooled connections).
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = [pool.submit(_create_many, pg_url, "s", 40, optunas_own=(i == 0)) for i in range(4)]
        ids = [trial_id for part in parts for trial_id in part.result()]
    assert len(set(ids)) == 160
    with psycopg.connect(pg_url, options="-csearch_path=optuna") as conn:
        rows = conn.execute(
            "SELECT trial_id, number, state FROM trials ORDER BY trial_id"
        ).fetchall()
    # Numbers 0..159, each once, in the order of creation (a trial's number is the count of
    # the study's trials before it), every trial running.
    assert [number for _, number, _ in rows] == list(range(160))
    assert {state for _, _, state in rows} == {"RUNNING"}


def test_a_created_trial_reads_back_as_optunas_own_do(pg_url: str) -> None:
    import optuna
    from optuna.trial import TrialState

    study = optuna.create_study(study_name="s", storage=open_storage(pg_url))
    asked = study.ask()
    asked.suggest_float("x", 0, 1)
    study.tell(asked, 0.5)
    mine = study.trials[0]
    # What Optuna's own storage reads of it: every field a trial it made itself would have.
    theirs = optuna.load_study(study_name="s", storage=_optuna_storage(pg_url)).trials[0]
    assert (theirs.number, theirs.state, theirs.value) == (0, TrialState.COMPLETE, 0.5)
    assert theirs.params == mine.params and theirs.params.keys() == {"x"}
    assert theirs.datetime_start == mine.datetime_start is not None
    assert theirs.datetime_complete is not None


def test_the_creation_does_not_take_optunas_orm_path(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna
    from optuna.storages import RDBStorage

    study = optuna.create_study(study_name="s", storage=open_storage(pg_url))

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a plain trial created through Optuna's ORM statements")

    monkeypatch.setattr(RDBStorage, "_get_prepared_new_trial", refused)
    assert study.ask().number == 0
    assert study.ask().number == 1


def test_a_trial_from_a_template_takes_optunas_path_and_keeps_the_numbering(
    pg_url: str,
) -> None:
    import optuna

    study = optuna.create_study(study_name="s", storage=open_storage(pg_url))
    study.ask()
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 0.25},
            distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            value=1.0,
        )
    )
    study.ask()
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert study.trials[1].params == {"x": 0.25}


def test_a_missing_study_is_a_key_error_as_in_optuna(pg_url: str) -> None:
    storage = open_storage(pg_url)
    with pytest.raises(KeyError, match="No study with study_id 4242"):
        storage.create_new_trial(4242)
    # The failure left the pool's connections usable.
    import optuna

    assert optuna.create_study(study_name="after", storage=storage).ask().number == 0


def test_a_creation_refused_by_a_lock_timeout_is_tried_again(pg_url: str) -> None:
    import threading

    import optuna
    import psycopg

    # A team database whose administrator bounds lock waits, as Optuna's retries expect.
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '200ms'")
    storage = open_storage(pg_url)
    study = optuna.create_study(study_name="s", storage=storage)
    holder = psycopg.connect(pg_url, options="-csearch_path=optuna")
    holder.execute("SELECT 1 FROM studies FOR UPDATE")  # another client holds the lock
    release = threading.Timer(0.5, holder.commit)
    release.start()
    try:
        assert study.ask().number == 0  # refused at least once (0.2 s), then created
    finally:
        release.join()
        holder.close()
    assert [t.number for t in study.trials] == [0]
