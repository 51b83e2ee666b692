"""Registered models from an MLflow tracking URI into xtrack's registry: every version (in
version order, so numbers match unless the source deleted some; MLflow's number is kept as
a tag), its tags, description and user, the model's tags and its aliases. A version's MLflow
model folder (MLmodel, the model file, environment files) is attached to its imported run
under `mlflow-models/<name>/v<version>/`; the version's blob is the model file itself.
Idempotent: a version already imported from this source is skipped, an alias that moved in
the source is moved here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..registry.artifacts import artifact_format
from ..store.contract import RunStore
from ..store.errors import StoreError
from .client import ClientSource
from .model import MODEL_DIR, SOURCE_URI_TAG, InteropError
from .verify import Count

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


class ModelImport:
    """Registered models of `client` (an MlflowClient on `uri`) into `store`."""

    def __init__(self, source: ClientSource, store: RunStore, runs: dict[str, str]) -> None:
        self.source_side, self.uri, self.store, self.runs = source, source.uri, store, runs
        self.failed: list[str] = []
        self.source = {"registered models": 0, "model versions": 0, "aliases": 0}

    def run(self) -> list[Count]:
        """Import every model, then count both sides."""
        try:
            models = self.source_side.client.search_registered_models(max_results=1000)
        except Exception as exc:  # MLflow raises many types: say it, never skip silently
            self.failed.append(f"registered models could not be listed: {exc}")
            return self.counts()
        for rm in models:
            self.source["registered models"] += 1
            self.source["aliases"] += len(rm.aliases or {})
            try:
                self._model(rm)
            except (InteropError, StoreError, ValueError, OSError) as exc:
                self.failed.append(f"model {rm.name}: {exc}")
        return self.counts()

    def _imported(self, name: str) -> dict[int, int]:
        """MLflow version -> xtrack version of the versions already imported from here."""
        found = self.store.search_model_versions(name, tags={SOURCE_URI_TAG: self.uri})
        return {int(v["tags"][VERSION_TAG]): v["version"] for v in found}

    def _model(self, rm: Any) -> None:
        versions = sorted(
            self.source_side.client.search_model_versions(f"name='{rm.name}'"),
            key=lambda v: int(v.version),
        )
        self.source["model versions"] += len(versions)
        done = self._imported(rm.name)
        for v in versions:
            if int(v.version) not in done:
                done[int(v.version)] = self._version(rm.name, v)
        if rm.tags:
            self.store.set_model_tags(rm.name, dict(rm.tags))
        for alias, mlflow_version in (rm.aliases or {}).items():
            target = done[int(mlflow_version)]
            current = self.store.search_model_versions(rm.name, alias=alias)
            if not current or current[0]["version"] != target:
                self.store.set_model_alias(
                    rm.name, alias, target, user=None, reason=f"imported from MLflow ({self.uri})"
                )

    def _version(self, name: str, v: Any) -> int:
        import mlflow.artifacts  # lazy: optional dependency

        run_id = self.runs.get(v.run_id or "")
        with tempfile.TemporaryDirectory(prefix="xtrack-model-") as tmp:
            folder = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=v.source, dst_path=tmp, tracking_uri=self.uri
                )
            )
            files = sorted(
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
        record = self.store.register_model_version(
            name,
            {
                "run_id": run_id,
                "artifact": f"{prefix}/{main}" if run_id else None,
                "blob": blob,
                "size": size,
                "format": artifact_format({"name": main}) or Path(main).suffix.lstrip(".") or None,
            },
            user=v.user_id or None,
            tags={**(v.tags or {}), SOURCE_URI_TAG: self.uri, VERSION_TAG: str(v.version)},
            description=v.description or None,
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
        return [Count(k, self.source[k], dest[k]) for k in self.source]
