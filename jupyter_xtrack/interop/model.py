"""The neutral record of an MLflow run that every source yields and every sink writes, and
the names both directions share (tags, statuses, the xtrack record's artifact path)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

# (value, timestamp in ms, step): one point of an MLflow metric history.
MlflowPoint = tuple[float, int, int]

PARENT_TAG: Final = "mlflow.parentRunId"
RUN_NAME_TAG: Final = "mlflow.runName"
# Who ran it: MLflow's client sets this tag (and RunInfo.user_id) from the login name.
USER_TAG: Final = "mlflow.user"
# What the importer writes on each run it creates, to find it again: the source run's id and
# the source's URI. A run imported from a source that reported a live status (RUNNING) keeps
# that status here, since xtrack's "running" means a process it can watch.
SOURCE_RUN_TAG: Final = "xtrack.mlflow.run_id"
SOURCE_URI_TAG: Final = "xtrack.mlflow.source"
SOURCE_STATUS_TAG: Final = "xtrack.mlflow.status"
# A digest of what the source run held when imported: a second import skips the run when
# it is the same, and updates it when not.
FINGERPRINT_TAG: Final = "xtrack.mlflow.fingerprint"
# The same digest that an export writes on each MLflow run, of the run as exported: a second
# export skips the run when it is the same, and brings it up to date when not.
EXPORT_FINGERPRINT_TAG: Final = "xtrack.export.fingerprint"
IMPORT_TAGS: Final = frozenset(
    {SOURCE_RUN_TAG, SOURCE_URI_TAG, SOURCE_STATUS_TAG, FINGERPRINT_TAG, EXPORT_FINGERPRINT_TAG}
)
# What the exporter writes: the xtrack run's id (so a second export skips it) and, as an
# artifact, the whole xtrack record (facts, files, typed params, exact times) plus the blobs
# its facts name, so that importing it back restores the run fact by fact.
XTRACK_RUN_TAG: Final = "xtrack.run_id"
# The tags an export derived from the run's fields and facts (comma-separated, itself
# included), so that any reader can count the tags the user set.
DERIVED_TAGS_TAG: Final = "xtrack.derived_tags"
XTRACK_DIR: Final = "xtrack"
RECORD_ARTIFACT: Final = "xtrack/run.json"
BLOB_DIR: Final = "xtrack/blobs"
DATASET_CONTEXT_TAG: Final = "mlflow.data.context"
# Where an imported model version's MLflow model folder is attached to its run: the registry
# import writes it, so counting a run's own artifacts leaves it out (as it does xtrack/).
MODEL_DIR: Final = "mlflow-models"
# What an export writes on each model version, to know it again: the blob it holds (a second
# export leaves such a version as it is; another version under its number is a conflict).
# The model's alias history, which MLflow has no place for, travels as a model tag (JSON).
VERSION_BLOB_TAG: Final = "xtrack.blob"
ALIAS_HISTORY_TAG: Final = "xtrack.alias_history"

# MLflow's run statuses and xtrack's, both ways (an xtrack-only status travels as a tag).
FROM_MLFLOW: Final = {
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
    "RUNNING": "interrupted",
    "SCHEDULED": "interrupted",
}
TO_MLFLOW: Final = {
    "finished": "FINISHED",
    "failed": "FAILED",
    "crashed": "FAILED",
    "killed": "KILLED",
    "interrupted": "KILLED",
    "running": "RUNNING",
}


class InteropError(Exception):
    """A source or destination that cannot be used (named, with the fix), or a copy whose
    verification found a mismatch."""


@dataclass
class MlflowRun:
    """One run as MLflow knows it. `artifacts` are file paths relative to the run's artifact
    root; `datasets` are log_input datasets as flat dicts (name, digest, source_type,
    source, schema, profile, context)."""

    run_id: str
    experiment: str
    status: str = "FINISHED"
    start_ms: int | None = None
    end_ms: int | None = None
    name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[MlflowPoint]] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get(PARENT_TAG) or None

    @property
    def has_record(self) -> bool:
        """Whether xtrack exported this run (its full record travels as an artifact)."""
        return RECORD_ARTIFACT in self.artifacts

    def user_tags(self) -> dict[str, str]:
        """The tags a user (or MLflow) set: without those an export derived or an import
        added to find the run again."""
        derived = set(self.tags.get(DERIVED_TAGS_TAG, "").split(","))
        return {k: v for k, v in self.tags.items() if k not in derived and k not in IMPORT_TAGS}

    def user_artifacts(self) -> list[str]:
        """The artifacts other than the xtrack record, its blobs and imported models."""
        derived = (XTRACK_DIR + "/", MODEL_DIR + "/")
        return [a for a in self.artifacts if not a.startswith(derived)]


@dataclass
class MlflowVersion:
    """One registered model version as MLflow knows it. `source` is where its files are: a
    URI (MLflow) or a path in the export folder; from xtrack, the artifact path in its run."""

    version: int
    run_id: str | None
    source: str
    description: str | None = None
    user: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class MlflowModel:
    """One registered model with its versions (in version order) and aliases."""

    name: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[MlflowVersion] = field(default_factory=list)


class Source(Protocol):
    """Where runs are read from."""

    uri: str

    def runs(self, experiments: list[str] | None = None) -> Iterator[MlflowRun]:
        """Every active run (of the named experiments, all when None), parents first where
        the source can tell."""
        ...

    def fetch(self, run: MlflowRun, path: str, dest: Path) -> Path:
        """Artifact `path` of `run` as a local file with the artifact's own file name
        (written under `dest`, a new folder, when it must be copied); InteropError when it
        cannot be read."""
        ...


class Sink(Protocol):
    """Where runs are written."""

    uri: str

    def existing(self) -> dict[str, str]:
        """The runs this sink already holds from earlier copies of this source: source run
        id -> its id here."""
        ...

    def origin(self, run: MlflowRun) -> str | None:
        """The run here that `run` was imported from (then updated in place), or None."""
        ...

    def unchanged(self, run: MlflowRun, target: str) -> bool:
        """Whether `target` (from `existing`) already holds `run` as it is now."""
        ...

    def write(
        self, run: MlflowRun, source: Source, parent_id: str | None, target: str | None
    ) -> str:
        """Write `run` (its artifacts read from `source`) under parent `parent_id` (an id of
        this sink), as a new run or over `target`; return its id here."""
        ...

    def chunk(self) -> AbstractContextManager[None]:
        """A block whose writes may be grouped (one transaction for the xtrack store)."""
        ...

    def finish(self) -> None:
        """Write what the sink writes once every run is in (an export folder's listings)."""
        ...

    def read_back(self, ids: list[str]) -> Iterator[MlflowRun]:
        """The runs `ids` as this sink now holds them, for verification."""
        ...


class ModelSink(Sink, Protocol):
    """A sink that also takes registered models."""

    def write_model(self, model: MlflowModel, ids: dict[str, str]) -> None:
        """Write `model`, its versions pointing at the runs `ids` maps their run ids to."""
        ...

    def read_models(self, names: set[str]) -> Iterator[MlflowModel]:
        """The models `names` as this sink now holds them, for verification."""
        ...


def fingerprint(run: MlflowRun) -> str:
    """A digest of everything a copy writes of a run (on import and on export)."""
    body = [
        run.status,
        run.start_ms,
        run.end_ms,
        run.name,
        sorted(run.params.items()),
        sorted(run.tags.items()),
        sorted(run.metrics.items()),
        run.datasets,
        run.artifacts,
    ]
    return hashlib.sha1(json.dumps(body, allow_nan=True).encode()).hexdigest()


def dataset_dict(dataset: Any, context: str | None) -> dict[str, str]:
    """An MLflow Dataset entity (or its dictionary) as the flat dict MlflowRun keeps."""
    raw = dataset if isinstance(dataset, dict) else dataset.to_dictionary()
    flat = {
        k: str(raw.get(k) or "")
        for k in ("name", "digest", "source_type", "source", "schema", "profile")
    }
    if context:
        flat["context"] = context
    return flat
