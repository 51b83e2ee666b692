"""MLflow's model registry against xtrack's server: the real `mlflow` client registers
models, moves aliases and loads `models:/name@alias` (mlflow_registry_scenario.py, in a
process of its own), and the same versions, aliases and alias history are then read
through xtrack's own registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_xtrack.registry import Registry
from jupyter_xtrack.store import open_store

from .test_mlflow_api import mlflow_env, run_client  # noqa: F401  (the fixture)

pytest.importorskip("mlflow")
SCENARIO = Path(__file__).with_name("mlflow_registry_scenario.py")


async def test_mlflow_client_registers_models_in_xtrack(
    mlflow_env: dict[str, str],  # noqa: F811
    store_path: Path,
    tmp_path: Path,
) -> None:
    out = await run_client(SCENARIO, mlflow_env, tmp_path)
    runs = out["runs"]
    assert out["first"] == ["churn", "1", runs[0], "READY"]
    assert out["by_alias"] == out["by_number"] == [0, 1]
    assert out["second"] == "2"
    assert out["champion"] == "2"
    assert out["model_aliases"] == {"champion": "2"}
    assert out["model_tags"] == {"owner": "risk-team"}
    assert out["latest"] == ["2"]
    assert out["validated"] == ["2"]
    assert out["by_run"] == ["1"]
    assert out["search_models"] == ["churn"]
    assert out["download"].startswith("mlflow-artifacts:/")
    assert out["download"].endswith("/artifacts")
    assert out["version_two"] == {"c": "0.01", "validated": "yes"}
    assert out["empty"] == {"k": "v"}
    assert out["empty_again"] == "RESOURCE_ALREADY_EXISTS"
    assert out["rename"] == out["stage"] == "INVALID_PARAMETER_VALUE"
    assert out["missing"] == out["missing_alias"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["run_tags"] == []
    assert out["after_delete"] == ["2"]

    # The same registry as xtrack sees it.
    store = open_store(store_path)
    try:
        registry = Registry(store)
        champion = registry.get("churn@champion")
        assert champion.version == 2
        assert champion.run_id == runs[1]
        assert champion.tags == {"c": "0.01", "validated": "yes"}
        history = [(h.alias, h.from_version, h.to_version) for h in registry.history("churn")]
        assert history == [
            ("champion", None, 1),
            ("champion", 1, 2),
            ("challenger", None, 1),
            ("challenger", 1, None),
        ]
        assert out["jupyter_user"]
        # Who moved each alias: the Jupyter user of the request.
        assert {h.user for h in registry.history("churn")} == {out["jupyter_user"]}
        assert store.get_tag(runs[0], "team") is None
    finally:
        store.close()
