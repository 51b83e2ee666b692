"""An MLflow tracking URI (sqlite:///..., a ./mlruns folder, http://server) read and written
through MlflowClient. mlflow is optional and imported here only.

MlflowClient asks for one metric history per call, which is most of the time an import of
a large store takes (about 40 ms a history on a busy machine); a local SQLite store is read
from its tables in one query per page of runs instead (sqlite_source.py), and artifacts
under a local artifact root are listed and read from the disk.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlparse

from .model import (
    DATASET_CONTEXT_TAG,
    EXPORT_FINGERPRINT_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SOURCE_RUN_TAG,
    SOURCE_URI_TAG,
    VERSION_BLOB_TAG,
    XTRACK_RUN_TAG,
    InteropError,
    MlflowModel,
    MlflowPoint,
    MlflowRun,
    MlflowVersion,
    Source,
    dataset_dict,
    fingerprint,
)
from .sqlite_source import SqliteSource

PAGE = 1000  # runs per search_runs page (and per metrics query)
MODEL_PAGE = 1000  # registered models (and versions) per registry search page
# MLflow's log-batch limits
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS = 1000, 100, 100


def mlflow_module() -> ModuleType:
    """mlflow, or InteropError saying how to install it (it is an optional dependency)."""
    try:
        import mlflow  # lazy: optional, and slow to import
    except ImportError as exc:
        raise InteropError(
            "reading or writing an MLflow tracking URI needs the mlflow package: "
            "pip install mlflow (an mlflow-export-import folder needs nothing)"
        ) from exc
    return mlflow


def tracking_uri(location: str) -> str:
    """`location` as a tracking URI: a URI as it is, a folder as its absolute file: URI.
    MLflow 3 refuses a file store unless MLFLOW_ALLOW_FILE_STORE is set; moving a ./mlruns
    history in or out is what this command is for, so it is set for this process then."""
    uri = location
    if "://" not in location and not location.startswith(("sqlite:", "file:")):
        uri = Path(location).resolve().as_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        # SQLAlchemy's (so MLflow's) sqlite:///mlflow.db is relative to the working folder
        uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def local_store(uri: str) -> Path | None:
    """The file or folder a sqlite: or file: tracking URI names, else None."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite" and parsed.path:
        return Path(parsed.path[1:] if parsed.path.startswith("//") else parsed.path)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return None


