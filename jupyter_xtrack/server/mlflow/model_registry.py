"""MLflow's model registry endpoints, mapped onto xtrack's registry (store/registry.py,
through the RunStore contract), so that `mlflow.register_model`, aliases and
`models:/name@alias` work against xtrack's server and show in xtrack.

A version registered through MLflow points at the `MLmodel` file of the model's folder
among its run's artifacts (a logged model's `models/<model id>/`, or any folder of a run);
its download URI is that folder as `mlflow-artifacts:/`, so MLflow's client fetches the
whole folder through the artifact endpoints. A version that xtrack registered itself (one
file) is downloaded as that file. Alias changes go to xtrack's append-only history, with
the Jupyter user of the request as who made them.

What xtrack's registry cannot do is refused with MLflow's error JSON: renaming or deleting
a registered model, descriptions after registration, deleting registry tags, stages. A
model created without a version lives in the server's memory until its first version.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import time
from typing import Any

from ...registry.artifacts import MLFLOW_FOLDER
from ...store.contract import RunStore
from ...store.registry import (
    ModelRecord,
    ModelVersionRecord,
    VersionSource,
    check_alias,
    check_model_name,
)
from .artifacts import locate
from .errors import RESOURCE_ALREADY_EXISTS, MlflowError, invalid, missing
from .mapping import experiment_id, kv, ms
from .models import model_run_id
from .request import Req
from .search import Cmp, page_offset, page_token, parse_filter
from .service import MlflowService
from .validation import MAX_TAG_VALUE_LENGTH, check_key, check_value

MLMODEL = "MLmodel"
FORMAT = MLFLOW_FOLDER  # the `format` of a version registered through MLflow (a model folder)
_LOGGED_MODEL_DIR = re.compile(r"^models/(?P<model>m-[0-9a-f]{32}-[0-9a-f]{8})$")
_NO_STAGES = (
    "xtrack has no model stages (MLflow deprecated them): point an alias at the version "
    "instead (set_registered_model_alias)"
)


# -- registered models -----------------------------------------------------------------------
def create_model(svc: MlflowService, req: Req) -> dict[str, Any]:
    """A new name, kept in memory until its first version is registered (xtrack's registry
    creates a model with its first version)."""
    name = _name(req)
    if _find(svc.store(), name) is not None or name in svc.new_models:
        raise MlflowError(
            RESOURCE_ALREADY_EXISTS, f"Registered Model (name={name}) already exists."
        )
    _no_description(req.opt("description"))
    pending = {"name": name, "created": time.time(), "user": req.user, "tags": _tags(req)}
    svc.new_models[name] = pending
    return {"registered_model": _pending_json(pending)}


def get_model(svc: MlflowService, req: Req) -> dict[str, Any]:
    return {"registered_model": _model_or_pending(svc, _name(req))}


def search_models(svc: MlflowService, req: Req) -> dict[str, Any]:
    store = svc.store()
    cmps = _filter(req.opt("filter"), ("name",))
    found = [
        model_json(store, m)
        for m in store.search_models(tags=_equal(cmps, "tags") or None)
        if _matches(cmps, {"name": m["name"]}, m["tags"])
    ]
    found += [
        _pending_json(p) for p in list(svc.new_models.values()) if _matches(cmps, p, p["tags"])
    ]
    found.sort(key=lambda m: str(m["name"]))
    return _page(req, found, "registered_models")


def update_model(svc: MlflowService, req: Req) -> dict[str, Any]:
    name = _name(req)
    current = _model_or_pending(svc, name)
    if (req.opt("description") or "") != current.get("description", ""):
        _no_description(req.opt("description"))
    return {"registered_model": current}


def rename_model(svc: MlflowService, req: Req) -> dict[str, Any]:
    raise invalid(
        "xtrack cannot rename a registered model: its name is in every version's URI and in "
        "its alias history; register the versions under the new name instead"
    )


def delete_model(svc: MlflowService, req: Req) -> dict[str, Any]:
    name = _name(req)
    if svc.new_models.pop(name, None) is not None:
        return {}
    _model_or_pending(svc, name)
    raise invalid(
        f"xtrack keeps registered model '{name}' with its alias history: delete its versions "
        "(model-versions/delete) instead"
    )


def set_model_tag(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, tags = _name(req), _tag(req)
    pending = svc.new_models.get(name)
    if pending is not None:
        pending["tags"].update(tags)
        return {}
    svc.write(lambda store: store.set_model_tags(name, tags))
    return {}


def latest_versions(svc: MlflowService, req: Req) -> dict[str, Any]:
    """The highest version (xtrack has no stages: every version is in stage "None")."""
    model = _model_or_pending(svc, _name(req))
    stages = [str(s).lower() for s in req.items("stages")]
    if stages and "none" not in stages:
        return {"model_versions": []}
    return {"model_versions": model.get("latest_versions", [])}


def refuse_delete_tag(svc: MlflowService, req: Req) -> dict[str, Any]:
    raise invalid("xtrack's registry keeps a tag once set: give it a new value (set-tag) instead")


def refuse_stage(svc: MlflowService, req: Req) -> dict[str, Any]:
    raise invalid(_NO_STAGES)


# -- model versions --------------------------------------------------------------------------
def create_version(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, source = _name(req), req.text("source")
    tags = _tags(req)
    pending = svc.new_models.get(name)

    def register(store: RunStore) -> ModelVersionRecord:
        found = version_source(store, source, req.opt("run_id"))
        record = store.register_model_version(
            name, found, user=req.user, tags=tags, description=req.opt("description") or None
        )
        if pending and pending["tags"]:
            store.set_model_tags(name, pending["tags"])
        return record

    record = svc.write(register)
    svc.new_models.pop(name, None)
    return {"model_version": version_json(record)}


def get_version(svc: MlflowService, req: Req) -> dict[str, Any]:
    return {"model_version": version_json(_version(svc.store(), req))}


def update_version(svc: MlflowService, req: Req) -> dict[str, Any]:
    record = _version(svc.store(), req)
    if (req.opt("description") or "") != (record["description"] or ""):
        _no_description(req.opt("description"))
    return {"model_version": version_json(record)}


def delete_version(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, number = _name(req), _number(req)
    svc.write(lambda store: store.delete_model_version(name, number, user=req.user))
    return {}


def search_versions(svc: MlflowService, req: Req) -> dict[str, Any]:
    cmps = _filter(req.opt("filter"), ("name", "run_id", "source_path"))
    equal = _equal(cmps, "attributes")
    candidates = svc.store().search_model_versions(
        equal.get("name"), tags=_equal(cmps, "tags") or None, run_id=equal.get("run_id")
    )
    found = [version_json(v) for v in candidates if _matches(cmps, _version_fields(v), v["tags"])]
    return _page(req, found, "model_versions")


def download_uri(svc: MlflowService, req: Req) -> dict[str, Any]:
    """The version's model folder as an mlflow-artifacts URI. A version that xtrack
    registered itself is one file, not a folder, which MLflow's client cannot download as a
    model: the answer names the file's runs:/ URI instead."""
    store = svc.store()
    record = _version(store, req)
    label = f"Version {record['version']} of '{record['name']}'"
    if record["run_id"] is None:
        raise missing(f"{label} has no run's files")
    if record["format"] != FORMAT:
        raise invalid(
            f"{label} is one file that xtrack registered, not an MLflow model folder: "
            f"download runs:/{record['run_id']}/{record['artifact']}, or load it with "
            f"xt.load_model('{record['name']}/{record['version']}')"
        )
    exp = experiment_id(str(store.get_run(record["run_id"])["experiment"]))
    folder = model_folder(record)
    logged = _LOGGED_MODEL_DIR.match(folder)
    if logged:
        return {"artifact_uri": f"mlflow-artifacts:/{exp}/models/{logged['model']}/artifacts"}
    return {"artifact_uri": f"mlflow-artifacts:/{exp}/{record['run_id']}/artifacts/{folder}"}


