"""MLflow experiments over xtrack's experiment names.

In xtrack an experiment is a name on its runs. MLflow also has experiments without runs
(`create_experiment`, then runs later), experiment tags, and a deleted state: those are
recorded in the store itself (`RunStore.experiments`, store/experiments.py), so every server
of one store (a team's database) gives the same experiments, tags and deletions, and they
outlive a restart. The experiments MLflow sees are the names of the store's runs plus the
recorded ones. Ids come from the names (`mapping.experiment_id`): the same on every server.

Servers before that kept the book in `mlflow-experiments.json` in the store's (local)
folder: its entries are recorded in the store on first use, and the file is then renamed
`mlflow-experiments.json.imported`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ...store.contract import RunStore
from ...store.experiments import ExperimentRecord
from .errors import RESOURCE_ALREADY_EXISTS, MlflowError, invalid, missing
from .mapping import (
    DEFAULT_EXPERIMENT,
    experiment_id,
    kv,
    to_mlflow_experiment,
    to_xtrack_experiment,
)

BOOK_FILE = "mlflow-experiments.json"
IMPORTED_SUFFIX = ".imported"
MAX_NAME_LENGTH = 500


class ExperimentBook:
    """What MLflow knows about experiments beyond their runs (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        """`folder`: where a server of an earlier version kept its book file."""
        self.old_file = folder / BOOK_FILE
        self._lock = threading.Lock()
        self._imported = False
        # id -> name of every experiment seen: an id always means the same name, so a hit
        # never goes stale, and runs/create does not read every run to find its experiment.
        self._names: dict[str, str] = {}

    def _records(self, store: RunStore, name: str | None = None) -> dict[str, ExperimentRecord]:
        self._import_old_file(store)
        return store.experiments(name)

    def _import_old_file(self, store: RunStore) -> None:
        """Record the old book file's entries that the store lacks, once, then rename the
        file (kept: the store's records are the book from now on)."""
        if self._imported:
            return
        with self._lock:
            if self._imported:
                return
            try:
                entries = dict(json.loads(self.old_file.read_text()))
            except FileNotFoundError:
                entries = {}
            for name, entry in entries.items():
                store.add_experiment(
                    name,
                    tags=entry.get("tags") or {},
                    deleted=bool(entry.get("deleted")),
                    created_at=entry["created"] / 1000 if "created" in entry else None,
                    updated_at=entry["updated"] / 1000 if "updated" in entry else None,
                )
            if entries:
                try:
                    self.old_file.replace(self.old_file.with_name(BOOK_FILE + IMPORTED_SUFFIX))
                except FileNotFoundError:
                    pass  # another server of this folder imported it at the same time
            self._imported = True

    # -- names and ids -------------------------------------------------------------------
    def names(self, store: RunStore) -> list[str]:
        """Every experiment: the runs' and the recorded ones, the default one first."""
        return self._listing(store, self._records(store))

    def _listing(self, store: RunStore, records: dict[str, ExperimentRecord]) -> list[str]:
        in_runs = store.query_runs(columns=[]).columns["experiment"]
        found = list(dict.fromkeys([DEFAULT_EXPERIMENT, *records, *in_runs]))
        self._names.update((experiment_id(name), name) for name in found)
        return found

    def name_of(self, store: RunStore, exp_id: str) -> str:
        """The xtrack name of MLflow experiment `exp_id` (RESOURCE_DOES_NOT_EXIST if none)."""
        exp_id = str(exp_id)
        if exp_id not in self._names:
            self.names(store)
        if exp_id in self._names:
            return self._names[exp_id]
        raise missing(f"No Experiment with id={exp_id} exists")

    def exists(self, store: RunStore, name: str) -> bool:
        if name == DEFAULT_EXPERIMENT or self._records(store, name):
            return True
        return bool(store.query_runs(f"experiment = {quote(name)}", limit=1).total)

    def is_deleted(self, store: RunStore, name: str) -> bool:
        record = self._records(store, name).get(name)
        return record is not None and record["deleted"]

    # -- changes -------------------------------------------------------------------------
    def create(self, store: RunStore, mlflow_name: str, tags: dict[str, str]) -> str:
        """A new experiment; RESOURCE_ALREADY_EXISTS when one has that name (also when
        another server of the store creates it at the same moment)."""
        name = to_xtrack_experiment(mlflow_name)
        if not mlflow_name or len(mlflow_name) > MAX_NAME_LENGTH:
            raise invalid(f"experiment names are 1 to {MAX_NAME_LENGTH} characters")
        if self.exists(store, name) or not store.add_experiment(name, tags=tags):
            raise MlflowError(
                RESOURCE_ALREADY_EXISTS, f"Experiment(name={mlflow_name}) already exists."
            )
        return experiment_id(name)

    def update(
        self,
        store: RunStore,
        name: str,
        *,
        tags: dict[str, str] | None = None,
        drop_tag: str | None = None,
        deleted: bool | None = None,
    ) -> None:
        """Set tags, remove one, or mark the experiment deleted or restored."""
        self._import_old_file(store)
        store.update_experiment(name, tags=tags, drop_tag=drop_tag, deleted=deleted)

    def describe(self, store: RunStore, name: str) -> dict[str, Any]:
        """MLflow's Experiment object for `name`."""
        return describe(name, self._records(store, name).get(name))

    def describe_all(self, store: RunStore) -> list[dict[str, Any]]:
        """MLflow's Experiment object of every experiment (`names` order), in one read of
        the recorded ones."""
        records = self._records(store)
        return [describe(name, records.get(name)) for name in self._listing(store, records)]


def describe(name: str, record: ExperimentRecord | None) -> dict[str, Any]:
    """MLflow's Experiment object for `name` and its record (None: only a name on runs)."""
    exp_id = experiment_id(name)
    body: dict[str, Any] = {
        "experiment_id": exp_id,
        "name": to_mlflow_experiment(name),
        "artifact_location": f"mlflow-artifacts:/{exp_id}",
        "lifecycle_stage": "deleted" if record and record["deleted"] else "active",
        "tags": kv(dict(record["tags"]) if record else {}),
    }
    if record is not None:
        body["creation_time"] = int(record["created_at"] * 1000)
        body["last_update_time"] = int(record["updated_at"] * 1000)
    return body


def quote(text: str) -> str:
    """`text` as a string literal of xtrack's filter language."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
