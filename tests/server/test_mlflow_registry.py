"""MLflow's model registry against xtrack's server: the real `mlflow` client registers
models, moves aliases and loads `models:/name@alias` (mlflow_registry_scenario.py, in a
process of its own), and the same versions, aliases and alias history are then read
through xtrack's own registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_xtrack.registry import Registry
from jupyter_xtrack.registry.loading import load_version
from jupyter_xtrack.store import open_store

from .conftest import Populated
from .test_mlflow_api import mlflow_env, run_client  # noqa: F401  (the fixture)

pytest.importorskip("mlflow")
SCENARIO = Path(__file__).with_name("mlflow_registry_scenario.py")
API = "xtrack/mlflow/api/2.0/mlflow"
ARTIFACTS = "xtrack/mlflow/api/2.0/mlflow-artifacts/artifacts"


async def test_mlflow_client_registers_models_in_xtrack(
    mlflow_env: dict[str, str],  # noqa: F811
    store_path: Path,
    populated: Populated,
    tmp_path: Path,
) -> None:
    store = open_store(store_path)
    try:  # a version xtrack registers itself: one pickled file of a run
        native_size = (
            Registry(store).register(populated.ids["a"], "native", artifact="model.pkl").size
        )
    finally:
        store.close()
    out = await run_client(SCENARIO, {**mlflow_env, "NATIVE_MODEL": "native"}, tmp_path)
    assert out["native_error"][0] == "INVALID_PARAMETER_VALUE"
    assert out["native"] == ["model.pkl", native_size]
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
        # xtrack loads what MLflow's client registered: the estimator MLflow saved.
        model = load_version(champion, store, trusted=True)
        assert model.predict(np.array([[0.0], [5.0]])).tolist() == out["by_alias"]
    finally:
        store.close()


@pytest.fixture
def send(jp_fetch: Any) -> Any:
    """send(method, path, body=None, **query) -> (status, JSON body); DELETE carries its
    JSON body as MLflow's client sends it."""

    async def go(method: str, path: str, body: Any = None, /, **query: Any) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "params": query}
        if method != "GET":
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body or {})
            kwargs["allow_nonstandard_methods"] = True
        resp = await jp_fetch(*path.split("/"), **kwargs)
        return resp.code, json.loads(resp.body) if resp.body else None

    return go


async def _model_run(send: Any, folder: str) -> str:
    """A run whose artifacts hold an MLflow model folder `folder` (MLmodel + model.pkl)."""
    status, body = await send("POST", f"{API}/runs/create", {"experiment_id": "0"})
    assert status == 200, body
    run = str(body["run"]["info"]["run_id"])
    for name in ("MLmodel", "model.pkl"):
        status, _ = await send("PUT", f"{ARTIFACTS}/0/{run}/artifacts/{folder}/{name}", b"x")
        assert status == 200
    return run


async def test_registry_requests_filters_pages_and_refusals(
    send: Any, populated: Populated
) -> None:
    runs = [await _model_run(send, "clf") for _ in range(3)]
    for i, run in enumerate(runs):
        status, body = await send(
            "POST",
            f"{API}/model-versions/create",
            {
                "name": "fraud",
                "source": f"runs:/{run}/clf",
                "tags": [{"key": "i", "value": str(i)}],
            },
        )
        assert status == 200, body
        assert body["model_version"]["version"] == str(i + 1)
        assert body["model_version"]["source"] == f"runs:/{run}/clf"
    _, body = await send("GET", f"{API}/model-versions/get-download-uri", name="fraud", version="2")
    assert body["artifact_uri"] == f"mlflow-artifacts:/0/{runs[1]}/artifacts/clf"

    async def versions(filter: str, **more: Any) -> list[str]:
        status, body = await send("GET", f"{API}/model-versions/search", filter=filter, **more)
        assert status == 200, body
        return [v["version"] for v in body.get("model_versions", [])]

    assert await versions("name = 'fraud' and tags.i != '1'") == ["3", "1"]
    assert await versions("tags.i IN ('0', '2')") == ["3", "1"]
    assert await versions("name LIKE 'fr%' and tags.i = '1'") == ["2"]
    assert await versions(f"run_id = '{runs[2]}'") == ["3"]
    assert await versions("name = 'other'") == []
    status, body = await send("GET", f"{API}/model-versions/search", max_results="2")
    assert len(body["model_versions"]) == 2
    status, rest = await send(
        "GET", f"{API}/model-versions/search", max_results="2", page_token=body["next_page_token"]
    )
    assert len(rest["model_versions"]) == 1 and "next_page_token" not in rest
    status, body = await send("GET", f"{API}/model-versions/search", filter="metrics.x > 1")
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")

    refused = [
        ("POST", "model-versions/create", {"name": "bad name", "source": f"runs:/{runs[0]}/clf"}),
        ("POST", "model-versions/create", {"name": "fraud", "source": "s3://bucket/model"}),
        ("POST", "model-versions/create", {"name": "fraud", "source": f"runs:/{runs[0]}/none"}),
        ("POST", "registered-models/alias", {"name": "fraud", "alias": "latest", "version": "1"}),
        ("PATCH", "registered-models/update", {"name": "fraud", "description": "new"}),
        ("PATCH", "model-versions/update", {"name": "fraud", "version": "1", "description": "d"}),
        ("DELETE", "registered-models/delete", {"name": "fraud"}),
        ("DELETE", "registered-models/delete-tag", {"name": "fraud", "key": "k"}),
        ("DELETE", "model-versions/delete-tag", {"name": "fraud", "version": "1", "key": "i"}),
    ]
    for method, path, body_in in refused:
        status, body = await send(method, f"{API}/{path}", body_in)
        assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), (path, body)
    status, body = await send("GET", f"{API}/model-versions/get", name="fraud", version="9")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

    # A name created without a version: held until its first version, or deleted.
    assert (await send("POST", f"{API}/registered-models/create", {"name": "draft"}))[0] == 200
    _, body = await send("GET", f"{API}/registered-models/search", filter="name LIKE '%r%'")
    assert [m["name"] for m in body["registered_models"]] == ["draft", "fraud"]
    assert (await send("DELETE", f"{API}/registered-models/delete", {"name": "draft"}))[0] == 200
    status, _ = await send("GET", f"{API}/registered-models/get", name="draft")
    assert status == 404

    # Deleting a version removes its alias, in the history.
    await send(
        "POST", f"{API}/registered-models/alias", {"name": "fraud", "alias": "prod", "version": "3"}
    )
    assert (
        await send("DELETE", f"{API}/model-versions/delete", {"name": "fraud", "version": "3"})
    )[0] == 200
    status, _ = await send("GET", f"{API}/registered-models/alias", name="fraud", alias="prod")
    assert status == 404
    _, body = await send("POST", f"{API}/registered-models/get-latest-versions", {"name": "fraud"})
    assert [v["version"] for v in body["model_versions"]] == ["2"]
    store = open_store(populated.root)
    try:
        moves = [(h["from_version"], h["to_version"]) for h in store.model_alias_history("fraud")]
        assert moves == [(None, 3), (3, None)]
    finally:
        store.close()
