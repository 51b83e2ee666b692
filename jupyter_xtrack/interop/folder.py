"""An mlflow-export-import folder, read and written as files (no mlflow needed):

    experiments/experiments.json                       the experiments and their run counts
    experiments/<exp id>/experiment.json               {"system", "info", "mlflow": {"experiment", "runs"}}
    experiments/<exp id>/runs/<run id>/run.json        {"system", "info", "mlflow": {"info", "params",
                                                        "metrics": {key: [{value, timestamp, step}]},
                                                        "tags", "inputs"}}
    experiments/<exp id>/runs/<run id>/artifacts/...   the run's files
    models/models.json                                 the registered models' names
    models/<name>/model.json                           {"system", "info", "mlflow": {"registered_model":
                                                        {name, description, tags, aliases: [{alias,
                                                        version}], versions: [{version, run_id,
                                                        source, tags, description, ...}]}}}

Older exports put a run's folder directly under its experiment's folder, and a run.json's
parts at its top level; both are read."""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from .model import (
    EXPORT_FINGERPRINT_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    XTRACK_RUN_TAG,
    InteropError,
    MlflowModel,
    MlflowRun,
    MlflowVersion,
    Source,
    fingerprint,
)

FORMAT_SCRIPT = "jupyter_xtrack"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InteropError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InteropError(f"{path} is not a JSON object")
    return data


def _system() -> dict[str, Any]:
    now = time.time()
    return {
        "package_version": None,
        "script": FORMAT_SCRIPT,
        "export_time": int(now),
        "_export_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
        "platform": {"python_version": platform.python_version(), "system": platform.system()},
    }


def experiment_files(root: Path) -> list[Path]:
    """The experiment.json files of an export: under experiments/ (export-all), or directly
    under the root (export-experiments writes <root>/<experiment id>/)."""
    return sorted(root.glob("experiments/*/experiment.json")) or sorted(
        root.glob("*/experiment.json")
    )


def model_jsons(root: Path) -> list[Path]:
    """The model.json files of an export (models/<name>/model.json)."""
    return sorted(root.glob("models/**/model.json"))


def _tag_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {str(t["key"]): str(t["value"]) for t in tags}
    return {str(k): str(v) for k, v in (tags or {}).items()}


def is_export_folder(location: str) -> bool:
    """Whether `location` is a local folder laid out by mlflow-export-import."""
    return "://" not in location and bool(experiment_files(Path(location)))


class FolderSource:
    """The runs of an mlflow-export-import folder."""

    def __init__(self, location: str) -> None:
        self.root = Path(location).resolve()
        self.uri = f"mlflow-export-import:{self.root}"
        self._folders: dict[str, Path] = {}
        if not experiment_files(self.root):
            raise InteropError(
                f"{self.root} is not an mlflow-export-import folder (no experiment.json in "
                "experiments/*/ or */)"
            )

    def runs(self, experiments: list[str] | None = None) -> Iterator[MlflowRun]:
        for exp_json in experiment_files(self.root):
            exp = _read_json(exp_json).get("mlflow", {}).get("experiment", {})
            name = str(exp.get("name") or exp_json.parent.name)
            if experiments is not None and name not in experiments:
                continue
            for run_json in sorted(exp_json.parent.rglob("run.json")):
                if "artifacts" not in run_json.relative_to(exp_json.parent).parts:
                    yield self._record(name, run_json)

    def _record(self, experiment: str, run_json: Path) -> MlflowRun:
        raw = _read_json(run_json)
        part = raw.get("mlflow", raw)
        info = part.get("info", {})
        artifacts_dir = run_json.parent / "artifacts"
        run = MlflowRun(
            run_id=str(info.get("run_id") or info.get("run_uuid") or run_json.parent.name),
            experiment=experiment,
            status=str(info.get("status") or "FINISHED"),
            start_ms=info.get("start_time"),
            end_ms=info.get("end_time"),
            name=info.get("run_name") or part.get("tags", {}).get(RUN_NAME_TAG),
            params={k: str(v) for k, v in part.get("params", {}).items()},
            tags={k: str(v) for k, v in part.get("tags", {}).items()},
            metrics={
                key: [
                    (float(p["value"]), int(p["timestamp"]), int(p.get("step") or 0))
                    for p in points
                ]
                for key, points in part.get("metrics", {}).items()
            },
            datasets=[dict(d) for d in part.get("inputs", [])],
            artifacts=sorted(
                str(Path(d, f).relative_to(artifacts_dir))
                for d, _, files in os.walk(artifacts_dir)
                for f in files
            ),
        )
        self._folders[run.run_id] = run_json.parent
        return run

    def folder(self, run_id: str) -> Path:
        """The folder of run `run_id` (one `runs` yielded)."""
        return self._folders[run_id]

    def has_models(self) -> bool:
        return bool(model_jsons(self.root))

    def models(self, names: set[str] | None = None) -> Iterator[MlflowModel]:
        """The registered models of models/<name>/model.json (`versions`, or the older
        `latest_versions`; tags as a dict or a list of {key, value}; aliases as a list of
        {alias, version} or a dict)."""
        for path in model_jsons(self.root):
            rm = _read_json(path).get("mlflow", {}).get("registered_model", {})
            if names is not None and rm.get("name") not in names:
                continue
            aliases = rm.get("aliases") or {}
            if isinstance(aliases, list):
                aliases = {a["alias"]: a["version"] for a in aliases}
            yield MlflowModel(
                name=str(rm.get("name") or path.parent.name),
                description=rm.get("description") or None,
                tags=_tag_dict(rm.get("tags")),
                aliases={str(a): int(v) for a, v in aliases.items()},
                versions=sorted(
                    (
                        MlflowVersion(
                            version=int(v["version"]),
                            run_id=v.get("run_id") or None,
                            source=str(v.get("source") or ""),
                            description=v.get("description") or None,
                            user=v.get("user_id") or None,
                            tags=_tag_dict(v.get("tags")),
                        )
                        for v in rm.get("versions") or rm.get("latest_versions") or []
                    ),
                    key=lambda v: v.version,
                ),
            )

    def model_files(self, version: MlflowVersion, dest: Path) -> Path:
        """The version's files in the export: its source names `<run id>/artifacts/<path>`,
        read from that run's folder here."""
        marker = f"{version.run_id}/artifacts/"
        folder = self._folders.get(version.run_id or "")
        if folder is None or marker not in version.source:
            raise InteropError(
                f"version {version.version}: its source {version.source!r} is not an artifact "
                f"of a run in {self.root}"
            )
        local = folder / "artifacts" / version.source.split(marker, 1)[1]
        if not local.exists():
            raise InteropError(f"version {version.version}: {local} is missing")
        return local

    def fetch(self, run: MlflowRun, path: str, dest: Path) -> Path:
        local = self._folders[run.run_id] / "artifacts" / path
        if not local.is_file():
            raise InteropError(f"artifact {path!r} of run {run.run_id} is missing: {local}")
        return local