def local_path(uri: str) -> Path | None:
    """The local folder an artifact URI names (a plain path or file://), else None."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _paged(search: Any, filter_string: str | None) -> Iterator[Any]:
    """Every result of an MLflow registry search, page by page (one page alone would cut a
    registry of more than MODEL_PAGE models short, silently)."""
    token = None
    while True:
        page = search(filter_string, max_results=MODEL_PAGE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


class ClientSource:
    """The runs of an MLflow tracking URI."""

    def __init__(self, location: str) -> None:
        self.uri = tracking_uri(location)
        missing = local_store(self.uri)
        if missing is not None and not missing.exists():
            # MLflow would create an empty store there and the import would find nothing
            raise InteropError(f"no MLflow store at {missing}: check the path")
        self._sql = SqliteSource.for_uri(self.uri)
        if self._sql is None:
            mlflow_module()  # fail now, with the fix, when mlflow is missing
        self._client: Any = None
        self._roots: dict[str, Path] = {}  # run id -> its local artifact folder

    @property
    def client(self) -> Any:
        """MlflowClient on the URI, made on first use (a SQLite store read through
        sqlite_source.py needs it only for models and artifacts stored elsewhere)."""
        if self._client is None:
            self._client = mlflow_module().tracking.MlflowClient(self.uri)
        return self._client

    def has_models(self) -> bool:
        """Whether the source may hold registered models (the registry is asked then)."""
        return self._sql is None or self._sql.model_count() != 0

    def models(self, names: set[str] | None = None) -> Iterator[MlflowModel]:
        """Every registered model (of `names`, all when None), versions in number order."""
        for rm in _paged(self.client.search_registered_models, None):
            if names is not None and rm.name not in names:
                continue
            versions = sorted(
                _paged(self.client.search_model_versions, f"name='{rm.name}'"),
                key=lambda v: int(v.version),
            )
            yield MlflowModel(
                name=rm.name,
                description=rm.description or None,
                tags=dict(rm.tags or {}),
                aliases={a: int(v) for a, v in (rm.aliases or {}).items()},
                versions=[
                    MlflowVersion(
                        version=int(v.version),
                        run_id=v.run_id or None,
                        source=v.source,
                        description=v.description or None,
                        user=v.user_id or None,
                        tags=dict(v.tags or {}),
                    )
                    for v in versions
                ],
            )

    def model_files(self, version: MlflowVersion, dest: Path) -> Path:
        """The version's files (its MLflow model folder, or one file) downloaded under `dest`."""
        import mlflow.artifacts  # lazy: optional dependency

        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=version.source, dst_path=str(dest), tracking_uri=self.uri
            )
        )

    def runs(self, experiments: list[str] | None = None) -> Iterator[MlflowRun]:
        if self._sql is not None:
            for run, artifact_uri in self._sql.runs(experiments):
                run.artifacts = self._artifacts(run.run_id, artifact_uri)
                yield run
            return
        from mlflow.entities import ViewType  # lazy: optional dependency

        for exp in self.client.search_experiments(view_type=ViewType.ACTIVE_ONLY):
            if experiments is not None and exp.name not in experiments:
                continue
            token = None
            while True:
                page = self.client.search_runs(
                    [exp.experiment_id],
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=PAGE,
                    page_token=token,
                )
                histories = self._histories(page)
                for run in page:
                    yield self._record(exp.name, run, histories)
                token = page.token
                if not token:
                    break

    def _histories(self, page: list[Any]) -> dict[str, dict[str, list[MlflowPoint]]]:
        """Every metric history of the page's runs."""
        return {
            r.info.run_id: {
                key: [
                    (m.value, m.timestamp, m.step)
                    for m in self.client.get_metric_history(r.info.run_id, key)
                ]
                for key in r.data.metrics
            }
            for r in page
        }

    def _record(
        self, experiment: str, run: Any, histories: dict[str, dict[str, list[MlflowPoint]]]
    ) -> MlflowRun:
        info, data = run.info, run.data
        datasets = [
            dataset_dict(
                d.dataset, next((t.value for t in d.tags if t.key == DATASET_CONTEXT_TAG), None)
            )
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ]
        return MlflowRun(
            run_id=info.run_id,
            experiment=experiment,
            status=info.status,
            start_ms=info.start_time,
            end_ms=info.end_time,
            name=info.run_name,
            params=dict(data.params),
            tags=dict(data.tags),
            metrics=histories.get(info.run_id, {}),
            datasets=datasets,
            artifacts=self._artifacts(info.run_id, info.artifact_uri),
        )

    def _artifacts(self, run_id: str, artifact_uri: str) -> list[str]:
        """Every artifact file of the run, relative to its root (walked on disk when local)."""
        root = local_path(artifact_uri)
        if root is not None:
            self._roots[run_id] = root
            if not root.is_dir():
                return []
            return sorted(
                str(Path(d, f).relative_to(root)) for d, _, files in os.walk(root) for f in files
            )
        found: list[str] = []
        stack = [""]
        while stack:
            for info in self.client.list_artifacts(run_id, stack.pop() or None):
                (stack if info.is_dir else found).append(info.path)
        return sorted(found)

    def fetch(self, run: MlflowRun, path: str, dest: Path) -> Path:
        root = self._roots.get(run.run_id)
        if root is not None:
            local = root / path
            if not local.is_file():
                raise InteropError(
                    f"artifact {path!r} of MLflow run {run.run_id} is not a readable file: {local}"
                )
            return local
        try:
            return Path(self.client.download_artifacts(run.run_id, path, str(dest)))
        except Exception as exc:  # MLflow raises many types; the file is what matters
            raise InteropError(
                f"cannot read artifact {path!r} of MLflow run {run.run_id}: {exc}"
            ) from exc


