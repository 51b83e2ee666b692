"""Experiments recorded beyond their runs (created through MLflow's API before any run,
tagged, deleted) travel with a push: once, then only their new tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.sync import sync_runs
from tests.store.conftest import open_quietly

pytestmark = pytest.mark.filterwarnings("ignore:store .* keeps its blobs:RuntimeWarning")


def test_recorded_experiments_are_copied_once_then_their_new_tags(
    tmp_path: Path, team_location: str
) -> None:
    with open_store(tmp_path / "local") as local, open_quietly(team_location) as team:
        local.add_experiment("planned", tags={"goal": "auc"}, created_at=10.0, updated_at=20.0)
        local.add_experiment("dropped", deleted=True)
        run_id, _ = local.create_run(experiment="tagged")
        local.finish_run(run_id, status="finished")
        local.update_experiment("tagged", tags={"owner": "carol"})
        summary = sync_runs(local, team, "experiment = 'tagged'")
        assert summary.experiments == 1  # only the selected runs' experiment
        assert set(team.experiments()) == {"tagged"}
        summary = sync_runs(local, team)
        assert summary.experiments == 2
        assert "experiments: 2 recorded or tagged" in str(summary)
        assert team.experiments() == local.experiments()
        assert sync_runs(local, team).experiments == 0
        local.update_experiment("planned", tags={"goal": "f1"})
        team.update_experiment("dropped", deleted=False)  # the team restored it
        assert sync_runs(local, team).experiments == 1
        found = team.experiments()
        assert found["planned"]["tags"] == {"goal": "f1"}
        assert not found["dropped"]["deleted"]
