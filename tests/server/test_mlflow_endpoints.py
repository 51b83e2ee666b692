"""xtrack's MLflow API request by request, as MLflow's client sends them (JSON bodies for
POST, query arguments for GET), against a real Jupyter server over the populated store:
errors as MLflow's JSON, limits and validation, experiments, soft-deleted runs, search
filters, pages, and runs that xtrack recorded itself seen through MLflow's shapes."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_xtrack.server.mlflow.experiments import BOOK_FILE, ExperimentBook
from jupyter_xtrack.server.mlflow.writes import GroupWriter
from jupyter_xtrack.store import open_store

from .conftest import Populated

API = "xtrack/mlflow/api/2.0/mlflow"


@pytest.fixture
def call(jp_fetch: Any) -> Any:
    """call(method, path, body=None, **query) -> (status, JSON body) of an MLflow request."""

    async def send(method: str, path: str, body: Any = None, /, **query: Any) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "params": query}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body or {})
            kwargs["headers"] = {"Content-Type": "application/json"}
        resp = await jp_fetch(*path.split("/"), **kwargs)
        return resp.code, json.loads(resp.body) if resp.body else None

    return send


async def new_run(call: Any, experiment_id: str = "0", **fields: Any) -> str:
    status, body = await call(
        "POST",
        f"{API}/runs/create",
        {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, **fields},
    )
    assert status == 200, body
    return str(body["run"]["info"]["run_id"])


async def test_unknown_endpoints_answer_mlflow_json_never_html(call: Any) -> None:
    for method, path in [
        ("POST", f"{API}/webhooks"),
        ("GET", f"{API}/no-such-thing"),
        ("GET", "xtrack/mlflow/api/2.0/preview/mlflow/x"),
        ("DELETE", "xtrack/mlflow/api/2.0/mlflow-artifacts/artifacts/0/x"),
    ]:
        status, body = await call(method, path)
        assert status == 404, (path, body)
        assert body["error_code"] == "ENDPOINT_NOT_FOUND"


async def test_bad_requests_answer_mlflow_error_codes(call: Any, populated: Populated) -> None:
    status, body = await call("GET", f"{API}/runs/get")
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "run_id" in body["message"]
    status, body = await call("GET", f"{API}/runs/get", run_id="f" * 32)
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = await call("POST", f"{API}/runs/create", b"{not json")
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, body = await call("GET", f"{API}/experiments/get-by-name", experiment_name="nope")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = await call("POST", f"{API}/runs/search", {"filter": "metrics.x >> 1"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


async def test_requests_without_the_token_are_refused_as_json(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str
) -> None:
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}{API}/experiments/search"
    client = AsyncHTTPClient()
    refused = await client.fetch(url, method="POST", body="{}", raise_error=False)
    assert refused.code == 403
    assert json.loads(refused.body)["error_code"] == "PERMISSION_DENIED"
    token = jp_serverapp.identity_provider.token  # MLflow sends MLFLOW_TRACKING_TOKEN so
    ok = await client.fetch(
        url, method="POST", body="{}", headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.code == 200


async def test_log_batch_limits_and_names_as_mlflow(call: Any, populated: Populated) -> None:
    run = await new_run(call)
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    too_many = [
        {"metrics": [metric] * 1001},
        {"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]},
        {"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]},
        {  # each within its limit, 1.4 MB in all
            "tags": [{"key": f"t{i}", "value": "x" * 8000} for i in range(100)],
            "params": [{"key": f"p{i}", "value": "x" * 6000} for i in range(100)],
        },
        {"params": [{"key": "p", "value": "x" * 6001}]},
        {"params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
        {"metrics": [{**metric, "key": "../escape"}]},
        {"metrics": [{**metric, "key": "bad!name"}]},
        {"metrics": [{**metric, "value": "high"}]},
        {"metrics": [{**metric, "step": "x"}]},
        {"metrics": [{**metric, "step": 2**70}]},
        {"metrics": [{**metric, "timestamp": "soon"}]},
        {"metrics": ["not an object"]},
    ]
    for body in too_many:
        status, answer = await call("POST", f"{API}/runs/log-batch", {"run_id": run, **body})
        assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), body
    status, _ = await call(
        "POST",
        f"{API}/runs/log-batch",
        {
            "run_id": run,
            "metrics": [{**metric, "step": s} for s in range(1000)],
            "params": [{"key": "lr", "value": "0.1"}] * 2,
            "tags": [{"key": "t", "value": "v"}],
        },
    )
    assert status == 200
    store = open_store(populated.root)
    try:
        record = store.get_run(run)
        assert record["params"] == {"lr": 0.1}  # nothing of the refused batches was written
        assert set(record["tags"]) == {"t"}
        assert store.metric_history(run, "m")["step"] == list(range(1000))
    finally:
        store.close()
    # The same value again is fine; another value is not (MLflow's params are immutable).
    status, _ = await call(
        "POST", f"{API}/runs/log-parameter", {"run_id": run, "key": "lr", "value": "0.1"}
    )
    assert status == 200
    status, answer = await call(
        "POST", f"{API}/runs/log-parameter", {"run_id": run, "key": "lr", "value": "0.2"}
    )
    assert status == 400 and "Changing param values is not allowed" in answer["message"]


async def test_experiments_outlive_the_server_and_hide_when_deleted(
    call: Any, populated: Populated
) -> None:
    status, body = await call(
        "POST", f"{API}/experiments/create", {"name": "empty", "tags": [{"key": "k", "value": "v"}]}
    )
    assert status == 200
    exp_id = body["experiment_id"]
    status, body = await call("POST", f"{API}/experiments/create", {"name": "empty"})
    assert (status, body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    status, body = await call("GET", f"{API}/experiments/get", experiment_id=exp_id)
    assert body["experiment"]["name"] == "empty"
    assert body["experiment"]["tags"] == [{"key": "k", "value": "v"}]
    status, body = await call("POST", f"{API}/experiments/search", {})
    names = [e["name"] for e in body["experiments"]]
    assert names[0] == "Default" and {"exp1", "exp2", "empty"} <= set(names)
    # A new server over the same store knows it (no run has it yet).
    book = ExperimentBook(populated.root)
    store = open_store(populated.root)
    try:
        assert book.name_of(store, exp_id) == "empty"
    finally:
        store.close()
    # ...from the store itself, not a file beside one server.
    assert not (populated.root / BOOK_FILE).exists()
    run = await new_run(call, exp_id)
    await call("POST", f"{API}/experiments/delete", {"experiment_id": exp_id})
    _, body = await call("POST", f"{API}/experiments/search", {})
    assert "empty" not in [e["name"] for e in body["experiments"]]
    status, body = await call("POST", f"{API}/runs/create", {"experiment_id": exp_id})
    assert (status, body["error_code"]) == (400, "INVALID_STATE")
    _, body = await call("POST", f"{API}/runs/search", {"experiment_ids": [exp_id]})
    assert body["runs"] == []  # a deleted experiment's runs are deleted with it
    await call("POST", f"{API}/experiments/restore", {"experiment_id": exp_id})
    _, body = await call("POST", f"{API}/runs/search", {"experiment_ids": [exp_id]})
    assert [r["info"]["run_id"] for r in body["runs"]] == [run]


async def test_search_filters_order_pages_and_deleted_runs(call: Any, populated: Populated) -> None:
    _, body = await call("GET", f"{API}/experiments/get-by-name", experiment_name="exp1")
    exp1 = body["experiment"]["experiment_id"]

    async def names(filter: str = "", **extra: Any) -> list[str]:
        status, body = await call(
            "POST", f"{API}/runs/search", {"experiment_ids": [exp1], "filter": filter, **extra}
        )
        assert status == 200, body
        return [r["info"]["run_name"] for r in body.get("runs", [])]

    # Runs that xtrack recorded itself, through MLflow's filters (params are text there).
    assert await names() == ["run-b", "run-a"]
    assert await names("params.model = 'svm'") == ["run-a"]
    assert await names("params.lr = '0.1'") == ["run-a"]
    assert await names("metrics.acc >= 0.85") == ["run-b"]
    assert await names("attributes.status = 'FINISHED' and tags.team = 'x'") == ["run-b", "run-a"]
    assert await names("attributes.run_name LIKE 'run-%'") == ["run-b", "run-a"]
    assert await names("tags.mlflow.runName = 'run-a'") == ["run-a"]
    assert await names("attributes.status IN ('FAILED', 'KILLED')") == []
    assert await names(order_by=["metrics.acc ASC"]) == ["run-a", "run-b"]
    assert await names(order_by=["params.model DESC"]) == ["run-a", "run-b"]
    status, body = await call(
        "POST", f"{API}/runs/search", {"experiment_ids": [exp1], "max_results": 1}
    )
    second = await names(page_token=body["next_page_token"])
    assert [body["runs"][0]["info"]["run_name"], *second] == ["run-b", "run-a"]
    run = body["runs"][0]
    assert run["info"]["status"] == "FINISHED"
    assert {"key": "model", "value": "rf"} in run["data"]["params"]
    # A deleted run is out of ACTIVE_ONLY searches, in DELETED_ONLY ones, until restored.
    await call("POST", f"{API}/runs/delete", {"run_id": populated.ids["a"]})
    assert await names() == ["run-b"]
    assert await names(run_view_type="DELETED_ONLY") == ["run-a"]
    await call("POST", f"{API}/runs/restore", {"run_id": populated.ids["a"]})
    assert await names() == ["run-b", "run-a"]


async def test_metric_history_pages_and_non_finite_values(call: Any, populated: Populated) -> None:
    a = populated.ids["a"]
    _, first = await call(
        "GET", f"{API}/metrics/get-history", run_id=a, metric_key="loss", max_results=3000
    )
    _, rest = await call(
        "GET",
        f"{API}/metrics/get-history",
        run_id=a,
        metric_key="loss",
        max_results=3000,
        page_token=first["next_page_token"],
    )
    steps = [m["step"] for m in first["metrics"] + rest["metrics"]]
    assert steps == list(range(5000)) and "next_page_token" not in rest
    _, live = await call(
        "GET", f"{API}/metrics/get-history", run_id=populated.ids["running"], metric_key="loss"
    )
    assert [m["value"] for m in live["metrics"]] == ["NaN", "Infinity"]


async def test_unknown_run_status_and_server_info(call: Any, populated: Populated) -> None:
    status, body = await call(
        "POST", f"{API}/runs/update", {"run_id": populated.ids["running"], "status": "DONE"}
    )
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, body = await call(
        "POST",
        f"{API}/runs/update",
        {"run_id": populated.ids["running"], "status": "KILLED", "end_time": 1_700_000_001_000},
    )
    assert status == 200 and body["run_info"]["status"] == "KILLED"
    assert body["run_info"]["end_time"] == 1_700_000_001_000
    status, body = await call("GET", "xtrack/mlflow/api/3.0/mlflow/server-info")
    assert status == 200 and body["multipart_uploads_enabled"] is False


def test_one_failing_write_in_a_group_loses_no_other(tmp_path: Path) -> None:
    """Writes queued while one is being written are committed together; when one of them
    fails, the others are still written and the failing one gets its own error."""
    store = open_store(tmp_path / "store")
    run_id, _ = store.create_run(name="r")
    gate = threading.Event()
    writer = GroupWriter(lambda: store)
    try:
        first = writer.submit(lambda s: gate.wait(30))
        group = [writer.submit(lambda s, i=i: s.set_params(run_id, {f"p{i}": i})) for i in range(3)]
        bad = writer.submit(lambda s: s.set_params("f" * 32, {"x": 1}))
        gate.set()
        assert first.result(30) is True
        for future in group:
            future.result(30)
        with pytest.raises(Exception, match="no run"):
            bad.result(30)
        assert store.get_run(run_id)["params"] == {"p0": 0, "p1": 1, "p2": 2}
    finally:
        writer.close()
        store.close()


async def test_artifact_paths_stay_inside_their_run(
    call: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    http_server: Any,
    jp_http_port: int,
    jp_base_url: str,
) -> None:
    """Uploads name a run and a relative file in it; anything else is refused before a byte is
    stored, and a file comes back exactly as uploaded."""
    run = await new_run(call)
    base = "xtrack/mlflow/api/2.0/mlflow-artifacts/artifacts"

    async def put(path: str, data: bytes) -> tuple[int, Any]:
        """PUT on the raw path (encoded dots reach the server as they are written)."""
        resp = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{jp_http_port}{jp_base_url}{base}/{path}",
            method="PUT",
            body=data,
            raise_error=False,
            headers={"Authorization": f"token {jp_serverapp.identity_provider.token}"},
        )
        return resp.code, json.loads(resp.body)

    status, body = await put(f"0/{run}/artifacts/dir/%2e%2e/%2e%2e/escape.txt", b"x")
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, body = await put("0/not-a-run/artifacts/a.txt", b"x")
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, body = await put(f"0/{'f' * 32}/artifacts/a.txt", b"x")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, _ = await put(f"0/{run}/artifacts/dir/a.bin", b"\x00\x01 bytes")
    assert status == 200
    resp = await jp_fetch(*base.split("/"), "0", run, "artifacts", "dir", "a.bin")
    assert resp.body == b"\x00\x01 bytes"
    _, listed = await call("GET", base, path=f"0/{run}/artifacts")
    assert listed["files"] == [{"path": "dir", "is_dir": True}]
    _, listed = await call("GET", f"{API}/artifacts/list", run_id=run, path="dir")
    assert listed["files"] == [{"path": "dir/a.bin", "is_dir": False, "file_size": 8}]


async def test_tags_names_bulk_history_and_logged_model_records(
    call: Any, populated: Populated
) -> None:
    nameless = await new_run(call)
    _, body = await call("GET", f"{API}/runs/get", run_id=nameless)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", body["run"]["info"]["run_name"])  # as MLflow names
    run = await new_run(call, run_name="first")
    assert (
        await call(
            "POST",
            f"{API}/runs/set-tag",
            {"run_id": run, "key": "mlflow.runName", "value": "renamed"},
        )
    )[0] == 200
    await call("POST", f"{API}/runs/set-tag", {"run_id": run, "key": "x", "value": "1"})
    assert (await call("POST", f"{API}/runs/delete-tag", {"run_id": run, "key": "x"}))[0] == 200
    _, body = await call("GET", f"{API}/runs/get", run_id=run)
    assert "x" not in {t["key"] for t in body["run"]["data"]["tags"]}
    status, body = await call("POST", f"{API}/runs/delete-tag", {"run_id": run, "key": "x"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = await call(
        "POST", f"{API}/runs/delete-tag", {"run_id": run, "key": "mlflow.runName"}
    )
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    await call(
        "POST",
        f"{API}/experiments/set-experiment-tag",
        {"experiment_id": "0", "key": "owner", "value": "ml"},
    )
    _, body = await call("GET", f"{API}/experiments/get", experiment_id="0")
    assert body["experiment"]["tags"] == [{"key": "owner", "value": "ml"}]
    await call(
        "POST", f"{API}/experiments/delete-experiment-tag", {"experiment_id": "0", "key": "owner"}
    )
    _, body = await call("GET", f"{API}/experiments/get", experiment_id="0")
    assert body["experiment"]["tags"] == []
    status, body = await call(
        "POST", f"{API}/experiments/update", {"experiment_id": "0", "new_name": "other"}
    )
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    # History of several runs between two steps, at most max_results points a run.
    points = [{"key": "m", "value": float(s), "timestamp": 1, "step": s} for s in range(100)]
    await call("POST", f"{API}/runs/log-batch", {"run_id": run, "metrics": points})
    _, body = await call(
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        run_ids=run,
        metric_key="m",
        start_step=10,
        end_step=59,
        max_results=10,
    )
    steps = [p["step"] for p in body["metrics"]]
    assert steps[0] == 10 and steps[-1] == 59 and len(steps) <= 11
    assert {p["run_id"] for p in body["metrics"]} == {run}
    # A logged model's record: params, tags, status, and its files' listing.
    status, body = await call(
        "POST", f"{API}/logged-models", {"experiment_id": "0", "name": "m", "source_run_id": run}
    )
    model_id = body["model"]["info"]["model_id"]
    assert body["model"]["info"]["status"] == "LOGGED_MODEL_PENDING"
    await call(
        "POST",
        f"{API}/logged-models/{model_id}/params",
        {"params": [{"key": "alpha", "value": "1"}]},
    )
    await call(
        "PATCH",
        f"{API}/logged-models/{model_id}/tags",
        {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]},
    )
    await call("DELETE", f"{API}/logged-models/{model_id}/tags/b")
    _, body = await call(
        "PATCH", f"{API}/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}
    )
    info = body["model"]["info"]
    assert (info["status"], info["tags"]) == ("LOGGED_MODEL_READY", [{"key": "a", "value": "1"}])
    assert body["model"]["data"]["params"] == [{"key": "alpha", "value": "1"}]
    _, found = await call(
        "POST",
        f"{API}/logged-models/search",
        {"experiment_ids": ["0"], "filter": f"source_run_id = '{run}'"},
    )
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]
    _, files = await call("GET", f"{API}/logged-models/{model_id}/artifacts/directories")
    assert files["files"] == []
    status, body = await call("GET", f"{API}/logged-models/m-{'0' * 32}-00000000")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    store = open_store(populated.root)
    try:
        record = store.get_run(run)
        assert record["name"] == "renamed"
        assert "mlflow.runName" not in record["tags"]
    finally:
        store.close()


async def test_a_runs_metrics_carry_their_last_step_and_time(
    call: Any, populated: Populated
) -> None:
    run = await new_run(call)
    points = [
        {"key": "loss", "value": 0.5, "timestamp": 1_700_000_009_000, "step": 9},
        {"key": "loss", "value": 0.9, "timestamp": 1_700_000_020_000, "step": 2},
        {"key": "acc", "value": 0.7, "timestamp": 1_700_000_005_000, "step": 4},
    ]
    assert (await call("POST", f"{API}/runs/log-batch", {"run_id": run, "metrics": points}))[
        0
    ] == 200
    want = [
        {"key": "acc", "value": 0.7, "timestamp": 1_700_000_005_000, "step": 4},
        {"key": "loss", "value": 0.5, "timestamp": 1_700_000_009_000, "step": 9},
    ]
    _, body = await call("GET", f"{API}/runs/get", run_id=run)
    assert body["run"]["data"]["metrics"] == want
    _, body = await call(
        "POST",
        f"{API}/runs/search",
        {"experiment_ids": ["0"], "filter": f"attributes.run_id = '{run}'"},
    )
    assert [r["data"]["metrics"] for r in body["runs"]] == [want]
