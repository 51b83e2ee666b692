"""Copying runs between two stores (`xtrack push` / `pull`), through the RunStore contract
only, so any pair of backends works (two SQLite folders today, a PostgreSQL store later).

A run is copied with its params, every metric point, tags, facts, recorded files,
artifacts, the blobs all of these name, and its relations (the selected runs' parents and
children come along, parents first). It is idempotent by run id and content: a run whose
target copy already reads the same (record and number of points per metric) is skipped;
one that changed since (more points, finished, new tags or facts) is brought up to date.
Blobs go first and skip what the target holds; the runs' records are then written in
`batch()` transactions of whole runs, so a copy killed at any moment leaves whole runs or
none, and running it again finishes the job. A copy keeps who ran the run and where (host,
pid), not who copied it.

Runs still running (and their children) are left for a later sync: no heartbeat reaches a
copy, so the target would read it as crashed 30 s later (liveness.STALE_HEARTBEAT_S) while
it still runs. The source judges them as any read does (a run whose process is gone reads
crashed and is copied so), and the first sync after they end copies their final state.

The model registry comes along, as mlflow-export-import copies registered models with their
versions and runs: after the runs, each version made from a copied run (every version when
there is no filter) keeps its number, run, blob, description, tags, creation time and user.
A version the target holds with the same content (run, artifact, blob, size, format) is left
alone but for new tags; one with other content under the same number is a conflict, reported
and never overwritten. An alias is set where the target lacks it or where the source moved it
last (the history entry keeps who moved it and why); where the target moved it since, it is
kept and reported. Deletions come along too: a version the source deleted is deleted in the
target where it holds the same model under that number, an alias the source removed last is
removed, and a version the target deleted is never copied back (the deletion is the later
change). A copy is tagged with the store it came from (`COPIED_FROM_TAG`): loading
it unpickles only when trusted, even in a store of one's own. A version waits with its run
while that runs. Versions are written 100 per transaction after their blobs, so a killed
copy resumes. Experiments recorded beyond their runs (MLflow's, with tags) come along too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .blobs import hashes_in
from .contract import MetricPoint, RunStore
from .errors import BlobUnavailableError
from .location import redact
from .registry import COPIED_FROM_TAG

if TYPE_CHECKING:
    from .registry import (
        AliasChangeRecord,
        ModelRecord,
        ModelVersionRecord,
        VersionDeletionRecord,
    )

# Fields of a run record that differ between two faithful copies: the store's own number,
# the last heartbeat (the copy's is its creation), where it ran (set once, when the copy is
# created: copies made before it was kept hold the copier's) and children (compared as
# runs of their own).
_NOT_COMPARED = frozenset({"number", "pid", "host", "heartbeat_at", "children"})
# progress(done, total, what): what is "runs", then "model versions".
Progress = Callable[[int, int, str], None]

# Runs written per transaction: all of them or none are stored.
RUNS_PER_TRANSACTION = 100
# Model versions written per transaction (a commit is a disk flush on a database server).
VERSIONS_PER_TRANSACTION = 100
BLOB_THREADS = 8


@dataclass
class RegistrySummary:
    """What a sync did to the model registry; `conflicts` says each refusal in a line."""

    copied: int = 0
    updated: int = 0
    skipped: int = 0
    waiting: int = 0
    models: int = 0  # models whose own tags or description were brought up to date
    aliases: int = 0
    deleted: int = 0  # versions deleted in the target as they were in the source
    aliases_removed: int = 0
    left_deleted: int = 0  # versions the target deleted, not copied back
    conflicts: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"model versions: {self.copied} copied, {self.updated} updated, "
            f"{self.skipped} unchanged"
        )
        if self.deleted:
            text += f", {self.deleted} deleted"
        text += f"; aliases: {self.aliases} set"
        if self.aliases_removed:
            text += f", {self.aliases_removed} removed"
        if self.models:
            text += f"; {self.models} models' tags or description updated"
        if self.left_deleted:
            text += f"; {self.left_deleted} versions deleted in the target, not copied again"
        if self.waiting:
            text += f"; {self.waiting} versions wait for their running run"
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflicts, not copied"
        return text

    def __bool__(self) -> bool:
        return any(
            (
                self.copied,
                self.updated,
                self.skipped,
                self.waiting,
                self.deleted,
                self.aliases_removed,
                self.left_deleted,
                self.conflicts,
            )
        )


@dataclass
class SyncSummary:
    """What one sync did; `str()` is the line the CLI prints."""

    copied: int = 0
    updated: int = 0
    skipped: int = 0
    running: int = 0
    blobs: int = 0
    bytes: int = 0
    unreadable_blobs: int = 0
    experiments: int = 0
    registry: RegistrySummary = field(default_factory=RegistrySummary)

    def __str__(self) -> str:
        text = (
            f"runs: {self.copied} copied, {self.updated} updated, {self.skipped} unchanged; "
            f"blobs: {self.blobs} copied ({_size(self.bytes)})"
        )
        if self.running:
            text += f"; {self.running} still running (or under a running run), left for later"
        if self.unreadable_blobs:
            text += f"; {self.unreadable_blobs} blobs refused by the source, not copied"
        if self.experiments:
            text += f"; experiments: {self.experiments} recorded or tagged"
        if self.registry:
            text += f"; {self.registry}"
        return text


def sync_runs(
    source: RunStore,
    target: RunStore,
    filter: str | None = None,
    *,
    progress: Progress | None = None,
) -> SyncSummary:
    """Copy the runs of `source` matching `filter` (the filter language; None: all), with
    their parents and children, then the model versions made from them (all of them
    without a filter), into `target`; return what was done. `progress(done, total, what)`
    is called as runs, then versions, are compared and written."""
    records = _selected(source, filter)
    summary = SyncSummary()
    waiting: set[str] = set()
    for start in range(0, len(records), RUNS_PER_TRANSACTION):
        group = records[start : start + RUNS_PER_TRANSACTION]
        ready = []
        for record in group:
            if record["status"] == "running" or record["parent_id"] in waiting:
                # A child waits with its parent: it cannot be created before it.
                waiting.add(record["id"])
                summary.running += 1
            else:
                ready.append(record)
        _apply(source, target, _plans(source, target, ready, summary), summary)
        if progress is not None:
            progress(start + len(group), len(records), "runs")
    if filter is None:
        summary.experiments = _sync_experiments(source, target, None)
        _sync_registry(source, target, None, waiting, summary, progress)
    else:
        summary.experiments = _sync_experiments(source, target, {r["experiment"] for r in records})
        _sync_registry(source, target, {r["id"] for r in records}, waiting, summary, progress)
    return summary


def _sync_experiments(source: RunStore, target: RunStore, names: set[str] | None) -> int:
    """Record the source's recorded experiments (MLflow's: created before their runs,
    tagged, deleted) among `names` (None: all) that the target lacks, and add the tags
    it lacks to those it has (a deletion is not carried over: it is the team's call);
    return how many changed."""
    theirs = target.experiments()
    changed = 0
    for name, record in source.experiments().items():
        if names is not None and name not in names:
            continue
        have = theirs.get(name)
        if have is None:
            target.add_experiment(
                name,
                tags=record["tags"],
                deleted=record["deleted"],
                created_at=record["created_at"],
                updated_at=record["updated_at"],
            )
        elif new_tags := {k: v for k, v in record["tags"].items() if have["tags"].get(k) != v}:
            target.update_experiment(name, tags=new_tags)
        else:
            continue
        changed += 1
    return changed


def _selected(source: RunStore, filter: str | None) -> list[dict[str, Any]]:
    """The records of the matching runs, their ancestors and descendants, each parent
    before its children (a child's parent must exist when it is created). Read a
    generation at a time, each with one `get_runs`."""
    found: dict[str, dict[str, Any]] = {}
    asked: set[str] = set()
    wanted = list(source.query_runs(filter, columns=["id"]).ids)
    while wanted:
        asked.update(wanted)
        records = source.get_runs(wanted)
        found.update(records)
        related = (
            run_id
            for record in records.values()
            for run_id in (*record["children"], record["parent_id"])
        )
        wanted = list(dict.fromkeys(r for r in related if r and r not in asked))
    return sorted(found.values(), key=lambda r: (_depth(r, found), r["started_at"] or 0))


def _depth(record: Mapping[str, Any], found: Mapping[str, Mapping[str, Any]]) -> int:
    depth, parent = 0, record["parent_id"]
    while parent in found:
        depth, parent = depth + 1, found[parent]["parent_id"]
    return depth


@dataclass
class _Plan:
    """One run to write: its record, the target's copy (None: create it), the source's
    metric histories and how many points of each the target has."""

    record: dict[str, Any]
    existing: dict[str, Any] | None
    history: dict[str, dict[str, list[Any]]]
    counts: dict[str, int]


def _plans(
    source: RunStore, target: RunStore, records: list[dict[str, Any]], summary: SyncSummary
) -> list[_Plan]:
    """What to write for `records` (counting those with nothing to write in `summary`).
    The target's copies and both sides' point counts are read for the whole group at
    once; a source history is read only for a run that has something to copy."""
    ids = [record["id"] for record in records]
    existing = target.get_runs(ids)
    have = target.metric_counts(ids)
    want = source.metric_counts(ids)
    plans = []
    for record in records:
        run_id = record["id"]
        copy = existing.get(run_id)
        counts = have.get(run_id, {}) if copy is not None else {}
        if copy is not None and _same(record, copy) and counts == want.get(run_id, {}):
            summary.skipped += 1
            continue
        history = {key: source.metric_history(run_id, key) for key in want.get(run_id, {})}
        plans.append(_Plan(record, copy, history, counts))
    return plans


def _apply(source: RunStore, target: RunStore, plans: list[_Plan], summary: SyncSummary) -> None:
    """Write `plans` in one transaction, after their blobs: a copy stopped at any moment
    leaves whole runs (blobs first) or none, and one commit per group of runs, not per
    run, keeps a push of thousands of runs from waiting on a disk flush for each. The
    group's metric points go in one `log_metrics`: a few statements, not a few per run."""
    if not plans:
        return
    # every blob the records name: facts, files, artifacts
    wanted = set().union(*(hashes_in(json.dumps(p.record, default=str)) for p in plans))
    _copy_blobs(source, target, wanted, summary)
    with target.batch():
        for plan in plans:
            if plan.existing is None:
                _create(target, plan.record)
            _write(target, plan.record, plan.existing)
        target.log_metrics(
            [p for plan in plans for p in _new_points(plan.record["id"], plan.history, plan.counts)]
        )
    for plan in plans:
        if plan.existing is None:
            summary.copied += 1
        else:
            summary.updated += 1


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _shape(a) == _shape(b)


def _shape(record: Mapping[str, Any]) -> str:
    """The record as compared: JSON (so NaN equals NaN), without what a copy changes (an
    artifact's created_at is the time it was attached in that store)."""
    kept = {k: v for k, v in record.items() if k not in _NOT_COMPARED}
    kept["artifacts"] = [
        {k: v for k, v in art.items() if k != "created_at"} for art in record["artifacts"]
    ]
    return json.dumps(kept, sort_keys=True, default=str)


def _copy_blobs(
    source: RunStore, target: RunStore, hashes: set[str], summary: SyncSummary
) -> set[str]:
    """Copy the blobs of `hashes` that the target lacks, several at a time (each is a disk
    flush, or a round trip to object storage); return those the source refused."""
    refused: set[str] = set()
    with ThreadPoolExecutor(max_workers=BLOB_THREADS) as pool:
        ordered = sorted(hashes)
        sizes = pool.map(lambda h: _copy_blob(source, target, h), ordered)
        for h, size in zip(ordered, sizes, strict=True):
            _count_blob(summary, size)
            if size is not None and size < 0:
                refused.add(h)
    return refused


def _count_blob(summary: SyncSummary, size: int | None) -> None:
    """Count one `_copy_blob` result in `summary`."""
    if size is None:
        return
    if size < 0:
        summary.unreadable_blobs += 1
    else:
        summary.blobs += 1
        summary.bytes += size


def _copy_blob(source: RunStore, target: RunStore, h: str) -> int | None:
    """Copy blob `h`; its size, None when there was nothing to copy (the target has it,
    or `h` is a recorded file's content hash, not a blob), -1 when the source refuses it
    (a link out of its blob folder: never copied)."""
    if target.has_blob(h):
        return None
    try:
        path = source.blob_file(h)
    except BlobUnavailableError:
        return -1 if source.has_blob(h) else None
    return target.put_blob_file(path)[1]


def _create(target: RunStore, record: Mapping[str, Any]) -> None:
    target.create_run(
        run_id=record["id"],
        name=record["name"],
        experiment=record["experiment"],
        kind=record["kind"],
        parent_id=record["parent_id"],
        notebook_path=record["notebook_path"],
        cell_id=record["cell_id"],
        started_at=record["started_at"],
        user=record.get("user"),
        origin=(record["host"], record["pid"]),
    )


def _write(
    target: RunStore,
    record: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
) -> None:
    """Bring the target's copy in line with `record`, but for its metric points (within
    the caller's batch)."""
    run_id = record["id"]
    if existing is not None and existing["name"] != record["name"]:
        target.set_name(run_id, record["name"])
    target.set_params(run_id, record["params"])
    target.set_tags(run_id, record["tags"])
    gone = set(existing["facts"]) - set(record["facts"]) if existing else set()
    target.set_facts(run_id, **record["facts"], **dict.fromkeys(gone))
    target.record_files(
        run_id, [*_files(record["inputs"], "input"), *_files(record["outputs"], "output")]
    )
    for art in record["artifacts"]:
        target.add_artifact(
            run_id,
            art["name"],
            blob=art["hash"],
            size=art["size"],
            media_type=art["media_type"],
            meta=art["meta"],
        )
    target.finish_run(run_id, status=record["status"], ended_at=record["ended_at"])


def _sync_registry(
    source: RunStore,
    target: RunStore,
    selected: set[str] | None,
    waiting: set[str],
    summary: SyncSummary,
    progress: Progress | None,
) -> None:
    """Copy the versions made from the `selected` runs (None: every version), carry their
    deletions, then their models' tags, descriptions and aliases (see the module
    docstring)."""
    versions = [
        v for v in source.search_model_versions() if selected is None or v["run_id"] in selected
    ]
    deletions = [
        d
        for d in source.model_version_deletions()
        if selected is None or d["run_id"] in selected
    ]
    if not versions and not deletions:
        return
    versions.sort(key=lambda v: (v["name"], v["version"]))
    models = {m["name"]: m for m in source.search_models()}
    held = {(v["name"], v["version"]): v for v in target.search_model_versions()}
    gone = {(d["name"], d["version"]): d for d in target.model_version_deletions()}
    same: dict[str, set[int]] = {}  # the versions both stores hold with the same content
    for start in range(0, len(versions), VERSIONS_PER_TRANSACTION):
        group = versions[start : start + VERSIONS_PER_TRANSACTION]
        new = [
            v
            for v in group
            if v["run_id"] not in waiting
            and (v["name"], v["version"]) not in held
            and (v["name"], v["version"]) not in gone
        ]
        refused = _copy_blobs(source, target, {v["blob"] for v in new}, summary)
        with target.batch():
            for version in group:
                if version["run_id"] in waiting:
                    summary.registry.waiting += 1
                elif (version["name"], version["version"]) in gone:
                    _left_deleted(version, gone, summary.registry)
                elif version["blob"] not in refused and _sync_version(
                    source, target, models[version["name"]], version, held, summary.registry
                ):
                    same.setdefault(version["name"], set()).add(version["version"])
        if progress is not None:
            progress(start + len(group), len(versions), "model versions")
    touched = _sync_deletions(target, deletions, held, summary.registry)
    there = {m["name"]: m for m in target.search_models()}
    for name in sorted(same.keys() | touched):
        numbers = same.get(name, set())
        _sync_model(source, target, models[name], there[name], numbers, summary.registry)


def _left_deleted(
    version: ModelVersionRecord,
    gone: Mapping[tuple[str, int], VersionDeletionRecord],
    summary: RegistrySummary,
) -> None:
    """A version the target deleted: not copied back (a deletion is the later change); one
    the target deleted under the same number but with other content is a conflict."""
    name, number = version["name"], version["version"]
    deletion = gone[(name, number)]
    if (deletion["run_id"], deletion["blob"]) == (version["run_id"], version["blob"]):
        summary.left_deleted += 1
        return
    summary.conflicts.append(
        f"model {name!r} version {number}: the target deleted its version {number}, another "
        f"model (run {deletion['run_id']}, blob {deletion['blob'][:12]}) than this store's; "
        "left as it is"
    )


def _sync_deletions(
    target: RunStore,
    deletions: Iterable[VersionDeletionRecord],
    held: Mapping[tuple[str, int], ModelVersionRecord],
    summary: RegistrySummary,
) -> set[str]:
    """Delete in the target the versions the source deleted, where the target holds the
    same model under that number (who deleted it, when and why come along); the names of
    the models changed. One with other content under that number is a conflict."""
    touched: set[str] = set()
    for deletion in deletions:
        name, number = deletion["name"], deletion["version"]
        mine = held.get((name, number))
        if mine is None:
            continue  # never copied there, or already deleted there
        if (mine["run_id"], mine["blob"]) != (deletion["run_id"], deletion["blob"]):
            summary.conflicts.append(
                f"model {name!r} version {number}: deleted in this store, but the target's is "
                f"another model (run {mine['run_id']}, blob {mine['blob'][:12]}); left as it is"
            )
            continue
        target.delete_model_version(
            name, number, user=deletion["user"], reason=deletion["reason"], at=deletion["at"]
        )
        summary.deleted += 1
        touched.add(name)
    return touched


def _sync_version(
    source: RunStore,
    target: RunStore,
    model: ModelRecord,
    version: ModelVersionRecord,
    held: Mapping[tuple[str, int], ModelVersionRecord],
    summary: RegistrySummary,
) -> bool:
    """Copy one version (its blob is there), tagged with where it came from, or add its
    new tags to the target's; False when the target's holds something else (a conflict,
    reported)."""
    name, number = version["name"], version["version"]
    mine = held.get((name, number))
    tags = {k: v for k, v in version["tags"].items() if k != COPIED_FROM_TAG}
    if mine is None:
        tags[COPIED_FROM_TAG] = redact(source.location)
        target.copy_model_version(model, {**version, "tags": tags})
        summary.copied += 1
        return True
    if _content(mine) != _content(version):
        summary.conflicts.append(
            f"model {name!r} version {number}: the target's is another model (run "
            f"{mine['run_id']}, blob {mine['blob'][:12]}) than this store's (run "
            f"{version['run_id']}, blob {version['blob'][:12]}); left as it is"
        )
        return False
    new_tags = {k: v for k, v in tags.items() if mine["tags"].get(k) != v}
    if new_tags:
        target.set_model_tags(name, new_tags, version=number)
    summary.updated += bool(new_tags)
    summary.skipped += not new_tags
    return True


def _content(version: ModelVersionRecord) -> tuple[Any, ...]:
    """What a version is: the same number and content mean the same model (tags may be
    added later; the rest is fixed when it is registered)."""
    v = version
    return (v["run_id"], v["artifact"], v["blob"], v["size"], v["format"])


def _sync_model(
    source: RunStore,
    target: RunStore,
    model: ModelRecord,
    mine: ModelRecord,
    numbers: set[int],
    summary: RegistrySummary,
) -> None:
    """The model's tags and description, and its aliases that point at one of `numbers`
    (versions both stores hold alike)."""
    name = model["name"]
    new_tags = {k: v for k, v in model["tags"].items() if mine["tags"].get(k) != v}
    if new_tags:
        target.set_model_tags(name, new_tags)
    described = model["description"] not in (None, mine["description"])
    if described:
        target.set_model_description(name, model["description"])
    summary.models += bool(new_tags or described)
    for alias, number in model["aliases"].items():
        if number in numbers and mine["aliases"].get(alias) != number:
            _sync_alias(source, target, name, alias, number, mine["aliases"].get(alias), summary)
    for alias in mine["aliases"].keys() - model["aliases"].keys():
        _sync_alias_removal(source, target, name, alias, summary)


def _sync_alias(
    source: RunStore,
    target: RunStore,
    name: str,
    alias: str,
    number: int,
    theirs: int | None,
    summary: RegistrySummary,
) -> None:
    """Point the target's `alias` at `number` as the source's last change of it did (who,
    why), unless the target changed it since (moved it, or removed it): then it is kept,
    and reported."""
    change = _last_change(source, name, alias)
    if change["at"] <= _last_change(target, name, alias)["at"]:
        done = "removed" if theirs is None else f"moved to version {theirs}"
        summary.conflicts.append(
            f"model {name!r} alias {alias!r}: {done} in the target after this store moved it "
            f"to {number}; left as it is"
        )
        return
    target.set_model_alias(
        name,
        alias,
        number,
        user=change["user"],
        reason=change["reason"],
        evaluation=change["evaluation"],
    )
    summary.aliases += 1


def _sync_alias_removal(
    source: RunStore, target: RunStore, name: str, alias: str, summary: RegistrySummary
) -> None:
    """Remove the target's `alias` where the source's last change of it removed it, after
    the target's last change of it (who removed it and why come along). An alias the
    source never had, or one the target set again since, stays."""
    change = _last_change(source, name, alias)
    if change["to_version"] is not None or change["at"] == 0.0:
        return
    if change["at"] <= _last_change(target, name, alias)["at"]:
        return
    target.delete_model_alias(name, alias, user=change["user"], reason=change["reason"])
    summary.aliases_removed += 1


def _last_change(store: RunStore, name: str, alias: str) -> AliasChangeRecord:
    """The alias's last history entry (an empty one, at time 0, if it has none)."""
    history = store.model_alias_history(name, alias)
    if history:
        return history[-1]
    return {
        "name": name,
        "alias": alias,
        "from_version": None,
        "to_version": None,
        "user": None,
        "at": 0.0,
        "reason": None,
        "evaluation": None,
    }


def _files(entries: Iterable[Mapping[str, Any]], direction: str) -> list[dict[str, Any]]:
    return [{**entry, "direction": direction} for entry in entries]


def _new_points(
    run_id: str, history: Mapping[str, Mapping[str, list[Any]]], counts: Mapping[str, int]
) -> list[MetricPoint]:
    """The points the target lacks: metrics are append-only, so those after its count."""
    points: list[MetricPoint] = []
    for key, h in history.items():
        start = counts.get(key, 0)
        points.extend(
            (run_id, key, value, step, at)
            for value, step, at in zip(
                h["value"][start:], h["step"][start:], h["time"][start:], strict=True
            )
        )
    return points


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
