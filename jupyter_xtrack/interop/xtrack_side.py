"""The xtrack store as one side of a copy: its runs as MlflowRun records for an export
(`XtrackSource`: the xtrack record and the blobs its facts name travel as artifacts under
`xtrack/`, the fields MLflow shows as its own tags), and the idempotent importer
(`StoreSink`), which writes through the store contract only."""

from __future__ import annotations

import json
import mimetypes
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ..facts import Fact
from ..store.blobs import hashes_in
from ..store.contract import MetricPoint, RunStore
from ..store.errors import StoreError
from ..store.location import redact
from .model import (
    ALIAS_HISTORY_TAG,
    BLOB_DIR,
    DERIVED_TAGS_TAG,
    FINGERPRINT_TAG,
    FROM_MLFLOW,
    MODEL_DIR,
    PARENT_TAG,
    RECORD_ARTIFACT,
    RUN_NAME_TAG,
    SOURCE_RUN_TAG,
    SOURCE_STATUS_TAG,
    SOURCE_URI_TAG,
    TO_MLFLOW,
    USER_TAG,
    VERSION_BLOB_TAG,
    XTRACK_RUN_TAG,
    InteropError,
    MlflowModel,
    MlflowPoint,
    MlflowRun,
    MlflowVersion,
    Source,
    fingerprint,
)

RECORD_FORMAT = 1
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value; the record keeps the whole value
MAX_MODEL_TAG_CHARS = 100_000  # MLflow's limit on a registered model's tag value
# Run fields that are the store's bookkeeping, not the run: left out of the record.
NOT_RECORDED = ("metrics", "children", "number", "heartbeat_at")
# MLflow source tags that correspond to xtrack fields and facts.
GIT_TAGS = {
    "commit": "mlflow.source.git.commit",
    "branch": "mlflow.source.git.branch",
    "remote": "mlflow.source.git.repoURL",
}
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
NOTEBOOK_TAGS = ("mlflow.databricks.notebookPath", SOURCE_NAME_TAG)


def param_value(text: str) -> Any:
    """An MLflow param (always text) as a number when the text is exactly how that number
    prints (so "3" and "0.01" filter as numbers, and export gives back the same text)."""
    if text[:1] in "-0123456789":
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, int | float) and json.dumps(value) == text:
            return value
    return text


def param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, allow_nan=True)


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


