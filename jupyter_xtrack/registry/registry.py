"""`Registry`: the model registry of one store, as the API, the CLI and the server use it.

It reads runs through the store and `records.Run`; all SQL is in store/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..records.run import Run
from ..store.contract import RunStore
from ..store.liveness import current_user
from ..store.registry import VersionSource
from .artifacts import artifact_format, find_artifact, pick_model_artifact
from .loading import load_version
from .uri import parse_model_uri
from .versions import AliasChange, ModelVersion, RegisteredModel


def parse_tag_filter(tag: str | Mapping[str, str | None] | None) -> dict[str, str | None] | None:
    """A tag filter from "k=v" (that value), "k" (any value) or a mapping."""
    if tag is None or isinstance(tag, Mapping):
        return None if tag is None else dict(tag)
    key, eq, value = tag.partition("=")
    return {key.strip(): value.strip() if eq else None}


class Registry:
    """Registered models of `store`; `flush` (the tracking session's) runs before a run is
    read, so a run that has just ended is complete in the store."""

    def __init__(self, store: RunStore, *, flush: Callable[[], Any] | None = None) -> None:
        self.store = store
        self._flush = flush

    def register(
        self,
        run_or_artifact: Any,
        name: str,
        *,
        artifact: str | None = None,
        aliases: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Register the model of a run (a `Run`, anything with an `.id`, a run reference
        "#12" / id, or "RUN:artifact_name") as the next version of `name`."""
        run, artifact = self._run_and_artifact(run_or_artifact, artifact)
        label = f"#{run.number}"
        chosen = (
            find_artifact(run.artifacts, artifact, label)
            if artifact
            else pick_model_artifact(run.artifacts, label)
        )
        source: VersionSource = {
            "run_id": run.id,
            "artifact": str(chosen["name"]),
            "blob": str(chosen["hash"]),
            "size": chosen.get("size"),
            "format": artifact_format(chosen),
        }
        record = self.store.register_model_version(
            name,
            source,
            user=current_user(),
            tags=_strings(tags),
            description=description,
            aliases=[aliases] if isinstance(aliases, str) else list(aliases),
        )
        return ModelVersion.of(record, self.store)

    def _run_and_artifact(self, ref: Any, artifact: str | None) -> tuple[Run, str | None]:
        if self._flush is not None:
            self._flush()
        if isinstance(ref, Run):
            return ref, artifact
        if hasattr(ref, "id") and not isinstance(ref, (str, int)):
            ref = ref.id
        if isinstance(ref, str) and ":" in ref and artifact is None:
            ref, artifact = ref.split(":", 1)
        return Run(self.store.get_run(ref), self.store), artifact

    def get(self, uri: str) -> ModelVersion:
        ref = parse_model_uri(uri)
        record = self.store.get_model_version(ref.name, ref.version, alias=ref.alias)
        return ModelVersion.of(record, self.store)

    def load(self, uri: str, *, trusted: bool = False) -> Any:
        return load_version(self.get(uri), self.store, trusted=trusted)

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        reason: str | None = None,
        evaluation: Any = None,
    ) -> AliasChange:
        """Move `alias`; `evaluation` (a Run, anything with an `.id`, or a run reference) is
        kept in the history by its full run id, so it must be a run of this store."""
        evaluation_id = None
        if evaluation is not None:
            ref = evaluation.id if hasattr(evaluation, "id") else str(evaluation)
            evaluation_id = self.store.resolve_ref(ref)
        change = self.store.set_model_alias(
            name,
            alias,
            int(version),
            user=current_user(),
            reason=reason,
            evaluation=evaluation_id,
        )
        return AliasChange.of(change)

    def delete_alias(self, name: str, alias: str, *, reason: str | None = None) -> AliasChange:
        return AliasChange.of(
            self.store.delete_model_alias(name, alias, user=current_user(), reason=reason)
        )

    def history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        return [AliasChange.of(r) for r in self.store.model_alias_history(name, alias)]

    def models(self, query: str | None = None) -> list[RegisteredModel]:
        """Models matching `query`: a word is part of the name, "k=v" a tag (on the model or
        one of its versions), "@alias" an alias; all must hold."""
        text, tags, alias = _parse_query(query)
        return [
            RegisteredModel.of(r)
            for r in self.store.search_models(text, tags=tags or None, alias=alias)
        ]

    def versions(
        self,
        name: str | None = None,
        *,
        tag: str | Mapping[str, str | None] | None = None,
        alias: str | None = None,
    ) -> list[ModelVersion]:
        records = self.store.search_model_versions(name, tags=parse_tag_filter(tag), alias=alias)
        return [ModelVersion.of(r, self.store) for r in records]


def _strings(tags: Mapping[str, Any] | None) -> dict[str, str] | None:
    return None if tags is None else {str(k): str(v) for k, v in tags.items()}


def _parse_query(query: str | None) -> tuple[str | None, dict[str, str | None], str | None]:
    text: list[str] = []
    tags: dict[str, str | None] = {}
    alias: str | None = None
    for word in (query or "").split():
        if word.startswith("@"):
            alias = word[1:]
        elif "=" in word:
            tags.update(parse_tag_filter(word) or {})
        else:
            text.append(word)
    if len(text) > 1:
        raise ValueError(f"model query {query!r}: give one name part (got {', '.join(text)})")
    return (text[0] if text else None), tags, alias
