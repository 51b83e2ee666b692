"""Where a sweep's study lives, chosen from a location (a store folder, a journal file, a
PostgreSQL URL), and `--workers` mistakes refused before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.optimize.sweep.storage import open_storage, sqlalchemy_url, storage_path


def test_a_store_folder_keeps_its_studies_in_a_journal_beside_it(tmp_path: Path) -> None:
    import optuna

    folder = tmp_path / "store"
    folder.mkdir()
    optuna.create_study(study_name="s", storage=open_storage(str(folder)))
    assert (folder / "optuna.journal").is_file()
    assert storage_path(str(folder)) == str(folder / "optuna.journal")
    # The journal's own path (as SweepResult keeps it) opens the same studies.
    again = open_storage(str(folder / "optuna.journal"))
    assert [s.study_name for s in again.get_all_studies()] == ["s"]


def test_a_postgresql_location_keeps_studies_in_an_optuna_schema(pg_url: str) -> None:
    import optuna
    import psycopg

    storage = open_storage(pg_url)
    assert open_storage(pg_url) is storage  # one per URL and process
    assert storage_path(pg_url) == pg_url
    study = optuna.create_study(study_name="team", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with psycopg.connect(pg_url) as conn:
        schemas = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables "
                "WHERE table_name IN ('studies', 'trials', 'version_info')"
            )
        }
    assert schemas == {"optuna"}  # none of Optuna's tables among the run store's
    loaded = optuna.load_study(
        study_name="team",
        storage=optuna.storages.RDBStorage(
            sqlalchemy_url(pg_url),
            engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}},
        ),
    )
    assert len(loaded.trials) == 2


def test_sqlalchemy_url_names_the_psycopg_driver() -> None:
    assert sqlalchemy_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_workers_that_name_no_cluster_are_refused_before_the_sweep(shell: Any) -> None:
    ran = shell.run_cell(
        '%%track --sweep "x=uniform(0, 1)" --trials 2 --workers lots\ntouched = True\nx'
    )
    assert not ran.success
    assert "touched" not in shell.user_ns
    assert "--workers 'lots'" in str(ran.error_in_exec)
    assert not (Path.cwd() / ".xtrack" / "xtrack.db").exists()  # no sweep run was opened


def test_a_sweep_on_workers_needs_a_count_an_address_or_a_client(store_dir: Path) -> None:
    from jupyter_xtrack.optimize.cluster import WorkersError
    from jupyter_xtrack.optimize.sweep import sweep

    with pytest.raises(WorkersError, match="workers=N needs N >= 1"):
        sweep(lambda x: x, "x=uniform(0, 1)", trials=1, show=False, workers=0)
    with pytest.raises(WorkersError, match="a scheduler address"):
        sweep(lambda x: x, "x=uniform(0, 1)", trials=1, show=False, workers=2.5)
    assert not (store_dir / "xtrack.db").exists()  # refused before any sweep run


def test_best_finds_a_study_placed_elsewhere_through_its_sweep_run(
    store_dir: Path, tmp_path: Path
) -> None:
    import jupyter_xtrack as xt
    from jupyter_xtrack.optimize.sweep import best, sweep
    from jupyter_xtrack.optimize.sweep.config import SweepError

    elsewhere = tmp_path / "studies"
    elsewhere.mkdir()
    result = sweep(
        lambda x: -abs(x - 3),
        "x=grid(1, 3, 5)",
        trials=3,
        name="far",
        show=False,
        storage=str(elsewhere),
    )
    xt.flush()
    assert (elsewhere / "optuna.journal").is_file()
    assert not (store_dir / "optuna.journal").exists()  # nothing of it in the default place
    run = xt.get_run(result.run_id or "")
    assert run.tags["xtrack.sweep.storage"] == str(elsewhere / "optuna.journal")
    assert best("far").params == {"x": 3}  # by study name: through the sweep run's tag
    assert best(run.number).params == {"x": 3}
    assert best("far", storage=str(elsewhere)).run_id == result.best.run_id  # type: ignore[union-attr]
    with pytest.raises(SweepError, match="not a sweep name"):
        best("near")


def test_a_database_storage_is_recorded_without_its_password() -> None:
    from jupyter_xtrack.optimize.sweep.storage import storage_tag

    tag = storage_tag("postgresql://team:s3cret-pw@db.example:5433/xtrack")
    assert tag == {"xtrack.sweep.storage": "postgresql://team@db.example:5433/xtrack"}
    assert storage_tag(None) == {}
