"""MLflow experiments over xtrack's experiment names.

In xtrack an experiment is a name on its runs. MLflow also has experiments without runs
(`create_experiment`, then runs later), experiment tags, and a deleted state: those are
kept in `mlflow-experiments.json` in the store folder (written whole and atomically), so
they outlive a server restart. The experiments MLflow sees are the names of the store's
runs plus those the file lists.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ...store.contract import RunStore
from .errors import RESOURCE_ALREADY_EXISTS, MlflowError, invalid, missing
from .mapping import (
    DEFAULT_EXPERIMENT,
    experiment_id,
    kv,
    to_mlflow_experiment,
    to_xtrack_experiment,
)

BOOK_FILE = "mlflow-experiments.json"
MAX_NAME_LENGTH = 500


class ExperimentBook:
    """What MLflow knows about experiments beyond their runs (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.path = root / BOOK_FILE
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] | None = None
        # id -> name of every experiment seen: an id always means the same name, so a hit
        # never goes stale, and runs/create does not read every run to find its experiment.
        self._names: dict[str, str] = {}

    # -- the file ------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                self._entries = dict(json.loads(self.path.read_text()))
            except FileNotFoundError:
                self._entries = {}
        return self._entries

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".mlflow-experiments.")
        with os.fdopen(fd, "w") as fh:
            json.dump(self._entries, fh)
        os.replace(tmp, self.path)

    def _entry(self, name: str) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return self._load().setdefault(
            name, {"tags": {}, "deleted": False, "created": now, "updated": now}
        )

    # -- names and ids -------------------------------------------------------------------
    def names(self, store: RunStore) -> list[str]:
        """Every experiment: the runs' and the file's, the default one first."""
        with self._lock:
            listed = list(self._load())
        in_runs = store.query_runs(columns=[]).columns["experiment"]
        found = list(dict.fromkeys([DEFAULT_EXPERIMENT, *listed, *in_runs]))
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
        with self._lock:
            if name in self._load() or name == DEFAULT_EXPERIMENT:
                return True
        return bool(store.query_runs(f"experiment = {quote(name)}", limit=1).total)

    def is_deleted(self, name: str) -> bool:
        with self._lock:
            return bool(self._load().get(name, {}).get("deleted"))

    # -- changes -------------------------------------------------------------------------
    def create(self, store: RunStore, mlflow_name: str, tags: dict[str, str]) -> str:
        """A new experiment; RESOURCE_ALREADY_EXISTS when one has that name."""
        name = to_xtrack_experiment(mlflow_name)
        if not mlflow_name or len(mlflow_name) > MAX_NAME_LENGTH:
            raise invalid(f"experiment names are 1 to {MAX_NAME_LENGTH} characters")
        if self.exists(store, name):
            raise MlflowError(
                RESOURCE_ALREADY_EXISTS, f"Experiment(name={mlflow_name}) already exists."
            )
        with self._lock:
            self._entry(name)["tags"].update(tags)
            self._save()
        return experiment_id(name)

    def update(
        self,
        name: str,
        *,
        tags: dict[str, str] | None = None,
        drop_tag: str | None = None,
        deleted: bool | None = None,
    ) -> None:
        """Set tags, remove one, or mark the experiment deleted or restored."""
        with self._lock:
            entry = self._entry(name)
            entry["tags"].update(tags or {})
            if drop_tag is not None:
                entry["tags"].pop(drop_tag, None)
            if deleted is not None:
                entry["deleted"] = deleted
            entry["updated"] = int(time.time() * 1000)
            self._save()

    def describe(self, name: str) -> dict[str, Any]:
        """MLflow's Experiment object for `name`."""
        with self._lock:
            entry = dict(self._load().get(name) or {"tags": {}, "deleted": False})
        exp_id = experiment_id(name)
        body: dict[str, Any] = {
            "experiment_id": exp_id,
            "name": to_mlflow_experiment(name),
            "artifact_location": f"mlflow-artifacts:/{exp_id}",
            "lifecycle_stage": "deleted" if entry.get("deleted") else "active",
            "tags": kv(dict(entry.get("tags", {}))),
        }
        for key, field in (("created", "creation_time"), ("updated", "last_update_time")):
            if key in entry:
                body[field] = entry[key]
        return body


def quote(text: str) -> str:
    """`text` as a string literal of xtrack's filter language."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
