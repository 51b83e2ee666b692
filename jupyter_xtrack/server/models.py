"""The model registry over REST: list and search models, one model with its versions (each
with its run's metrics and data), aliases and alias history, register a run's model, move
an alias or remove it. The server reads and writes registry records only: it never loads (unpickles) a
model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..facts import Fact
from ..registry import AliasChange, Registry
from ..registry.artifacts import is_model_like
from ..store.contract import RunStore
from ..store.errors import UnknownRunError
from ..store.registry import ModelVersionRecord, UnknownModelError
from .encoding import jsonable
from .errors import RequestError
from .handlers import XTrackHandler
from .reader import StoreReader

MAX_VERSIONS = 200  # versions shown with a model (newest first); the rest are counted


def _registry(reader: StoreReader) -> Registry:
    return Registry(reader.need_store())


def list_models(reader: StoreReader, query: str | None) -> dict[str, Any]:
    """Models matching `query` (name part, k=v tags, @alias), by name."""
    store = reader.store()
    if store is None:
        return {"models": []}
    return {
        "models": [
            cast(
                dict[str, Any],
                jsonable(
                    {
                        **vars(m),
                        "created_at": m.created_at.timestamp(),
                        "updated_at": m.updated_at.timestamp(),
                    }
                ),
            )
            for m in Registry(store).models(query)
        ]
    }


def model_detail(reader: StoreReader, name: str) -> dict[str, Any]:
    """One model: its record, its newest versions with their runs, the alias history."""
    store = reader.need_store()
    model = next((m for m in store.search_models(name) if m["name"] == name), None)
    if model is None:
        store.get_model_version(name)  # raises UnknownModelError naming what exists
    versions = store.search_model_versions(name)
    return cast(
        dict[str, Any],
        jsonable(
            {
                "model": model,
                "versions": [_with_run(store, v) for v in versions[:MAX_VERSIONS]],
                "more_versions": max(0, len(versions) - MAX_VERSIONS),
                "history": store.model_alias_history(name),
            }
        ),
    )


def _with_run(store: RunStore, version: ModelVersionRecord) -> dict[str, Any]:
    """A version with the run that made it: brief, metrics, inputs and datasets, and whether
    it has an evaluation report (the sidebar links to it)."""
    run: dict[str, Any] | None = None
    if version["run_id"]:
        try:
            record = store.get_run(version["run_id"])
        except UnknownRunError:
            record = None
        if record is not None:
            run = {
                **{k: record.get(k) for k in ("id", "number", "name", "experiment", "status")},
                "metrics": record.get("metrics") or {},
                "inputs": [
                    {k: f.get(k) for k in ("path", "hash", "size")}
                    for f in record.get("inputs") or []
                ],
                "datasets": record.get("datasets") or [],
                "evaluated": bool(record.get(Fact.EVALUATION)),
            }
    return {**version, "run": run}


def run_models(reader: StoreReader, ref: str) -> dict[str, Any]:
    """For a run's detail: its model-like artifacts and the versions registered from it."""
    store = reader.need_store()
    record = store.get_run(ref)
    return cast(
        dict[str, Any],
        jsonable(
            {
                "candidates": [
                    a["name"] for a in record.get("artifacts") or [] if is_model_like(a)
                ],
                "versions": store.search_model_versions(run_id=record["id"]),
            }
        ),
    )


def register(reader: StoreReader, body: Mapping[str, Any]) -> dict[str, Any]:
    """Register a run's model: body {"run", "name", "artifact"?, "aliases"?, "tags"?,
    "description"?}."""
    _only(body, {"run", "name", "artifact", "aliases", "tags", "description"})
    run, name = body.get("run"), body.get("name")
    if not isinstance(run, (str, int)) or isinstance(run, bool) or not isinstance(name, str):
        raise RequestError(
            400, 'give the run and the model name, e.g. {"run": "12", "name": "churn"}'
        )
    aliases = body.get("aliases") or []
    tags = body.get("tags") or {}
    if not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        raise RequestError(400, 'aliases must be a list of strings, e.g. ["candidate"]')
    if not (isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())):
        raise RequestError(400, 'tags must be an object of strings, e.g. {"team": "risk"}')
    artifact, description = body.get("artifact"), body.get("description")
    for field, value in (("artifact", artifact), ("description", description)):
        if value is not None and not isinstance(value, str):
            raise RequestError(400, f"{field} must be a string")
    version = _registry(reader).register(
        str(run), name, artifact=artifact, aliases=aliases, tags=tags, description=description
    )
    return cast(
        dict[str, Any],
        jsonable(reader.need_store().get_model_version(version.name, version.version)),
    )


def move_alias(
    reader: StoreReader, name: str, alias: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Point `alias` at body["version"], with body["reason"] and body["evaluation"]."""
    _only(body, {"version", "reason", "evaluation"})
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RequestError(
            400, 'give the version as a number, e.g. {"version": 3, "reason": "better AUC"}'
        )
    reason, evaluation = body.get("reason"), body.get("evaluation")
    for field, value in (("reason", reason), ("evaluation", evaluation)):
        if value is not None and not isinstance(value, str):
            raise RequestError(400, f"{field} must be a string")
    change = _registry(reader).set_alias(name, alias, version, reason=reason, evaluation=evaluation)
    return _change(change)


def delete_alias(reader: StoreReader, name: str, alias: str, reason: str | None) -> dict[str, Any]:
    """Remove `alias` from the model; the removal (to no version) goes in the history."""
    return _change(_registry(reader).delete_alias(name, alias, reason=reason))


def _change(change: AliasChange) -> dict[str, Any]:
    return cast(dict[str, Any], jsonable({**vars(change), "at": change.at.timestamp()}))


def _only(body: Mapping[str, Any], fields: set[str]) -> None:
    unknown = set(body) - fields
    if unknown:
        raise RequestError(
            400,
            f"unknown field(s) {', '.join(sorted(unknown))}; this request "
            f"takes {', '.join(sorted(fields))}",
        )


class _ModelsHandler(XTrackHandler):
    async def answer(self, fn: Any, *args: Any) -> None:
        """Reply with `fn(reader, *args)` run on the reader's threads; a model, version or
        alias that does not exist is a 404, an invalid name or value a 400."""
        try:
            result = await self.reader.call(fn, self.reader, *args)
        except UnknownModelError as exc:
            raise RequestError(404, str(exc), reason="unknown_model") from exc
        except ValueError as exc:
            raise RequestError(400, str(exc)) from exc
        self.reply(result)


class ModelsHandler(_ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Registered models; q: name part, k=v tags, @alias (all must match)."""
        await self.answer(list_models, self.get_argument("q", None))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Register a run's model as the next version (application/json only)."""
        body = self.json_object('{"run": "12", "name": "churn"}')
        await self.answer(register, body)


class ModelHandler(_ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """One model, its versions with their runs, and its alias history."""
        await self.answer(model_detail, name)


class ModelAliasHandler(_ModelsHandler):
    @web.authenticated
    @authorized
    async def put(self, name: str, alias: str) -> None:
        """Move an alias to a version, with a reason (application/json only)."""
        body = self.json_object('{"version": 3, "reason": "better AUC"}')
        await self.answer(move_alias, name, alias, body)

    @web.authenticated
    @authorized
    async def delete(self, name: str, alias: str) -> None:
        """Remove an alias; ?reason= says why, kept in the alias history."""
        await self.answer(delete_alias, name, alias, self.get_argument("reason", None))


class RunModelsHandler(_ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str) -> None:
        """A run's model-like artifacts and the versions registered from it."""
        await self.answer(run_models, self.run_ref(id))
