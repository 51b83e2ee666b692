"""The logged-models endpoints (MLflow 3), as far as `log_model` and loading a model back
need them: create, get, finalize, search, params, tags, and the model's artifact list."""

from __future__ import annotations

import re
from typing import Any

from ...store.contract import RunStore
from . import models
from .artifacts import listing
from .errors import invalid
from .mapping import experiment_id
from .request import Req
from .search import page_offset, page_token
from .service import MlflowService


def create(svc: MlflowService, req: Req) -> dict[str, Any]:
    run_id = req.opt("source_run_id")
    if not run_id:
        raise invalid(
            "xtrack keeps a logged model with the run that logs it: log the model "
            "inside mlflow.start_run() (source_run_id is missing)"
        )
    record = svc.store().get_run(run_id)
    exp = req.opt("experiment_id") or experiment_id(str(record["experiment"]))
    model_id, body = models.new_model(run_id, exp, req.fields)
    body["params"] = req.pairs("params")
    body["tags"] = req.pairs("tags")
    svc.write(lambda store: models.save(store, model_id, body))
    return {"model": models.model_json(model_id, body)}


def get(svc: MlflowService, req: Req, model_id: str) -> dict[str, Any]:
    return {"model": models.model_json(model_id, models.load(svc.store(), model_id))}


def _changed(svc: MlflowService, model_id: str, **change: Any) -> dict[str, Any]:
    def apply(store: RunStore) -> dict[str, Any]:
        return models.change(store, model_id, **change)

    return {"model": models.model_json(model_id, svc.write(apply))}


def finalize(svc: MlflowService, req: Req, model_id: str) -> dict[str, Any]:
    return _changed(svc, model_id, status=req.text("status"))


def set_tags(svc: MlflowService, req: Req, model_id: str) -> dict[str, Any]:
    _changed(svc, model_id, tags=req.pairs("tags"))
    return {}


def delete_tag(svc: MlflowService, req: Req, model_id: str, key: str) -> dict[str, Any]:
    _changed(svc, model_id, drop_tag=key)
    return {}


def log_params(svc: MlflowService, req: Req, model_id: str) -> dict[str, Any]:
    _changed(svc, model_id, params=req.pairs("params"))
    return {}


def list_artifacts(svc: MlflowService, req: Req, model_id: str) -> dict[str, Any]:
    prefix = "/".join(p for p in ("models", model_id, req.opt("artifact_directory_path")) if p)
    files = listing(svc.store(), models.model_run_id(model_id), prefix.rstrip("/"))
    sub = req.opt("artifact_directory_path") or ""
    for f in files:
        f["path"] = f"{sub.rstrip('/')}/{f['path']}" if sub else f["path"]
    return {
        "root_uri": models.model_json(model_id, models.load(svc.store(), model_id))["info"][
            "artifact_uri"
        ],
        "files": files,
    }


def search(svc: MlflowService, req: Req) -> dict[str, Any]:
    """Models of the given experiments, newest first; `filter` is matched on the model's
    name and source run (`name = '...'`, `source_run_id = '...'`) when it is one of those."""
    store = svc.store()
    names: list[str | None] = [svc.book.name_of(store, e) for e in req.items("experiment_ids")]
    wanted = _model_filter(req.opt("filter"))
    found: list[tuple[str, dict[str, Any]]] = []
    for name in names or [None]:  # no experiment given: every experiment's models
        table = store.query_runs(experiment=name, columns=["tags.xtrack.mlflow.model.*"])
        for row in table.rows():
            tags = {
                k[len("tags.") :]: v
                for k, v in row.items()
                if k.startswith("tags.") and v is not None
            }
            found.extend(m for m in models.models_of(tags) if wanted(m[0], m[1]))
    found.sort(key=lambda m: -int(m[1]["created"]))
    limit = req.int("max_results", 100) or 100
    offset = page_offset(req.opt("page_token"))
    out: dict[str, Any] = {
        "models": [models.model_json(i, r) for i, r in found[offset : offset + limit]]
    }
    if offset + limit < len(found):
        out["next_page_token"] = page_token(offset + limit)
    return out


def _model_filter(text: str | None) -> Any:
    if not text:
        return lambda model_id, record: True
    terms = re.findall(r"(name|source_run_id)\s*=\s*'([^']*)'", text)
    if not terms:
        raise invalid(
            f"Invalid filter '{text}': xtrack filters logged models by "
            "name = '...' and source_run_id = '...'"
        )

    def match(model_id: str, record: dict[str, Any]) -> bool:
        values = {"name": record["name"], "source_run_id": models.model_run_id(model_id)}
        return all(values[field] == value for field, value in terms)

    return match