class FolderSink:
    """Writes runs as mlflow-export-import lays them out. A run an earlier export wrote here
    is found by its xtrack.run_id tag: left as it is when its digest (the tag
    xtrack.export.fingerprint) is the same, rewritten when not."""

    def __init__(self, location: str) -> None:
        self.root = Path(location).resolve()
        self.uri = f"mlflow-export-import:{self.root}"
        self._experiments: dict[str, str] = {}
        self._fingerprints: dict[str, str | None] = {}  # run id here -> its export digest
        self._run_dirs: dict[str, tuple[Path, str]] = {}  # run id -> its folder, experiment
        self.root.mkdir(parents=True, exist_ok=True)

    def existing(self) -> dict[str, str]:
        """Runs an earlier export wrote here: xtrack run id -> run id here."""
        if not experiment_files(self.root):
            return {}
        for exp_json in experiment_files(self.root):
            exp = _read_json(exp_json).get("mlflow", {}).get("experiment", {})
            self._experiments[str(exp.get("name") or exp_json.parent.name)] = exp_json.parent.name
        found: dict[str, str] = {}
        source = FolderSource(str(self.root))
        for run in source.runs():
            if run.tags.get(XTRACK_RUN_TAG):
                found[run.tags[XTRACK_RUN_TAG]] = run.run_id
                self._fingerprints[run.run_id] = run.tags.get(EXPORT_FINGERPRINT_TAG)
                self._run_dirs[run.run_id] = (source.folder(run.run_id), run.experiment)
        return found

    def origin(self, run: MlflowRun) -> str | None:
        """None: a folder's runs are matched by their `xtrack.run_id` tag only (a run imported
        from a folder and exported back into it is written as a new run there)."""
        return None

    def unchanged(self, run: MlflowRun, target: str) -> bool:
        return self._fingerprints.get(target) == fingerprint(run)

    def chunk(self) -> AbstractContextManager[None]:
        return nullcontext()

    def _experiment_dir(self, name: str) -> Path:
        if name not in self._experiments:
            taken, number = set(self._experiments.values()), len(self._experiments) + 1
            while str(number) in taken:
                number += 1
            self._experiments[name] = str(number)
        return self.root / "experiments" / self._experiments[name]

    def write(
        self, run: MlflowRun, source: Source, parent_id: str | None, target: str | None
    ) -> str:
        rid = run.run_id.replace("-", "")
        folder = self._experiment_dir(run.experiment) / "runs" / rid
        shutil.rmtree(folder, ignore_errors=True)
        before = self._run_dirs.get(rid)
        if before is not None and before[0] != folder:  # the run moved to another experiment
            shutil.rmtree(before[0], ignore_errors=True)
        (folder / "artifacts").mkdir(parents=True)
        tags = {k: v for k, v in run.tags.items() if k != PARENT_TAG}
        if parent_id:
            tags[PARENT_TAG] = parent_id
        tags[EXPORT_FINGERPRINT_TAG] = fingerprint(run)
        body = {
            "system": _system(),
            "info": {},
            "mlflow": {
                "info": {
                    "run_id": rid,
                    "run_uuid": rid,
                    "run_name": run.name,
                    "experiment_id": self._experiments[run.experiment],
                    "status": run.status,
                    "start_time": run.start_ms,
                    "end_time": run.end_ms,
                    "lifecycle_stage": "active",
                },
                "params": run.params,
                "metrics": {
                    key: [{"value": v, "timestamp": ts, "step": step} for v, ts, step in pts]
                    for key, pts in run.metrics.items()
                },
                "tags": tags,
                "inputs": run.datasets,
            },
        }
        (folder / "run.json").write_text(json.dumps(body, indent=2, allow_nan=True))
        for path in run.artifacts:
            local = source.fetch(run, path, folder / ".fetch")
            target_file = folder / "artifacts" / path
            target_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target_file)
        shutil.rmtree(folder / ".fetch", ignore_errors=True)
        self._run_dirs[rid] = (folder, run.experiment)
        return rid

    def write_model(self, model: MlflowModel, ids: dict[str, str]) -> None:
        """models/<name>/model.json as mlflow-export-import writes it: each version's source
        the path of its file or folder in its exported run's artifacts/."""
        versions = []
        for v in model.versions:
            rid = ids[v.run_id or ""]
            run_dir, experiment = self._run_dirs[rid]
            versions.append(
                {
                    "name": model.name,
                    "version": str(v.version),
                    "run_id": rid,
                    "source": str(run_dir / "artifacts" / v.source),
                    "description": v.description or "",
                    "user_id": v.user or "",
                    "tags": v.tags,
                    "aliases": sorted(a for a, n in model.aliases.items() if n == v.version),
                    "current_stage": "None",
                    "status": "READY",
                    "_run_artifact_uri": str(run_dir / "artifacts"),
                    "_experiment_name": experiment,
                }
            )
        body = {
            "name": model.name,
            "description": model.description or "",
            "tags": model.tags,
            "aliases": [{"alias": a, "version": str(n)} for a, n in model.aliases.items()],
            "versions": versions,
        }
        folder = self.root / "models" / model.name
        folder.mkdir(parents=True, exist_ok=True)
        info = {"num_src_versions": len(versions), "num_dst_versions": len(versions)}
        (folder / "model.json").write_text(
            json.dumps(
                {"system": _system(), "info": info, "mlflow": {"registered_model": body}},
                indent=2,
            )
        )
        names = sorted(p.parent.name for p in (self.root / "models").glob("*/model.json"))
        (self.root / "models" / "models.json").write_text(
            json.dumps(
                {
                    "system": _system(),
                    "info": {"num_total_models": len(names)},
                    "mlflow": {"models": names},
                },
                indent=2,
            )
        )

    def read_models(self, names: set[str]) -> Iterator[MlflowModel]:
        return FolderSource(str(self.root)).models(names)

    def finish(self) -> None:
        """Write experiment.json for each experiment (listing every run in its folder, from
        this export or an earlier one), and experiments.json."""
        listing = []
        for name, exp_id in self._experiments.items():
            exp_dir = self.root / "experiments" / exp_id
            runs = sorted(p.parent.name for p in exp_dir.glob("runs/*/run.json"))
            exp_dir.mkdir(parents=True, exist_ok=True)
            (exp_dir / "experiment.json").write_text(
                json.dumps(
                    {
                        "system": _system(),
                        "info": {
                            "num_total_runs": len(runs),
                            "num_ok_runs": len(runs),
                            "num_failed_runs": 0,
                            "failed_runs": [],
                        },
                        "mlflow": {
                            "experiment": {
                                "experiment_id": exp_id,
                                "name": name,
                                "lifecycle_stage": "active",
                                "tags": {},
                            },
                            "runs": runs,
                        },
                    },
                    indent=2,
                )
            )
            listing.append({"id": exp_id, "name": name, "ok_runs": len(runs), "failed_runs": 0})
        (self.root / "experiments" / "experiments.json").write_text(
            json.dumps(
                {
                    "system": _system(),
                    "info": {"experiments": len(listing)},
                    "mlflow": {"experiments": listing},
                },
                indent=2,
            )
        )

    def read_back(self, ids: list[str]) -> Iterator[MlflowRun]:
        wanted = set(ids)
        for run in FolderSource(str(self.root)).runs():
            if run.run_id in wanted:
                yield run