# -- export --------------------------------------------------------------------------------
class XtrackSource:
    """The runs of an xtrack store (matching a filter) as MLflow records."""

    def __init__(self, store: RunStore, filter: str | None = None) -> None:
        self.store = store
        self.filter = filter
        self.uri = f"xtrack:{redact(store.location)}"
        self._payloads: dict[str, dict[str, str | bytes]] = {}

    def runs(self, experiments: list[str] | None = None) -> Iterator[MlflowRun]:
        table = self.store.query_runs(self.filter, order_by="started_at", columns=["id"])
        for run_id in table.columns["id"]:
            run = self.convert(run_id)
            if experiments is None or run.experiment in experiments:
                yield run

    def convert(self, run_id: str, *, with_record: bool = True) -> MlflowRun:
        """Run `run_id` as MLflow shows it, its record and blobs as artifacts (only its own
        artifacts without `with_record`: what verification counts)."""
        rec = self.store.get_run(run_id)
        tags = dict(rec.get("tags") or {})
        derived: list[str] = []

        def derive(key: str, value: Any) -> None:
            if value not in (None, "") and key not in tags:
                tags[key] = str(value)
                derived.append(key)

        git = rec.get(Fact.GIT) or {}
        derive(RUN_NAME_TAG, rec.get("name"))
        derive(USER_TAG, rec.get("user"))
        derive(XTRACK_RUN_TAG, rec["id"])
        derive("xtrack.kind", rec.get("kind"))
        derive("xtrack.status", rec.get("status"))
        derive(SOURCE_NAME_TAG, rec.get("notebook_path"))
        derive(SOURCE_TYPE_TAG, "NOTEBOOK" if rec.get("notebook_path") else None)
        for field, key in GIT_TAGS.items():
            derive(key, git.get(field))
        if rec.get("parent_id"):
            if PARENT_TAG not in tags:
                derived.append(PARENT_TAG)
            tags[PARENT_TAG] = rec["parent_id"]
        derive(DERIVED_TAGS_TAG, ",".join([*derived, DERIVED_TAGS_TAG]))
        metrics, null_steps = self._metrics(run_id)
        if with_record:
            payload = self._payload(rec, null_steps)
            self._payloads[run_id] = payload
        else:
            payload = {a["name"]: a["hash"] for a in rec.get("artifacts", [])}
        status = tags.get(SOURCE_STATUS_TAG) or TO_MLFLOW[rec["status"]]
        return MlflowRun(
            run_id=run_id,
            experiment=rec["experiment"],
            status=status,
            start_ms=ms(rec.get("started_at")),
            end_ms=ms(rec.get("ended_at")),
            name=rec.get("name"),
            params={k: param_text(v)[:MAX_PARAM_CHARS] for k, v in rec["params"].items()},
            tags=tags,
            metrics=metrics,
            datasets=self._datasets(rec),
            artifacts=list(payload),
        )

    def models(self, runs: set[str]) -> tuple[list[MlflowModel], list[str]]:
        """The registry's models whose every version comes from one of `runs` (the exported
        runs), each version's source the artifact path in its run (an imported MLflow
        model's whole folder); and a line for each model left out, saying why."""
        models: list[MlflowModel] = []
        skipped: list[str] = []
        for m in self.store.search_models():
            versions = sorted(
                self.store.search_model_versions(m["name"]), key=lambda v: v["version"]
            )
            missing = [v["version"] for v in versions if v["run_id"] not in runs]
            if missing or any(not v["artifact"] for v in versions):
                skipped.append(
                    f"model {m['name']}: not exported (versions {missing or 'without a run artifact'}"
                    " come from no exported run: export their runs too)"
                )
                continue
            tags = dict(m["tags"])
            history = self.store.model_alias_history(m["name"])
            if history:
                tags[ALIAS_HISTORY_TAG], kept = _history_tag(history)
                if kept < len(history):
                    skipped.append(
                        f"model {m['name']}: alias history cut to its newest {kept} of "
                        f"{len(history)} changes (MLflow's limit on a tag value)"
                    )
            models.append(
                MlflowModel(
                    name=m["name"],
                    description=m["description"],
                    tags=tags,
                    aliases=dict(m["aliases"]),
                    versions=[
                        MlflowVersion(
                            version=v["version"],
                            run_id=v["run_id"],
                            source=_version_path(str(v["artifact"])),
                            description=v["description"],
                            user=v["user"],
                            tags={**v["tags"], VERSION_BLOB_TAG: v["blob"]},
                        )
                        for v in versions
                    ],
                )
            )
        return models, skipped

    def _metrics(self, run_id: str) -> tuple[dict[str, list[MlflowPoint]], dict[str, list[int]]]:
        """Histories as MLflow points (ms times; step 0 where xtrack has none, and which
        points those were, for the record)."""
        metrics: dict[str, list[MlflowPoint]] = {}
        null_steps: dict[str, list[int]] = {}
        for key in self.store.metric_keys(run_id):
            h = self.store.metric_history(run_id, key)
            metrics[key] = [
                (v, round(t * 1000), 0 if s is None else s)
                for v, t, s in zip(h["value"], h["time"], h["step"], strict=True)
            ]
            nulls = [i for i, s in enumerate(h["step"]) if s is None]
            if nulls:
                null_steps[key] = nulls
        return metrics, null_steps

    @staticmethod
    def _datasets(rec: Mapping[str, Any]) -> list[dict[str, str]]:
        """The datasets fact as MLflow datasets: imported MLflow ones as they were, xtrack's
        fingerprints with source type "xtrack"."""
        out = []
        for d in rec.get(Fact.DATASETS) or []:
            if "source_type" in d:
                out.append(
                    {
                        k: str(v)
                        for k, v in d.items()
                        if k
                        in (
                            "name",
                            "digest",
                            "source_type",
                            "source",
                            "schema",
                            "profile",
                            "context",
                        )
                    }
                )
                continue
            digest = str(d.get("hash") or "none").split(":")[-1][:36]
            out.append(
                {
                    "name": str(d.get("name") or "dataset"),
                    "digest": digest,
                    "source_type": "xtrack",
                    "source": json.dumps({"kind": d.get("kind"), "shape": d.get("shape")}),
                    "schema": "",
                    "profile": "",
                }
            )
        return out

    def _payload(
        self, rec: dict[str, Any], null_steps: dict[str, list[int]]
    ) -> dict[str, str | bytes]:
        """Artifact path -> blob hash (or the bytes) of everything the export writes."""
        payload: dict[str, str | bytes] = {a["name"]: a["hash"] for a in rec.get("artifacts", [])}
        blobs = sorted(
            h
            for h in hashes_in(json.dumps(rec.get("facts") or {}, default=str))
            if self._has_blob(h)
        )
        for h in blobs:
            payload[f"{BLOB_DIR}/{h.split(':')[-1]}"] = h
        record = {k: v for k, v in rec.items() if k not in NOT_RECORDED}
        payload[RECORD_ARTIFACT] = json.dumps(
            {"format": RECORD_FORMAT, "run": record, "null_steps": null_steps, "blobs": blobs},
            default=str,
            allow_nan=True,
            indent=1,
        ).encode()
        return payload

    def _has_blob(self, h: str) -> bool:
        try:
            self.store.blob_file(h)
        except (StoreError, ValueError):
            return False
        return True

    def fetch(self, run: MlflowRun, path: str, dest: Path) -> Path:
        item = self._payloads[run.run_id][path]
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / Path(path).name
        if isinstance(item, bytes):
            target.write_bytes(item)
        else:
            shutil.copyfile(self.store.blob_file(item), target)
        return target


