"""MLflow's own client logging into xtrack through the server extension's MLflow API
(`{base_url}xtrack/mlflow`): the unchanged MLflow code of mlflow_scenario.py runs in a
process of its own against a real Jupyter server, then the same runs are read through
xtrack's store and REST API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.store import open_store

pytest.importorskip("mlflow")
SCENARIO = Path(__file__).with_name("mlflow_scenario.py")


@pytest.fixture
def mlflow_env(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str, tmp_path: Path
) -> dict[str, str]:
    """The environment that points MLflow's client at this server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{jp_http_port}{jp_base_url}xtrack/mlflow",
            "MLFLOW_TRACKING_TOKEN": jp_serverapp.identity_provider.token,
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
            "HOME": str(tmp_path),
        }
    )
    return env


async def run_client(script: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run `script` with MLflow's client; its last stdout line is a JSON object."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=300)
    assert proc.returncode == 0, stderr.decode()[-4000:]
    return dict(json.loads(stdout.decode().strip().splitlines()[-1]))


async def test_mlflow_client_logs_into_xtrack(
    mlflow_env: dict[str, str], store_path: Path, jp_fetch: Any, tmp_path: Path
) -> None:
    out = await run_client(SCENARIO, mlflow_env, tmp_path)
    # What MLflow's client read back.
    assert out["changed_param_error"] == "INVALID_PARAMETER_VALUE"
    assert out["history"] == [[s, 1.0 / (s + 1)] for s in range(5)]
    assert out["artifacts"] == ["notes.txt", "plots"]
    assert out["plots"] == ["plots/a.csv"]
    assert out["downloaded"] == "hello from mlflow"
    assert out["found"] == [out["parent"]]
    assert out["ordered"][:2] == ["parent", "child"]  # runs without a loss come last
    assert out["child_tags"]["mlflow.parentRunId"] == out["parent"]
    assert out["child_tags"]["mlflow.runName"] == "child"
    assert out["parent_status"] == "FINISHED"
    assert "C" in out["autolog_params"]
    assert "training_score" in out["autolog_metrics"]
    assert out["prediction"] == out["prediction_by_run"] == [0, 1]
    assert out["model_outputs"] == [out["model_id"]]
    assert out["datasets"] == [["toy", "training"]]

    # The same runs as xtrack sees them.
    store = open_store(store_path)
    try:
        parent = store.get_run(out["parent"])
        assert parent["name"] == "parent"
        assert parent["experiment"] == "mlflow-exp"
        assert parent["status"] == "finished"
        assert parent["params"] == {"lr": 0.01, "optimizer": "adam", "layers": 3}
        assert parent["tags"]["team"] == "vision"
        assert parent["children"] == [out["child"]]
        assert store.metric_history(out["parent"], "loss")["step"] == [0, 1, 2, 3, 4]
        names = [a["name"] for a in parent["artifacts"]]
        assert names == ["notes.txt", "plots/a.csv"]
        model_files = [a["name"] for a in store.artifacts(out["model_run"])]
        assert any(n.endswith("/MLmodel") for n in model_files), model_files
    finally:
        store.close()
    resp = await jp_fetch("xtrack", "api", "runs", out["parent"])
    detail = json.loads(resp.body)
    assert detail["name"] == "parent"
