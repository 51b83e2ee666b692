"""The one copy loop (any source into any sink, parents first, idempotent where the sink
is, verified by counting both sides), and the two entry points built on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.contract import RunStore
from ..store.errors import StoreError
from .model import InteropError, MlflowRun, ModelSink, Sink, Source
from .progress import progress
from .verify import Count, compare, compare_models, table_text

if TYPE_CHECKING:
    from .xtrack_side import XtrackSource

CHUNK = 200  # runs per store transaction


@dataclass
class CopyResult:
    """What a copy did and what its verification found."""

    source: str
    destination: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    table: list[Count] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # source run id -> destination id
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and all(row.ok for row in self.table)

    def summary(self) -> str:
        lines = [
            f"{self.source} -> {self.destination}: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.failed)} failed",
            *self.failed,
            table_text(self.table, "source", "destination"),
            *self.notes,
        ]
        if not self.ok:
            lines.append(
                "verification FAILED: the destination does not hold what the source "
                "holds (rows marked MISMATCH)"
            )
        return "\n".join(lines)


def parents_first(runs: list[MlflowRun]) -> list[MlflowRun]:
    """`runs` ordered so that a parent comes before its children."""
    by_id = {r.run_id: r for r in runs}
    done: set[str] = set()
    ordered: list[MlflowRun] = []

    def visit(run: MlflowRun, path: set[str]) -> None:
        if run.run_id in done:
            return
        parent = by_id.get(run.parent_run_id or "")
        if parent is not None and parent.run_id not in path:
            visit(parent, path | {run.run_id})
        done.add(run.run_id)
        ordered.append(run)

    for run in runs:
        visit(run, set())
    return ordered


def copy_runs(
    source: Source, sink: Sink, experiments: list[str] | None = None, *, show_progress: bool = True
) -> CopyResult:
    """Copy every run of `source` into `sink`, then count both sides."""
    result = CopyResult(source.uri, sink.uri)
    runs = parents_first(list(source.runs(experiments)))
    existing = sink.existing()
    for run in runs:  # runs imported from this very destination are updated there
        found = None if run.run_id in existing else sink.origin(run)
        if found is not None:
            existing[run.run_id] = found
    ids = result.ids
    with progress(len(runs), "copying", enabled=show_progress) as tick:
        for start in range(0, len(runs), CHUNK):
            with sink.chunk():
                for run in runs[start : start + CHUNK]:
                    _copy_one(run, source, sink, existing, ids, result)
                    tick()
    sink.finish()
    result.table = compare(runs, sink.read_back([ids[r.run_id] for r in runs if r.run_id in ids]))
    return result


def _copy_one(
    run: MlflowRun,
    source: Source,
    sink: Sink,
    existing: dict[str, str],
    ids: dict[str, str],
    result: CopyResult,
) -> None:
    target = existing.get(run.run_id)
    if target is not None and sink.unchanged(run, target):
        ids[run.run_id] = target
        result.unchanged += 1
        return
    parent = run.parent_run_id
    parent_id = ids.get(parent or "") or existing.get(parent or "")
    try:
        ids[run.run_id] = sink.write(run, source, parent_id, target)
    except (InteropError, StoreError, OSError) as exc:
        result.failed.append(f"run {run.run_id} ({run.name or 'unnamed'}): {exc}")
        return
    if target is None:
        result.created += 1
    else:
        result.updated += 1


def import_mlflow(
    store: RunStore,
    location: str,
    experiments: list[str] | None = None,
    *,
    show_progress: bool = True,
) -> CopyResult:
    """Import an MLflow tracking URI or mlflow-export-import folder into `store`."""
    from .xtrack_side import StoreSink

    source = open_source(location)
    result = copy_runs(
        source, StoreSink(store, source.uri), experiments, show_progress=show_progress
    )
    _import_models(store, source, result)
    return result


def _import_models(store: RunStore, source: Source, result: CopyResult) -> None:
    """Registered models with their versions and aliases (from a tracking URI or an
    mlflow-export-import folder's models/), their rows added to the table."""
    from .models import ModelImport, ModelSource

    if not isinstance(source, ModelSource):
        return
    models = ModelImport(source, store, result.ids)
    result.table.extend(models.run() if source.has_models() else models.counts())
    result.failed.extend(models.failed)


def export_mlflow(
    store: RunStore,
    location: str,
    filter: str | None = None,
    *,
    folder: bool = False,
    show_progress: bool = True,
) -> CopyResult:
    """Export the runs of `store` matching `filter` into an MLflow tracking URI (a path
    is a file store, a .db path a SQLite one) or, with `folder`, an mlflow-export-import
    folder."""
    from .xtrack_side import XtrackSource

    source, sink = XtrackSource(store, filter), open_sink(location, folder=folder)
    result = copy_runs(source, sink, show_progress=show_progress)
    _export_models(source, sink, result)
    return result


def _export_models(source: XtrackSource, sink: ModelSink, result: CopyResult) -> None:
    """The registry's models of the exported runs, their rows added to the table; a model
    some of whose versions come from runs not exported is left out, with a note."""
    models, skipped = source.models(set(result.ids))
    result.notes.extend(skipped)
    for model in models:
        try:
            sink.write_model(model, result.ids)
        except (InteropError, OSError) as exc:
            result.failed.append(f"model {model.name}: {exc}")
    result.table.extend(compare_models(models, sink.read_models({m.name for m in models})))


def open_source(location: str) -> Source:
    from .client import ClientSource
    from .folder import FolderSource, is_export_folder

    if is_export_folder(location):
        return FolderSource(location)
    return ClientSource(location)


def open_sink(location: str, *, folder: bool = False) -> ModelSink:
    from .client import ClientSink
    from .folder import FolderSink

    if folder:
        return FolderSink(location)
    if location.endswith(".db") and "://" not in location:
        return ClientSink(f"sqlite:///{Path(location).resolve()}")
    return ClientSink(location)