# -- import --------------------------------------------------------------------------------
class StoreSink:
    """Writes MLflow runs into an xtrack store, each tagged with its source run's id and the
    source's URI, so that a second import finds it: unchanged, it is skipped; changed (new
    points, another status or end), it is brought up to date."""

    def __init__(self, store: RunStore, source_uri: str) -> None:
        self.store = store
        self.uri = f"xtrack:{redact(store.location)}"
        self.source_uri = source_uri
        self._fingerprints: dict[str, str | None] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._fetches = 0

    def existing(self) -> dict[str, str]:
        cols = [f"tags.{SOURCE_RUN_TAG}", f"tags.{SOURCE_URI_TAG}", f"tags.{FINGERPRINT_TAG}"]
        found: dict[str, str] = {}
        for row in self.store.query_runs(columns=cols).rows():
            if row[cols[1]] == self.source_uri and row[cols[0]]:
                found[row[cols[0]]] = row["id"]
                self._fingerprints[row["id"]] = row[cols[2]]
        return found

    def origin(self, run: MlflowRun) -> str | None:
        """None: an import finds its runs by their source tags (existing)."""
        return None

    def unchanged(self, run: MlflowRun, target: str) -> bool:
        return self._fingerprints.get(target) == fingerprint(run)

    def chunk(self) -> AbstractContextManager[None]:
        return self.store.batch()

    def finish(self) -> None:
        """Remove the scratch folder (each run is complete once written)."""
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def write(
        self, run: MlflowRun, source: Source, parent_id: str | None, target: str | None
    ) -> str:
        record = self._record(run, source) if run.has_record else None
        fields = record["run"] if record else self._fields(run)
        status = FROM_MLFLOW.get(run.status, "finished")
        if record and status != "interrupted":
            status = fields["status"]
        tags = {**fields["tags"], SOURCE_RUN_TAG: run.run_id, SOURCE_URI_TAG: self.source_uri}
        if run.status in ("RUNNING", "SCHEDULED"):
            tags[SOURCE_STATUS_TAG] = run.status
        if target is None:
            target, _ = self.store.create_run(
                name=fields["name"],
                experiment=fields["experiment"],
                tags=tags,
                parent_id=parent_id,
                kind=fields["kind"],
                notebook_path=fields["notebook_path"],
                cell_id=fields.get("cell_id"),
                started_at=fields["started_at"],
                user=fields.get("user"),
            )
        else:
            self.store.set_name(target, fields["name"])
            self.store.set_tags(target, tags)
        self.store.set_params(target, fields["params"])
        self.store.log_metrics(self._new_points(run, target, record))
        if record:
            self._restore(target, run, source, record)
        else:
            self.store.set_facts(target, **self._facts(run))
        self._artifacts(target, run, source, fields.get("artifacts") or [])
        ended = fields.get("ended_at")
        self.store.finish_run(
            target, status=status, ended_at=ended if ended is not None else fields["started_at"]
        )
        self.store.set_tags(target, {FINGERPRINT_TAG: fingerprint(run)})
        return target

    @staticmethod
    def _fields(run: MlflowRun) -> dict[str, Any]:
        """An MLflow run's fields as xtrack's (its tags kept as they are)."""
        notebook = next(
            (
                run.tags[k]
                for k in NOTEBOOK_TAGS
                if run.tags.get(k, "").endswith(".ipynb")
                or k == NOTEBOOK_TAGS[0]
                and run.tags.get(k)
            ),
            None,
        )
        start = (run.start_ms or run.end_ms or 0) / 1000
        return {
            "name": run.name or run.tags.get(RUN_NAME_TAG),
            "experiment": run.experiment,
            "kind": "script",
            "notebook_path": notebook,
            "started_at": start,
            "ended_at": None if run.end_ms is None else run.end_ms / 1000,
            "user": run.tags.get(USER_TAG) or None,
            "params": {k: param_value(v) for k, v in run.params.items()},
            "tags": run.tags,
        }

    @staticmethod
    def _facts(run: MlflowRun) -> dict[str, Any]:
        """The facts MLflow's tags and inputs correspond to: git, datasets."""
        facts: dict[str, Any] = {}
        git = {f: run.tags[t] for f, t in GIT_TAGS.items() if run.tags.get(t)}
        if git:
            facts[Fact.GIT] = {"repo": True, **git}
        if run.datasets:
            facts[Fact.DATASETS] = [
                {**d, "kind": f"mlflow:{d.get('source_type', '')}", "hash": d.get("digest")}
                for d in run.datasets
            ]
        return facts

    def _new_points(
        self, run: MlflowRun, target: str, record: dict[str, Any] | None
    ) -> list[MetricPoint]:
        """The source's points not yet in the run (all of them for a new run)."""
        null_steps = (record or {}).get("null_steps", {})
        have = set(self.store.metric_keys(target))
        points: list[MetricPoint] = []
        for key, pts in run.metrics.items():
            nulls = set(null_steps.get(key, ()))
            new = [
                (target, key, v, None if i in nulls else step, ts / 1000)
                for i, (v, ts, step) in enumerate(pts)
            ]
            if key in have:
                new = _missing(new, self.store.metric_history(target, key))
            points.extend(new)
        return points

    @contextmanager
    def _fetched(self, run: MlflowRun, source: Source, path: str) -> Iterator[Path]:
        """Artifact `path` as a local file while the block runs. A source that must copy it
        writes it into a folder of the import's one scratch folder, removed after the block
        (a folder per file, created only when used: removing 10,000 empty temporary folders
        took 50 s of a 10,000-run import on a busy disk)."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="xtrack-import-")
        self._fetches += 1
        folder = Path(self._scratch.name, str(self._fetches))
        try:
            yield source.fetch(run, path, folder)
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def _record(self, run: MlflowRun, source: Source) -> dict[str, Any]:
        with self._fetched(run, source, RECORD_ARTIFACT) as local:
            try:
                record: dict[str, Any] = json.loads(local.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InteropError(
                    f"run {run.run_id}: {RECORD_ARTIFACT} cannot be read: {exc}"
                ) from exc
        if record.get("format") != RECORD_FORMAT or "run" not in record:
            raise InteropError(
                f"run {run.run_id}: {RECORD_ARTIFACT} is not an xtrack record "
                f"of format {RECORD_FORMAT}"
            )
        return record

    def _restore(self, target: str, run: MlflowRun, source: Source, record: dict[str, Any]) -> None:
        """An xtrack-exported run's blobs, facts and files, as they were."""
        for h in record.get("blobs", []):
            path = f"{BLOB_DIR}/{h.split(':')[-1]}"
            with self._fetched(run, source, path) as local:
                stored, _ = self.store.put_blob_file(local)
            if stored != h:
                raise InteropError(f"run {run.run_id}: {path} does not hold blob {h}")
        rec = record["run"]
        self.store.set_facts(target, **(rec.get("facts") or {}))
        files = [
            {**f, "direction": d}
            for d, key in (("input", "inputs"), ("output", "outputs"))
            for f in rec.get(key) or []
        ]
        self.store.record_files(target, files)

    def _artifacts(
        self, target: str, run: MlflowRun, source: Source, known: list[dict[str, Any]]
    ) -> None:
        meta = {a["name"]: a for a in known}
        for path in run.user_artifacts():
            with self._fetched(run, source, path) as local:
                blob, size = self.store.put_blob_file(local)
            entry = meta.get(path, {})
            self.store.add_artifact(
                target,
                path,
                blob=blob,
                size=size,
                media_type=entry.get("media_type") or mimetypes.guess_type(path)[0],
                meta=entry.get("meta") or None,
            )

    def read_back(self, ids: list[str]) -> Iterator[MlflowRun]:
        reader = XtrackSource(self.store)
        for run_id in ids:
            yield reader.convert(run_id, with_record=False)


