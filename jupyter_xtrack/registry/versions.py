"""What the registry hands back: models, versions (with their run's lineage) and alias
changes, as frozen values built from the store's records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..facts import Fact, fact_of
from ..records.run import Run
from ..store.errors import UnknownRunError

if TYPE_CHECKING:
    from ..store.contract import RunStore
    from ..store.registry import AliasChangeRecord, ModelRecord, ModelVersionRecord


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _fields(record: Mapping[str, Any], *times: str, **extra: Any) -> dict[str, Any]:
    """A store record as dataclass arguments, its `times` (Unix seconds) as UTC datetimes."""
    return {**record, **{k: _utc(record[k]) for k in times}, **extra}


@dataclass(frozen=True)
class AliasChange:
    """One entry of an alias's history: `alias` moved from `from_version` (None: it was
    new) to `to_version` (None: removed), by `user` at `at`, because of `reason` and the
    evaluation run `evaluation`."""

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    user: str | None
    at: datetime
    reason: str | None
    evaluation: str | None

    @classmethod
    def of(cls, record: AliasChangeRecord) -> AliasChange:
        return cls(**_fields(record, "at"))


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its latest version, version count, tags and aliases."""

    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    user: str | None
    latest_version: int | None
    versions: int
    tags: dict[str, str]
    aliases: dict[str, int]

    @classmethod
    def of(cls, record: ModelRecord) -> RegisteredModel:
        return cls(**_fields(record, "created_at", "updated_at"))


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: the blob it holds, the run and artifact it came from, and
    (through `run` and `lineage()`) the code, data and environment that made it."""

    name: str
    version: int
    run_id: str | None
    artifact: str | None
    blob: str
    tags: dict[str, str]
    aliases: list[str]
    description: str | None
    created_at: datetime
    user: str | None
    size: int | None = None
    format: str | None = None
    store: RunStore | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, record: ModelVersionRecord, store: RunStore) -> ModelVersion:
        return cls(**_fields(record, "created_at", store=store))

    @property
    def uri(self) -> str:
        """The URI that names this exact version (MLflow's form)."""
        return f"models:/{self.name}/{self.version}"

    @cached_property
    def run(self) -> Run | None:
        """The run that produced the model, or None when it was deleted (or never known)."""
        if self.run_id is None or self.store is None:
            return None
        try:
            return Run(self.store.get_run(self.run_id), self.store)
        except UnknownRunError:
            return None

    def lineage(self) -> dict[str, Any]:
        """What data and code made this model, read from its run: the run, its notebook
        and cell, the cell's code, the executed cells before it, input files and dataset
        fingerprints with their hashes, the environment, the git state."""
        run = self.run
        if run is None:
            return {
                "run": None,
                "run_id": self.run_id,
                "missing": "the run behind this version is not in the store (deleted?)",
            }
        cells = (run.lineage or {}).get("cells") or []
        env = fact_of(run.record, Fact.ENV)
        git = run.git or {}
        return {
            "run": {
                "id": run.id,
                "number": run.number,
                "name": run.name,
                "status": run.status,
                "experiment": run.experiment,
                "started_at": run.started_at,
            },
            "notebook_path": run.notebook_path,
            "cell_id": run.cell_id,
            "code": run.code,
            "executed_cells": [
                "".join(c.get("source") or "") for c in cells if c.get("cell_type") == "code"
            ],
            "inputs": [
                {k: f.get(k) for k in ("path", "hash", "size", "produced_by") if k in f}
                for f in run.inputs
            ],
            "datasets": run.datasets,
            "environment": {
                "python": env.get("python"),
                "platform": env.get("platform"),
                "packages": _imported(run),
            },
            "git": {k: git.get(k) for k in ("commit", "branch", "dirty", "remote") if k in git},
            "params": run.params,
            "metrics": run.metrics,
        }


def _imported(run: Run) -> dict[str, str]:
    """The distributions the run's kernel had imported, with versions (the ones that matter
    to load the model), from the environment blob."""
    imported = (run.env or {}).get("imported")
    return dict(imported) if isinstance(imported, dict) else {}
