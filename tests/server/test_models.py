"""The model registry's REST API on a real server and store: register from a run, list and
search, a model with versions, runs and history, move an alias; errors; never unpickled."""

from __future__ import annotations

import json
from typing import Any

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.store import open_store

from .conftest import API, Populated
from .test_endpoints import error_of


def _json() -> dict[str, str]:
    # a new dict each time: jp_fetch adds this server's token to the one it is given
    return {"Content-Type": "application/json"}


async def _send(jp_fetch: Any, method: str, path: str, body: dict[str, Any]) -> Any:
    resp = await jp_fetch(
        *API.split("/"), *path.split("/"), method=method, body=json.dumps(body), headers=_json()
    )
    return json.loads(resp.body)


async def test_register_list_show_and_move_an_alias(
    jp_fetch: Any, api: Any, check_schema: Any, populated: Populated
) -> None:
    first = check_schema(
        "ModelVersion",
        await _send(
            jp_fetch,
            "POST",
            "models",
            {"run": "1", "name": "churn", "aliases": ["candidate"], "tags": {"team": "risk"}},
        ),
    )
    assert (first["version"], first["artifact"], first["format"]) == (1, "model.pkl", "pickle")
    second = await _send(
        jp_fetch,
        "POST",
        "models",
        {"run": populated.ids["a"], "artifact": "notes.txt", "name": "churn"},
    )
    assert second["version"] == 2
    change = check_schema(
        "AliasChange",
        await _send(
            jp_fetch,
            "PUT",
            "models/churn/aliases/champion",
            {"version": 1, "reason": "better AUC", "evaluation": populated.ids["b"]},
        ),
    )
    assert (change["from_version"], change["to_version"], change["reason"]) == (
        None,
        1,
        "better AUC",
    )
    await _send(jp_fetch, "PUT", "models/churn/aliases/champion", {"version": 2})

    listed = await api("models", "ModelList", q="team=risk @champion")
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed["models"]] == [
        ("churn", 2, {"candidate": 1, "champion": 2})
    ]
    assert (await api("models", "ModelList", q="nomatch"))["models"] == []

    detail = await api("models/churn", "ModelDetail")
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    run = detail["versions"][1]["run"]
    assert (run["number"], run["name"]) == (1, "run-a")
    assert run["metrics"]["acc"] == 0.8
    assert run["inputs"][0]["path"] == "data/train.csv"
    assert [
        (h["alias"], h["from_version"], h["to_version"], h["evaluation"]) for h in detail["history"]
    ] == [
        ("candidate", None, 1, None),
        ("champion", None, 1, populated.ids["b"]),
        ("champion", 1, 2, None),
    ]

    mine = await api(f"runs/{populated.ids['a']}/models", "RunModels")
    assert mine["candidates"] == ["model.pkl"]
    assert [v["version"] for v in mine["versions"]] == [2, 1]
    assert (await api(f"runs/{populated.ids['b']}/models", "RunModels")) == {
        "candidates": [],
        "versions": [],
    }


async def test_the_server_never_unpickles_a_registered_model(
    jp_fetch: Any, api: Any, populated: Populated
) -> None:
    # run a's model.pkl would create the marker file when unpickled
    await _send(jp_fetch, "POST", "models", {"run": "1", "name": "evil"})
    await api("models/evil", "ModelDetail")
    await api("models", "ModelList")
    await api("runs/1/models", "RunModels")
    assert not populated.pickle_marker.exists()


async def test_errors_name_the_problem(jp_fetch: Any, populated: Populated) -> None:
    code, body = await error_of(jp_fetch, "models", "nope")
    assert (code, body["reason"]) == (404, "unknown_model")
    code, body = await error_of(
        jp_fetch,
        "models",
        method="POST",
        headers=_json(),
        body=json.dumps({"run": "2", "name": "x"}),
    )
    assert code == 400 and "no model-like artifact" in body["message"]
    code, body = await error_of(
        jp_fetch,
        "models",
        method="POST",
        headers=_json(),
        body=json.dumps({"run": "99", "name": "x"}),
    )
    assert (code, body["reason"]) == (404, "unknown_run")
    await _send(jp_fetch, "POST", "models", {"run": "1", "name": "churn"})
    code, body = await error_of(
        jp_fetch,
        "models",
        "churn",
        "aliases",
        "latest",
        method="PUT",
        headers=_json(),
        body=json.dumps({"version": 1}),
    )
    assert code == 400 and "reserved" in body["message"]
    code, body = await error_of(
        jp_fetch,
        "models",
        "churn",
        "aliases",
        "champion",
        method="PUT",
        headers=_json(),
        body=json.dumps({"version": 7}),
    )
    assert code == 404 and "no version 7" in body["message"]
    code, body = await error_of(
        jp_fetch,
        "models",
        "churn",
        "aliases",
        "champion",
        method="PUT",
        headers=_json(),
        body=json.dumps({"version": "1"}),
    )
    assert code == 400
    code, _ = await error_of(
        jp_fetch,
        "models",
        method="POST",
        body="run=1&name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert code == 415


async def test_delete_an_alias_with_a_reason_kept_in_the_history(
    jp_fetch: Any, api: Any, check_schema: Any, populated: Populated
) -> None:
    await _send(jp_fetch, "POST", "models", {"run": "1", "name": "churn", "aliases": ["champion"]})
    resp = await jp_fetch(
        *API.split("/"),
        "models",
        "churn",
        "aliases",
        "champion",
        method="DELETE",
        params={"reason": "retired: drift"},
    )
    removed = check_schema("AliasChange", json.loads(resp.body))
    assert (removed["alias"], removed["from_version"], removed["to_version"]) == (
        "champion",
        1,
        None,
    )
    detail = await api("models/churn", "ModelDetail")
    assert detail["model"]["aliases"] == {}
    assert [(h["from_version"], h["to_version"], h["reason"]) for h in detail["history"]] == [
        (None, 1, "set when registered"),
        (1, None, "retired: drift"),
    ]
    code, body = await error_of(jp_fetch, "models", "churn", "aliases", "champion", method="DELETE")
    assert (code, body["reason"]) == (404, "unknown_model") and "no alias" in body["message"]
    code, body = await error_of(jp_fetch, "models", "churn", "aliases", "latest", method="DELETE")
    assert code in (400, 404)


async def test_a_version_says_whether_its_run_has_an_evaluation(
    jp_fetch: Any, api: Any, populated: Populated
) -> None:
    """The Models tab links a version to its run's evaluation only when there is one."""
    await _send(jp_fetch, "POST", "models", {"run": "1", "name": "churn"})
    run = (await api("models/churn", "ModelDetail"))["versions"][0]["run"]
    assert run["evaluated"] is False
    with open_store(populated.root) as store:
        store.set_facts(populated.ids["a"], **{Fact.EVALUATION: {"metrics": {"roc_auc": 0.9}}})
    run = (await api("models/churn", "ModelDetail"))["versions"][0]["run"]
    assert run["evaluated"] is True
