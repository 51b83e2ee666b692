"""Registered models from an MLflow tracking URI or an mlflow-export-import folder into
xtrack's registry: every version (in version order; a number the source deleted is deleted
here too, so numbers match unless this store had versions of its own; MLflow's number is
kept as a tag), its tags, description and user, the model's tags and its aliases. A
version's MLflow model folder (MLmodel, the model file, environment files) is attached to its imported run
under `mlflow-models/<name>/v<version>/`; the version's blob is the model file itself.
Idempotent: a version already imported from this source is skipped, an alias that moved in
the source is moved here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..registry.artifacts import artifact_format
from ..store.contract import RunStore
from ..store.errors import StoreError
from ..store.registry import VersionSource
from .model import (
    MODEL_DIR,
    SOURCE_URI_TAG,
    VERSION_BLOB_TAG,
    InteropError,
    MlflowModel,
    MlflowVersion,
)
from .verify import Count, compare_models

VERSION_TAG = "xtrack.mlflow.model_version"  # the version's number in MLflow
# Files of an MLflow model folder that describe it rather than hold it.
DESCRIPTIVE = {
    "MLmodel",
    "conda.yaml",
    "python_env.yaml",
    "requirements.txt",
    "registered_model_meta",
    "input_example.json",
    "serving_input_example.json",
}


def model_file(names: list[str]) -> str:
    """The file of an MLflow model folder that holds the model (MLmodel when none does)."""
    held = [n for n in names if Path(n).name not in DESCRIPTIVE]
    return min(held, key=lambda n: (n.count("/"), n)) if held else "MLmodel"


@runtime_checkable
class ModelSource(Protocol):
    """A side that holds registered models: an MLflow tracking URI or an export folder."""

    uri: str

    def has_models(self) -> bool: ...

    def models(self, names: set[str] | None = None) -> Iterator[MlflowModel]: ...

    def model_files(self, version: MlflowVersion, dest: Path) -> Path:
        """The version's files: its model folder, or one file (written under `dest` when
        they must be copied)."""
        ...


class ModelImport:
    """Registered models of `source` into `store`; `runs` maps source run ids to the store's."""

    def __init__(self, source: ModelSource, store: RunStore, runs: dict[str, str]) -> None:
        self.source_side, self.uri, self.store, self.runs = source, source.uri, store, runs
        self.failed: list[str] = []
        self.listed: list[MlflowModel] = []

    def run(self) -> list[Count]:
        """Import every model, then count both sides."""
        try:
            self.listed = list(self.source_side.models())
        except Exception as exc:  # MLflow raises many types: say it, never skip silently
            self.failed.append(f"registered models could not be listed: {exc}")
            return self.counts()
        for model in self.listed:
            try:
                self._model(model)
            except (InteropError, StoreError, ValueError, OSError) as exc:
                self.failed.append(f"model {model.name}: {exc}")
        return self.counts()

    def _imported(self, name: str) -> dict[int, int]:
        """MLflow version -> xtrack version of the versions already imported from here."""
        found = self.store.search_model_versions(name, tags={SOURCE_URI_TAG: self.uri})
        return {int(v["tags"][VERSION_TAG]): v["version"] for v in found}

    def _model(self, model: MlflowModel) -> None:
        done = self._imported(model.name)
        for v in model.versions:
            if v.version not in done:
                done[v.version] = self._version(model.name, v)
        if model.tags:
            self.store.set_model_tags(model.name, model.tags)
        if model.description:
            self.store.set_model_description(model.name, model.description)
        for alias, mlflow_version in model.aliases.items():
            target = done[mlflow_version]
            current = self.store.search_model_versions(model.name, alias=alias)
            if not current or current[0]["version"] != target:
                self.store.set_model_alias(
                    model.name,
                    alias,
                    target,
                    user=None,
                    reason=f"imported from MLflow ({self.uri})",
                )

    def _version(self, name: str, v: MlflowVersion) -> int:
        run_id = self.runs.get(v.run_id or "")
        with tempfile.TemporaryDirectory(prefix="xtrack-model-") as tmp:
            local = self.source_side.model_files(v, Path(tmp))
            folder, files = (local.parent, [local.name]) if local.is_file() else (local, [])
            files = files or sorted(
                str(Path(d, f).relative_to(folder))
                for d, _, names in os.walk(folder)
                for f in names
            )
            if not files:
                raise InteropError(f"version {v.version} ({v.source}) has no files")
            prefix = f"{MODEL_DIR}/{name}/v{v.version}"
            stored = {f: self.store.put_blob_file(folder / f) for f in files}
        if run_id is not None:
            for f, (blob, size) in stored.items():
                self.store.add_artifact(run_id, f"{prefix}/{f}", blob=blob, size=size)
        main = model_file(files)
        blob, size = stored[main]
        tags = {k: t for k, t in v.tags.items() if k != VERSION_BLOB_TAG}
        source: VersionSource = {
            "run_id": run_id,
            "artifact": f"{prefix}/{main}" if run_id else None,
            "blob": blob,
            "size": size,
            "format": artifact_format({"name": main}) or Path(main).suffix.lstrip(".") or None,
        }
        while True:  # a number the source deleted: take it and delete it, as the source did
            record = self.store.register_model_version(
                name,
                source,
                user=v.user,
                tags={**tags, SOURCE_URI_TAG: self.uri, VERSION_TAG: str(v.version)},
                description=v.description,
            )
            if record["version"] >= v.version:
                break
            self.store.delete_model_version(
                name, record["version"], user=None, reason="deleted in the MLflow source"
            )
        return int(record["version"])

    def counts(self) -> list[Count]:
        """Models, versions and aliases: as counted in the source, and in the store."""
        versions = self.store.search_model_versions(tags={SOURCE_URI_TAG: self.uri})
        dest = {
            "registered models": len({v["name"] for v in versions}),
            "model versions": len(versions),
            "aliases": sum(len(v["aliases"]) for v in versions),
        }
        source = compare_models(self.listed, [])
        return [Count(c.object, c.source, dest[c.object]) for c in source]