class ClientSink:
    """An MLflow tracking URI written through MlflowClient, original timestamps kept."""

    def __init__(self, location: str) -> None:
        self.uri = tracking_uri(location)
        self._mlflow = mlflow_module()
        self.client = self._mlflow.tracking.MlflowClient(self.uri)
        self._experiments: dict[str, str] = {}
        self._fingerprints: dict[str, str | None] = {}  # MLflow run id -> its export digest

    def _experiment_id(self, name: str) -> str:
        if name not in self._experiments:
            exp = self.client.get_experiment_by_name(name)
            self._experiments[name] = (
                exp.experiment_id if exp is not None else self.client.create_experiment(name)
            )
        return self._experiments[name]

    def existing(self) -> dict[str, str]:
        """Runs written by an earlier export: xtrack run id -> MLflow run id."""
        from mlflow.entities import ViewType  # lazy: optional dependency

        found: dict[str, str] = {}
        for exp in self.client.search_experiments(view_type=ViewType.ACTIVE_ONLY):
            for run in self._search(exp.experiment_id, f"tags.`{XTRACK_RUN_TAG}` != ''"):
                found[run.data.tags[XTRACK_RUN_TAG]] = run.info.run_id
                self._fingerprints[run.info.run_id] = run.data.tags.get(EXPORT_FINGERPRINT_TAG)
        return found

    def origin(self, run: MlflowRun) -> str | None:
        """The MLflow run here that `run` was imported from, if it still exists: exporting
        back to the source updates that run instead of writing a second copy of it."""
        from mlflow.exceptions import MlflowException  # lazy: optional dependency

        source_id = run.tags.get(SOURCE_RUN_TAG)
        if not source_id or run.tags.get(SOURCE_URI_TAG) != self.uri:
            return None
        try:
            self.client.get_run(source_id)
        except MlflowException:  # deleted there since: write it anew
            return None
        return source_id

    def _search(self, experiment_id: str, filter_string: str = "") -> Iterator[Any]:
        from mlflow.entities import ViewType  # lazy: optional dependency

        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                filter_string,
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=PAGE,
                page_token=token,
            )
            yield from page
            token = page.token
            if not token:
                return

    def unchanged(self, run: MlflowRun, target: str) -> bool:
        """Whether the run is as the last export wrote it (its digest, kept as a tag)."""
        return self._fingerprints.get(target) == fingerprint(run)

    def chunk(self) -> AbstractContextManager[None]:
        return nullcontext()

    def write(
        self, run: MlflowRun, source: Source, parent_id: str | None, target: str | None
    ) -> str:
        from mlflow.entities import Dataset as MlflowDataset  # lazy: optional dependency
        from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag

        tags = {k: v for k, v in run.tags.items() if k != PARENT_TAG}
        if parent_id:
            tags[PARENT_TAG] = parent_id
        if target is None:
            rid = self.client.create_run(
                self._experiment_id(run.experiment),
                start_time=run.start_ms,
                tags={RUN_NAME_TAG: run.name} if run.name else None,
                run_name=run.name,
            ).info.run_id
            have = None
        else:
            rid, have = target, self.client.get_run(target)
        metrics = [
            Metric(k, v, ts, step)
            for k, pts in run.metrics.items()
            for v, ts, step in self._new_points(rid, k, pts, have)
        ]
        params = [Param(k, v) for k, v in self._new_params(run, have).items()]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        batches = max(
            -(-len(metrics) // BATCH_METRICS),
            -(-len(params) // BATCH_PARAMS),
            -(-len(tag_list) // BATCH_TAGS),
            1,
        )
        for i in range(batches):
            self.client.log_batch(
                rid,
                metrics=metrics[i * BATCH_METRICS : (i + 1) * BATCH_METRICS],
                params=params[i * BATCH_PARAMS : (i + 1) * BATCH_PARAMS],
                tags=tag_list[i * BATCH_TAGS : (i + 1) * BATCH_TAGS],
            )
        datasets = self._new_datasets(run, have)
        if datasets:
            self.client.log_inputs(
                rid,
                datasets=[
                    DatasetInput(
                        MlflowDataset(
                            d["name"],
                            d["digest"],
                            d["source_type"],
                            d["source"],
                            d.get("schema") or None,
                            d.get("profile") or None,
                        ),
                        [InputTag(DATASET_CONTEXT_TAG, d["context"])] if d.get("context") else [],
                    )
                    for d in datasets
                ],
            )
        self._upload(rid, run, source)
        self.client.set_terminated(rid, run.status, end_time=run.end_ms)
        self.client.set_tag(rid, EXPORT_FINGERPRINT_TAG, fingerprint(run))
        return str(rid)

    def _new_points(
        self, rid: str, key: str, points: list[MlflowPoint], have: Any
    ) -> list[MlflowPoint]:
        """`points` less those run `have` (None: a new run) already holds, as a multiset."""
        if have is None or key not in have.data.metrics:
            return points
        held = Counter(
            (repr(m.value), m.timestamp, m.step) for m in self.client.get_metric_history(rid, key)
        )
        out = []
        for p in points:
            k = (repr(p[0]), p[1], p[2])  # repr: a NaN point equals itself
            if held[k]:
                held[k] -= 1
            else:
                out.append(p)
        return out

    @staticmethod
    def _new_params(run: MlflowRun, have: Any) -> dict[str, str]:
        """The params run `have` lacks; InteropError for one whose value changed, which
        MLflow does not allow."""
        held = dict(have.data.params) if have is not None else {}
        changed = sorted(k for k, v in run.params.items() if k in held and held[k] != v)
        if changed:
            raise InteropError(
                f"params {changed} changed since the last export, and MLflow's params cannot "
                "change: export into another destination, or delete the run there"
            )
        return {k: v for k, v in run.params.items() if k not in held}

    @staticmethod
    def _new_datasets(run: MlflowRun, have: Any) -> list[dict[str, str]]:
        """The datasets run `have` does not list yet (by name and digest)."""
        inputs = have.inputs.dataset_inputs if have is not None and have.inputs else []
        held = {(d.dataset.name, d.dataset.digest) for d in inputs}
        return [d for d in run.datasets if (d["name"], d["digest"]) not in held]

    def _upload(self, rid: str, run: MlflowRun, source: Source) -> None:
        with tempfile.TemporaryDirectory(prefix="xtrack-export-") as tmp:
            for i, path in enumerate(run.artifacts):
                local = source.fetch(run, path, Path(tmp, str(i)))
                self.client.log_artifact(rid, str(local), os.path.dirname(path) or None)

    def finish(self) -> None:
        """Nothing to write at the end: each run is complete once written."""

    def write_model(self, model: MlflowModel, ids: dict[str, str]) -> None:
        """Create (or bring up to date) registered model `model`, its versions under their
        own numbers (pointing at the exported runs' artifacts: `ids` maps run ids), tags,
        descriptions and aliases. A version this store exported before is left as it is;
        another version under one of its numbers is a conflict, named with the fix."""
        from mlflow.exceptions import MlflowException  # lazy: optional dependency

        try:
            have = {int(v.version): v for v in self._versions(model)}
            for v in model.versions:
                self._version(model, v, have.get(v.version), ids)
            for alias, version in model.aliases.items():
                self.client.set_registered_model_alias(model.name, alias, str(version))
            # an alias removed here, on a version this store wrote, is removed there
            ours = {str(v.version) for v in model.versions}
            there = self.client.get_registered_model(model.name).aliases or {}
            for alias, version in there.items():
                if alias not in model.aliases and str(version) in ours:
                    self.client.delete_registered_model_alias(model.name, alias)
        except MlflowException as exc:
            raise InteropError(str(exc)) from exc

    def _versions(self, model: MlflowModel) -> list[Any]:
        """The versions `model` has here (created first when it is new), its tags and
        description set."""
        if not self.client.search_registered_models(f"name='{model.name}'"):
            self.client.create_registered_model(model.name, model.tags, model.description)
            return []
        for key, value in model.tags.items():
            self.client.set_registered_model_tag(model.name, key, value)
        if model.description:
            self.client.update_registered_model(model.name, model.description)
        return list(self.client.search_model_versions(f"name='{model.name}'"))

    def _version(
        self, model: MlflowModel, v: MlflowVersion, there: Any, ids: dict[str, str]
    ) -> None:
        blob = v.tags[VERSION_BLOB_TAG]
        if there is not None:
            if (there.tags or {}).get(VERSION_BLOB_TAG) != blob:
                raise InteropError(
                    f"{self.uri} already has version {v.version} of {model.name}, and it is "
                    f"not this store's version {v.version}: export into another destination, "
                    "or delete or rename the model there"
                )
            for key, value in v.tags.items():
                self.client.set_model_version_tag(model.name, str(v.version), key, value)
            if v.description:
                self.client.update_model_version(model.name, str(v.version), v.description)
            return
        run_id = ids[v.run_id or ""]
        source = f"{self.client.get_run(run_id).info.artifact_uri}/{v.source}"
        while True:  # a number xtrack deleted: take it and delete it, as xtrack did
            made = self.client.create_model_version(
                model.name, source, run_id, tags=v.tags, description=v.description
            )
            if int(made.version) >= v.version:
                break
            self.client.delete_model_version(model.name, made.version)
        if int(made.version) != v.version:
            raise InteropError(
                f"{self.uri} numbered version {v.version} of {model.name} {made.version}: "
                "it has versions of that model that this store does not"
            )

    def read_models(self, names: set[str]) -> Iterator[MlflowModel]:
        return ClientSource(self.uri).models(names)

    def read_back(self, ids: list[str]) -> Iterator[MlflowRun]:
        source = ClientSource(self.uri)
        wanted = set(ids)
        for run in source.runs():
            if run.run_id in wanted:
                yield run