def set_version_tag(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, number, tags = _name(req), _number(req), _tag(req)
    svc.write(lambda store: store.set_model_tags(name, tags, version=number))
    return {}


# -- aliases ---------------------------------------------------------------------------------
def set_alias(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, alias, number = _name(req), _alias(req), _number(req)
    svc.write(lambda store: store.set_model_alias(name, alias, number, user=req.user))
    return {}


def delete_alias(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, alias = _name(req), _alias(req)
    svc.write(lambda store: store.delete_model_alias(name, alias, user=req.user))
    return {}


def get_by_alias(svc: MlflowService, req: Req) -> dict[str, Any]:
    name, alias = _name(req), req.text("alias")
    return {"model_version": version_json(svc.store().get_model_version(name, alias=alias))}


# -- sources and shapes ----------------------------------------------------------------------
def version_source(store: RunStore, source: str, run_id: str | None) -> VersionSource:
    """The `MLmodel` file of the model folder that MLflow source URI `source` names
    (`models:/<model id>`, `runs:/<run>/<path>`, `mlflow-artifacts:/...`), which the store
    must hold; INVALID_PARAMETER_VALUE for anything else."""
    run, folder = _source_folder(source)
    if run_id and run_id != run:
        raise invalid(f"The source '{source}' is not a model of run {run_id}")
    name = posixpath.join(folder, MLMODEL) if folder else MLMODEL
    for art in store.artifacts(run):
        if art["name"] == name:
            size = art.get("size")
            return {
                "run_id": run,
                "artifact": name,
                "blob": str(art["hash"]),
                "size": None if size is None else int(size),
                "format": FORMAT,
            }
    raise invalid(f"No MLflow model at '{source}': run {run} has no artifact '{name}'")


def _source_folder(source: str) -> tuple[str, str]:
    scheme, sep, rest = source.partition(":")
    if not sep:
        rest = ""
    if scheme == "models" and rest.startswith("/"):
        model = rest.strip("/")
        return model_run_id(model), f"models/{model}"
    if scheme == "runs" and rest.startswith("/"):
        run, _, path = rest.strip("/").partition("/")
        return run, path.strip("/")
    if scheme == "mlflow-artifacts" and rest.startswith("/"):
        if rest.startswith("//"):  # mlflow-artifacts://host/path
            rest = rest[2:].partition("/")[2]
        return locate(rest)
    raise invalid(
        f"xtrack registers models whose files it holds: '{source}' is not models:/<model id>, "
        "runs:/<run id>/<path> or mlflow-artifacts:/<path>"
    )


def model_folder(record: ModelVersionRecord) -> str:
    """The version's model folder among its run's artifacts (or its single file)."""
    artifact = record["artifact"] or ""
    if artifact == MLMODEL or artifact.endswith("/" + MLMODEL):
        return posixpath.dirname(artifact)
    return artifact


def version_json(record: ModelVersionRecord) -> dict[str, Any]:
    """MLflow's ModelVersion (every version READY, stage "None")."""
    folder = model_folder(record)
    logged = _LOGGED_MODEL_DIR.match(folder)
    out: dict[str, Any] = {
        "name": record["name"],
        "version": str(record["version"]),
        "creation_timestamp": ms(record["created_at"]),
        "last_updated_timestamp": ms(record["created_at"]),
        "user_id": record["user"] or "",
        "current_stage": "None",
        "description": record["description"] or "",
        "source": _version_fields(record)["source_path"],
        "run_id": record["run_id"] or "",
        "status": "READY",
        "tags": kv(record["tags"]),
        "aliases": sorted(record["aliases"]),
    }
    if logged:
        out["model_id"] = logged["model"]
    return out


def model_json(store: RunStore, record: ModelRecord) -> dict[str, Any]:
    """MLflow's RegisteredModel, its latest version included."""
    latest = record["latest_version"]
    versions = (
        [] if latest is None else [version_json(store.get_model_version(record["name"], latest))]
    )
    return {
        "name": record["name"],
        "creation_timestamp": ms(record["created_at"]),
        "last_updated_timestamp": ms(record["updated_at"]),
        "user_id": record["user"] or "",
        "description": record["description"] or "",
        "latest_versions": versions,
        "tags": kv(record["tags"]),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(record["aliases"].items())],
    }


def _pending_json(pending: dict[str, Any]) -> dict[str, Any]:
    when = ms(pending["created"])
    return {
        "name": pending["name"],
        "creation_timestamp": when,
        "last_updated_timestamp": when,
        "user_id": pending["user"] or "",
        "tags": kv(pending["tags"]),
    }


def _version_fields(record: ModelVersionRecord) -> dict[str, str]:
    folder = model_folder(record)
    logged = _LOGGED_MODEL_DIR.match(folder)
    source = f"models:/{logged['model']}" if logged else f"runs:/{record['run_id']}/{folder}"
    return {"name": record["name"], "run_id": record["run_id"] or "", "source_path": source}


# -- request fields --------------------------------------------------------------------------
def _find(store: RunStore, name: str) -> ModelRecord | None:
    return next((m for m in store.search_models(name) if m["name"] == name), None)


def _model_or_pending(svc: MlflowService, name: str) -> dict[str, Any]:
    store = svc.store()
    found = _find(store, name)
    if found is not None:
        return model_json(store, found)
    pending = svc.new_models.get(name)
    if pending is None:
        raise missing(f"Registered Model with name={name} not found")
    return _pending_json(pending)


def _version(store: RunStore, req: Req) -> ModelVersionRecord:
    return store.get_model_version(_name(req), _number(req))


def _name(req: Req) -> str:
    return _checked(check_model_name, req.text("name"))


def _alias(req: Req) -> str:
    return _checked(check_alias, req.text("alias"))


def _checked(check: Any, value: str) -> str:
    try:
        return str(check(value))
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _number(req: Req) -> int:
    number = req.int("version")
    if number is None:
        raise invalid("Missing value for required parameter 'version'.")
    return number


def _tags(req: Req) -> dict[str, str]:
    return {
        check_key(k, "tag"): check_value(v, "tag", MAX_TAG_VALUE_LENGTH)
        for k, v in req.pairs("tags").items()
    }


def _tag(req: Req) -> dict[str, str]:
    key = check_key(req.text("key"), "tag")
    return {key: check_value(req.fields.get("value", ""), "tag", MAX_TAG_VALUE_LENGTH)}


def _no_description(text: str | None) -> None:
    if text:
        raise invalid(
            "xtrack's registry takes a description only when a version is registered "
            "(create_model_version's description)"
        )


def _page(req: Req, found: list[dict[str, Any]], field: str) -> dict[str, Any]:
    limit = req.int("max_results", 100) or 100
    offset = page_offset(req.opt("page_token"))
    out: dict[str, Any] = {field: found[offset : offset + limit]}
    if offset + limit < len(found):
        out["next_page_token"] = page_token(offset + limit)
    return out


def _filter(text: str | None, attributes: tuple[str, ...]) -> list[Cmp]:
    """An MLflow registry filter: `attributes` and `tags.<key>` compared with =, !=, LIKE,
    ILIKE, IN, joined by AND."""
    cmps = parse_filter(text) if text and text.strip() else []
    for cmp in cmps:
        if not (cmp.entity == "tags" or (cmp.entity == "attributes" and cmp.key in attributes)):
            raise invalid(f"Invalid filter '{text}': filter by {', '.join(attributes)} or tags")
    return cmps


def _equal(cmps: list[Cmp], entity: str) -> dict[str, str]:
    """The `key = 'value'` comparisons of `entity`, which the store's search narrows by (the
    rest is matched here)."""
    return {
        c.key: c.value
        for c in cmps
        if c.entity == entity and c.op == "=" and isinstance(c.value, str)
    }


def _matches(cmps: list[Cmp], fields: dict[str, Any], tags: dict[str, str]) -> bool:
    for cmp in cmps:
        have = fields.get(cmp.key) if cmp.entity == "attributes" else tags.get(cmp.key)
        if not _compare(cmp, None if have is None else str(have)):
            return False
    return True


def _compare(cmp: Cmp, have: str | None) -> bool:
    value = cmp.value
    if cmp.op in ("IN", "NOT IN"):
        inside = have is not None and have in [str(v) for v in value]  # type: ignore[union-attr]
        return inside if cmp.op == "IN" else not inside
    if have is None:
        return cmp.op == "!="
    text = str(value)
    if cmp.op in ("LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"):
        pattern = text.replace("%", "*").replace("_", "?")
        if "ILIKE" in cmp.op:
            hit = fnmatch.fnmatch(have.lower(), pattern.lower())
        else:
            hit = fnmatch.fnmatchcase(have, pattern)
        return hit if not cmp.op.startswith("NOT") else not hit
    if cmp.op == "=":
        return have == text
    if cmp.op == "!=":
        return have != text
    raise invalid(f"'{cmp.op}' does not compare registry names and tags: use =, !=, LIKE, IN")
