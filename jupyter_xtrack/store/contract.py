"""The store contract: every method the rest of the package (and the background writer)
calls on a run store, and what each promises. `Store` (SQLite plus a blob folder) is the
first implementation; a second backend (PostgreSQL and object storage) implements this
Protocol and no caller changes. Callers type their store as `RunStore`.

Errors: a run reference that matches nothing raises UnknownRunError; a malformed filter
FilterError; a store that cannot be read or written StoreError (all in store.errors).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .experiments import ExperimentRecord
    from .registry import (
        AliasChangeRecord,
        ModelRecord,
        ModelVersionRecord,
        VersionDeletionRecord,
        VersionSource,
    )
    from .table import RunTable

# (run_id, key, value, step, wall_time)
MetricPoint = tuple[str, str, float, int | None, float]
# A metric's last point: (value, step, wall_time)
MetricLast = tuple[float, int | None, float]


@runtime_checkable
class RunStore(Protocol):
    """A store of runs, their metrics, facts, files, artifacts and content-addressed blobs."""

    @property
    def root(self) -> Path:
        """The store's local folder (blobs and archives live under it, unless XTRACK_ARTIFACTS
        puts blobs elsewhere); for a database server, a local folder of this machine."""
        ...

    @property
    def location(self) -> str:
        """What `open_store` takes to open this store again, in another process too: its
        folder, or its URL as given (a URL may hold a password: show `redact(location)`)."""
        ...

    @property
    def is_local(self) -> bool:
        """True for a store in a folder of this machine (SQLite), False for a shared server:
        who owns the folder then says who wrote it (the registry's trust check)."""
        ...

    def close(self) -> None:
        """Release every connection; using the store afterwards raises StoreError."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Group the writes made inside the block (on this thread): all stored, or none."""
        ...

    # -- a run's life ----------------------------------------------------------------------
    def create_run(
        self,
        *,
        name: str | None = None,
        experiment: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        kind: str = "cell",
        notebook_path: str | None = None,
        cell_id: str | None = None,
        started_at: float | None = None,
        run_id: str | None = None,
        user: str | None = None,
        origin: tuple[str | None, int | None] | None = None,
    ) -> tuple[str, int]:
        """Record a new run, status "running", owned by this process. Returns (id, number);
        numbers count up per store and are never reused. `run_id` (from
        `store.ids.new_run_id`) is the id to give it, chosen before the store is written;
        `user` who ran it (default: `liveness.current_user()`); `origin` the (host, pid)
        it ran in, for a copy from another store (default: this process)."""
        ...

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        """Note that the run's process is alive (a run whose heartbeat stops is crashed)."""
        ...

    def finish_run(self, run_id: str, *, status: str, ended_at: float | None = None) -> None:
        """End the run with `status` (one of facts.STATUSES), setting ended_at and duration_s."""
        ...

    def set_name(self, run_id: str, name: str | None) -> None:
        """Rename the run."""
        ...

    def set_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add or overwrite params; values keep their JSON type when read back."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite string tags."""
        ...

    def get_tag(self, run_id: str, key: str) -> str | None:
        """One tag (None when the run or the tag is missing); cheap enough to poll."""
        ...

    def delete_tag(self, run_id: str, key: str) -> bool:
        """Remove one tag of the run; True if it was there, False if not (UnknownRunError
        for an unknown run)."""
        ...

    def set_facts(self, run_id: str, **facts: Any) -> None:
        """Store JSON-able facts by kind (facts.Fact), each replacing its previous value;
        None removes a kind. The git fact's commit, branch and dirty are also queryable."""
        ...

    # -- metrics -----------------------------------------------------------------------------
    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        """Append metric points in one transaction, NaN and infinities kept exactly;
        UnknownRunError (nothing written) for a run id not in the store."""
        ...

    def metric_history(self, run_id: str, key: str) -> dict[str, list[Any]]:
        """Every point of `key` as {"step", "value", "time"} lists, in logged order."""
        ...

    def last_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricLast]]:
        """The last point (highest step, then latest time) of every metric of each run, by
        run id then key; cheap (no history read); unknown ids left out."""
        ...

    def metric_keys(self, run_id: str) -> list[str]:
        """The metric keys the run has logged, sorted."""
        ...

    # -- files, blobs, artifacts ----------------------------------------------------------
    def record_files(self, run_id: str, files: Sequence[Mapping[str, Any]]) -> None:
        """Record files the run read ("input") or wrote ("output"); the same (direction,
        path) again replaces the first record."""
        ...

    def producer_of(self, file_hash: str, *, exclude_run: str | None = None) -> str | None:
        """The newest run (other than `exclude_run`) that wrote a file with `file_hash`."""
        ...

    def dataset_producer(self, fingerprint: str, *, run_id: str) -> str | None:
        """The earliest run created before `run_id` whose datasets fact holds `fingerprint`
        (an in-memory object's content hash): the run that produced that content, or None
        when `run_id` is the first to hold it. Cheap: an index lookup, kept in step with the
        datasets fact by `set_facts`."""
        ...

    def put_blob(self, data: bytes | bytearray | memoryview) -> str:
        """Store bytes once per distinct content; return their hash."""
        ...

    def put_blob_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a file as a blob, streaming it; return (hash, size)."""
        ...

    def has_blob(self, h: str) -> bool:
        """True when blob `h` is stored (ValueError if `h` is malformed): lets a copy
        between stores skip blobs the target holds already."""
        ...

    def get_blob(self, h: str) -> bytes:
        """The bytes of blob `h`, only ever from a regular file inside the store's blob
        folder (BlobUnavailableError, a StoreError, if missing or a link leads elsewhere;
        ValueError if `h` is malformed). Every reader of blob content goes through this
        or `blob_file`."""
        ...

    def blob_file(self, h: str) -> Path:
        """The real path of blob `h` for streaming it, checked as `get_blob` checks it."""
        ...

    def blob_path(self, h: str) -> Path:
        """Where blob `h` is placed (unchecked, may not exist; ValueError if malformed):
        for writers and gc, never for reading content."""
        ...

    def add_artifact(self, run_id: str, name: str, *, blob: str, size: int,
                     media_type: str | None = None,
                     meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Attach stored blob `blob` to the run as artifact `name` (replacing one of the
        same name); return its record."""
        ...

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """The run's artifacts in the order they were added."""
        ...

    # -- notebook outputs archived by the git filter --------------------------------------
    def archive_outputs(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Remember stripped notebook outputs, all in one transaction."""
        ...

    def archived_outputs(self, notebook_path: str) -> list[dict[str, Any]]:
        """The outputs archived for `notebook_path`, newest first."""
        ...

    def run_for_cell(self, cell_id: str) -> str | None:
        """The newest run recorded for notebook cell `cell_id`, or None."""
        ...

    # -- reading runs ----------------------------------------------------------------------
    def resolve_ref(self, ref: str | int) -> str:
        """The full id of the run `ref` names (id, unique id prefix, or number)."""
        ...

    def get_run(self, ref: str | int) -> dict[str, Any]:
        """Everything about one run, shaped as facts.RunRecord."""
        ...

    def get_runs(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`get_run` of many runs (full ids) by id, in the order given, unknown ids left
        out: a few queries per hundreds of runs, where a loop of `get_run` costs several
        round trips per run against a database server (what a sync compares)."""
        ...

    def metric_counts(self, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """How many points each metric of each run holds, by run id then key; cheap (no
        history read); runs without metrics and unknown ids left out."""
        ...

    def query_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        columns: Sequence[str] | None = None,
        parent_id: str | None = None,
    ) -> RunTable:
        """Runs matching `filter` (the filter language of store.query), newest first unless
        ordered, paged by limit/offset; FilterError for a malformed filter."""
        ...

    def count_runs_by(
        self,
        field: str,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[Any, int]]:
        """[(value, runs)...] of plain run field `field` (user, host, status, ...) among the
        runs `filter` matches (of `experiment`, children of `parent_id`), most runs first,
        at most `limit` values; one grouped query. ValueError for another field."""
        ...

    def cell_ids(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The notebook cell id of each of `run_ids` that has one."""
        ...

    def child_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """How many child runs each of `run_ids` has (0 for none or unknown ids)."""
        ...

    # -- the model registry (store/registry.py) ------------------------------------------
    # UnknownModelError (a StoreError and LookupError) for a model, version or alias the
    # registry does not hold; ValueError for an invalid name or alias, or the reserved
    # alias "latest" (always computed: the highest existing version, never stored).
    def register_model_version(
        self,
        name: str,
        source: VersionSource,
        *,
        user: str | None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        aliases: Sequence[str] = (),
    ) -> ModelVersionRecord:
        """Add the next version of model `name` (created on first use): numbers go up by
        one per name and are never reused, even after a delete, also with concurrent
        writers. Tags and aliases are set in the same transaction (each alias change is
        appended to the history)."""
        ...

    def copy_model_version(self, model: ModelRecord, version: ModelVersionRecord) -> None:
        """Add `version` read from another store (`xtrack push/pull`) under its own number,
        creation time, user, description and tags, creating the model from `model` if
        missing; later versions number after it. ValueError when the number is taken."""
        ...

    def set_model_alias(
        self, name: str, alias: str, version: int, *, user: str | None,
        reason: str | None = None, evaluation: str | None = None,
    ) -> AliasChangeRecord:
        """Point `alias` at `version` and append the change (who, when, from, to, why, the
        evaluation run that justified it) to the append-only alias history."""
        ...

    def delete_model_alias(
        self, name: str, alias: str, *, user: str | None, reason: str | None = None
    ) -> AliasChangeRecord:
        """Remove `alias` (to_version None in the history)."""
        ...

    def set_model_tags(
        self, name: str, tags: Mapping[str, str], *, version: int | None = None
    ) -> None:
        """Add or overwrite tags on the model (version None) or on one of its versions."""
        ...

    def set_model_description(self, name: str, description: str | None) -> None:
        """Set (or, with None, clear) the model's own description; UnknownModelError for a
        model the registry does not hold."""
        ...

    def delete_model_version(
        self,
        name: str,
        version: int,
        *,
        user: str | None,
        reason: str | None = None,
        at: float | None = None,
    ) -> None:
        """Delete a version (its number is not reused); its aliases are removed, each
        removal kept in the history, and the deletion is kept (`model_version_deletions`):
        who, `at` (default now; a sync passes the source's), why, what the version was."""
        ...

    def model_version_deletions(self, name: str | None = None) -> list[VersionDeletionRecord]:
        """The deleted versions (of model `name`, or of every model), by name and number."""
        ...

    def get_model_version(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersionRecord:
        """One version: by number, by alias ("latest" included), or the latest."""
        ...

    def search_model_versions(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, str | None] | None = None,
        alias: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[ModelVersionRecord]:
        """Versions of model `name` (exact), carrying every tag in `tags` (a None value:
        any value), holding `alias` and made by run `run_id`, by name then newest first;
        indexed, so fast with tens of thousands of versions."""
        ...

    def search_models(
        self,
        text: str | None = None,
        *,
        tags: Mapping[str, str | None] | None = None,
        alias: str | None = None,
        limit: int | None = None,
    ) -> list[ModelRecord]:
        """Models whose name contains `text` (case-insensitive), with every tag of `tags`
        on the model or one of its versions, and an alias `alias`; by name."""
        ...

    def model_alias_history(self, name: str, alias: str | None = None) -> list[AliasChangeRecord]:
        """Every change of the model's aliases (or of `alias`), oldest first."""
        ...

    # -- experiments recorded beyond their runs (store/experiments.py) ----------------------
    def experiments(self, name: str | None = None) -> dict[str, ExperimentRecord]:
        """The experiments recorded (created, tagged or deleted through MLflow's API) by
        name, only `name`'s when given; one read, shared by every client of the store."""
        ...

    def add_experiment(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        deleted: bool = False,
        created_at: float | None = None,
        updated_at: float | None = None,
    ) -> bool:
        """Record experiment `name`; False (nothing written) when it is recorded already,
        also when another client records it at the same moment."""
        ...

    def update_experiment(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        drop_tag: str | None = None,
        deleted: bool | None = None,
    ) -> None:
        """Set tags, remove tag `drop_tag`, or mark it deleted (True) or restored (False)."""
        ...

    # -- housekeeping ----------------------------------------------------------------------
    def delete_runs(self, ids: Iterable[str | int]) -> int:
        """Delete the runs, their child runs and all recorded for them (blobs stay until
        gc); return how many. UnknownRunError (nothing deleted) for an unknown reference."""
        ...

    def gc(self, *, min_age_s: float = ...) -> tuple[int, int]:
        """Delete blobs nothing refers to, older than `min_age_s`; return (count, bytes).
        StoreError while a database moved aside as empty or damaged lies in the store."""
        ...

    def change_signature(self) -> object:
        """A cheap value that changes whenever anything is committed; equal values mean
        nothing changed (the server's change feed polls it while a client waits)."""
        ...
