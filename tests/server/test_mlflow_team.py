"""MLflow's own client against a server whose store is a team's PostgreSQL database: the
same MLflow API as over a folder store, written into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.store import open_store

from .test_mlflow_api import SCENARIO, mlflow_env, run_client

pytest.importorskip("mlflow")
__all__ = ["mlflow_env"]  # the fixture, used by name


@pytest.fixture
def jp_server_config(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the store's local folder
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": pg_url, "events_poll_s": 0.05},
    }


async def test_mlflow_client_logs_into_a_postgresql_team_store(
    mlflow_env: dict[str, str], pg_url: str, tmp_path: Path
) -> None:
    out = await run_client(SCENARIO, mlflow_env, tmp_path)
    assert out["history"] == [[s, 1.0 / (s + 1)] for s in range(5)]
    assert out["downloaded"] == "hello from mlflow"
    assert out["found"] == [out["parent"]]
    with open_store(pg_url) as store:
        parent = store.get_run(out["parent"])
        assert (parent["name"], parent["experiment"]) == ("parent", "mlflow-exp")
        assert parent["params"] == {"lr": 0.01, "optimizer": "adam", "layers": 3}
        assert parent["children"] == [out["child"]]
        assert store.metric_history(out["parent"], "loss")["step"] == [0, 1, 2, 3, 4]