def _history_tag(history: list[Any]) -> tuple[str, int]:
    """The alias history as JSON within MLflow's limit on a registered model's tag value
    (the newest changes kept), and how many changes it holds."""
    kept, total = 0, 0  # "[" and "]", less the ", " the first change does not need
    for change in reversed(history):
        total += len(json.dumps(change, default=str)) + 2  # and ", " between changes
        if total > MAX_MODEL_TAG_CHARS:
            break
        kept += 1
    return json.dumps(history[len(history) - kept :], default=str), kept


def _version_path(artifact: str) -> str:
    """A version's artifact as the path MLflow's version source names: an imported MLflow
    model's folder (mlflow-models/<name>/v<n>) rather than its model file."""
    parts = artifact.split("/")
    return "/".join(parts[:3]) if parts[0] == MODEL_DIR and len(parts) > 3 else artifact


def _missing(points: list[MetricPoint], have: dict[str, list[Any]]) -> list[MetricPoint]:
    """`points` less those already in history `have` (as a multiset, times to the ms)."""
    counts: dict[tuple[Any, ...], int] = {}
    for v, s, t in zip(have["value"], have["step"], have["time"], strict=True):
        k = (repr(v), s, round(t * 1000))
        counts[k] = counts.get(k, 0) + 1
    out = []
    for p in points:
        k = (repr(p[2]), p[3], round(p[4] * 1000))
        if counts.get(k):
            counts[k] -= 1
        else:
            out.append(p)
    return out
