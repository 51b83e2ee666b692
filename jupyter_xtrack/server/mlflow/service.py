"""What each MLflow tracking endpoint does on the store: blocking functions of a `Req`,
called on the API's worker threads; every write goes through the GroupWriter and returns
once committed."""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...store import open_store
from ...store.contract import MetricLast, RunStore
from ...store.ids import new_run_id
from .artifacts import listing, locate
from .errors import INVALID_STATE, MlflowError, invalid, missing
from .experiments import ExperimentBook, quote
from .mapping import (
    DELETED_TAG,
    HIDDEN_TAG_PREFIX,
    PARENT_TAG,
    RUN_NAME_TAG,
    TO_XTRACK_STATUS,
    kv,
    metric_value,
    mlflow_tags,
    ms,
    param_to_mlflow,
    param_to_store,
    random_run_name,
    run_info,
    seconds,
    to_xtrack_experiment,
)
from .request import Req
from .search import page_offset, page_token, translate_filter, translate_order
from .validation import (
    MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_batch,
    check_key,
    check_value,
    metric_number,
    whole,
)
from .writes import GroupWriter

INPUTS_TAG = "xtrack.mlflow.inputs"
OUTPUTS_TAG = "xtrack.mlflow.outputs"
MAX_SEARCH_RESULTS = 50_000
MAX_HISTORY_PAGE = 25_000
_VIEW_FILTERS = {
    "ACTIVE_ONLY": f"not (tags.`{DELETED_TAG}` = '1')",
    "1": f"not (tags.`{DELETED_TAG}` = '1')",
    "DELETED_ONLY": f"tags.`{DELETED_TAG}` = '1'",
    "2": f"tags.`{DELETED_TAG}` = '1'",
    "ALL": None,
    "3": None,
}
Point = tuple[str, str, float, int | None, float]


class MlflowService:
    """MLflow's tracking service over one xtrack store (created on the first write)."""

    def __init__(self, location: str, folder: Path) -> None:
        """`location`: the store as open_store takes it; `folder`: the store's folder (a
        database store's local folder), where servers before the book moved into the
        store kept it (imported on first use)."""
        self.location = location
        self.book = ExperimentBook(folder)
        self.writer = GroupWriter(self.store)
        self._store: RunStore | None = None
        self._lock = threading.Lock()
        # Registered models created without a version yet (model_registry.py).
        self.new_models: dict[str, dict[str, Any]] = {}
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="xtrack-mlflow")

    def store(self) -> RunStore:
        """The store, opened for writing (and created) on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.location)
        return self._store

    def write(self, fn: Callable[[RunStore], Any]) -> Any:
        """Run `fn` in the next group commit and wait for it (its exception re-raised)."""
        return self.writer.submit(fn).result()

    def close(self) -> None:
        self.executor.shutdown(wait=False)
        self.writer.close()
        if self._store is not None:
            self._store.close()

    # -- experiments ---------------------------------------------------------------------
    def create_experiment(self, req: Req) -> dict[str, Any]:
        return {
            "experiment_id": self.book.create(self.store(), req.text("name"), req.pairs("tags"))
        }

    def get_experiment(self, req: Req) -> dict[str, Any]:
        store = self.store()
        name = self.book.name_of(store, req.text("experiment_id"))
        return {"experiment": self.book.describe(store, name)}

    def get_experiment_by_name(self, req: Req) -> dict[str, Any]:
        mlflow_name = req.text("experiment_name")
        name = to_xtrack_experiment(mlflow_name)
        store = self.store()
        if not self.book.exists(store, name):
            raise missing(f"Could not find experiment with name '{mlflow_name}'")
        return {"experiment": self.book.describe(store, name)}

    def search_experiments(self, req: Req) -> dict[str, Any]:
        view = (req.opt("view_type") or "ACTIVE_ONLY").upper()
        wanted = _experiment_filter(req.opt("filter"))
        found = []
        for body in self.book.describe_all(self.store()):
            deleted = body["lifecycle_stage"] == "deleted"
            if (view in ("ACTIVE_ONLY", "1") and deleted) or (
                view in ("DELETED_ONLY", "2") and not deleted
            ):
                continue
            if wanted(body["name"]):
                found.append(body)
        limit = req.int("max_results", 1000) or 1000
        offset = page_offset(req.opt("page_token"))
        page = found[offset : offset + limit]
        out: dict[str, Any] = {"experiments": page}
        if offset + limit < len(found):
            out["next_page_token"] = page_token(offset + limit)
        return out

    def update_experiment(self, req: Req) -> dict[str, Any]:
        name = self.book.name_of(self.store(), req.text("experiment_id"))
        new = req.opt("new_name")
        if new and to_xtrack_experiment(new) != name:
            raise invalid(
                "xtrack cannot rename an experiment: its name is on every run; "
                "create a new experiment instead"
            )
        return {}

    def delete_experiment(self, req: Req) -> dict[str, Any]:
        store = self.store()
        self.book.update(store, self.book.name_of(store, req.text("experiment_id")), deleted=True)
        return {}

    def restore_experiment(self, req: Req) -> dict[str, Any]:
        store = self.store()
        self.book.update(store, self.book.name_of(store, req.text("experiment_id")), deleted=False)
        return {}

    def set_experiment_tag(self, req: Req) -> dict[str, Any]:
        store = self.store()
        name = self.book.name_of(store, req.text("experiment_id"))
        key = check_key(req.text("key"), "tag")
        value = check_value(req.fields.get("value", ""), "tag", MAX_EXPERIMENT_TAG_VALUE_LENGTH)
        self.book.update(store, name, tags={key: value})
        return {}

    def delete_experiment_tag(self, req: Req) -> dict[str, Any]:
        store = self.store()
        name = self.book.name_of(store, req.text("experiment_id"))
        self.book.update(store, name, drop_tag=req.text("key"))
        return {}

    # -- runs ----------------------------------------------------------------------------
    def create_run(self, req: Req) -> dict[str, Any]:
        exp_id = req.opt("experiment_id") or "0"
        name = self.book.name_of(self.store(), exp_id)
        if self.book.is_deleted(self.store(), name):
            raise MlflowError(
                INVALID_STATE,
                f"The experiment {exp_id} must be in the 'active' state. Current state is deleted.",
            )
        tags = _checked_tags(req.pairs("tags"))
        run_name = req.opt("run_name") or tags.pop(RUN_NAME_TAG, None) or random_run_name()
        tags.pop(RUN_NAME_TAG, None)
        parent = tags.pop(PARENT_TAG, None)
        started = seconds(req.int("start_time")) or time.time()
        run_id = new_run_id()

        def create(store: RunStore) -> None:
            store.create_run(
                name=run_name,
                experiment=name,
                tags=tags,
                parent_id=parent,
                kind="script",
                started_at=started,
                run_id=run_id,
            )

        self.write(create)
        return {"run": self.runs_json([self.store().get_run(run_id)])[0]}

    def get_run(self, req: Req) -> dict[str, Any]:
        return {"run": self.runs_json([self.store().get_run(self._run_id(req))])[0]}

    def update_run(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        status = req.opt("status")
        if status is not None and status not in TO_XTRACK_STATUS:
            raise invalid(f"Invalid run status {status!r}")
        ended = seconds(req.int("end_time"))
        name = req.opt("run_name")

        def update(store: RunStore) -> None:
            if name:
                store.set_name(run_id, name)
            if status and TO_XTRACK_STATUS[status] != "running":
                store.finish_run(run_id, status=TO_XTRACK_STATUS[status], ended_at=ended)

        self.write(update)
        return {"run_info": run_info(self.store().get_run(run_id))}

    def delete_run(self, req: Req) -> dict[str, Any]:
        return self._mark_deleted(self._run_id(req), "1")

    def restore_run(self, req: Req) -> dict[str, Any]:
        return self._mark_deleted(self._run_id(req), "")

    def _mark_deleted(self, run_id: str, flag: str) -> dict[str, Any]:
        self.write(lambda store: store.set_tags(run_id, {DELETED_TAG: flag}))
        return {}

    def log_metric(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        point = _point(run_id, req.fields)
        self.write(lambda store: store.log_metrics([point]))
        return {}

    def log_param(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        key = check_key(req.text("key"), "param")
        value = check_value(req.fields.get("value"), "param", MAX_PARAM_VALUE_LENGTH)
        self.write(lambda store: _set_params(store, run_id, {key: value}))
        return {}

    def set_tag(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        tags = _checked_tags({req.text("key"): req.fields.get("value", "")})
        self.write(lambda store: _set_tags(store, run_id, tags))
        return {}

    def delete_tag(self, req: Req) -> dict[str, Any]:
        run_id, key = self._run_id(req), req.text("key")
        if key == RUN_NAME_TAG or key.startswith(HIDDEN_TAG_PREFIX):
            raise invalid(f"The tag '{key}' belongs to the run itself and cannot be deleted")

        def delete(store: RunStore) -> None:
            if not store.delete_tag(run_id, key):
                raise missing(f"No tag with name: {key} in run with id {run_id}")

        self.write(delete)
        return {}

    def log_batch(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        metrics, params, tags = req.objects("metrics"), req.objects("params"), req.objects("tags")
        check_batch(metrics, params, tags, req.size)
        points = [_point(run_id, m) for m in metrics]
        param_values: dict[str, str] = {}
        for p in params:
            key = check_key(p.get("key"), "param")
            value = check_value(p.get("value"), "param", MAX_PARAM_VALUE_LENGTH)
            if param_values.get(key, value) != value:
                raise invalid(
                    f"Duplicate parameter keys have been submitted: ['{key}']. "
                    "Please ensure the request contains only one param value per "
                    "param key."
                )
            param_values[key] = value
        tag_values = _checked_tags({t.get("key"): t.get("value", "") for t in tags})

        linked = [p for p, m in zip(points, metrics, strict=True) if m.get("model_id")]

        def log(store: RunStore) -> None:
            _set_params(store, run_id, param_values)
            store.log_metrics([p for p in points if p not in linked or not _held(store, p)])
            _set_tags(store, run_id, tag_values)

        self.write(log)
        return {}

    def log_inputs(self, req: Req) -> dict[str, Any]:
        return self._append_tag_list(self._run_id(req), INPUTS_TAG, req.items("datasets"))

    def log_outputs(self, req: Req) -> dict[str, Any]:
        return self._append_tag_list(self._run_id(req), OUTPUTS_TAG, req.items("models"))

    def _append_tag_list(self, run_id: str, tag: str, items: list[Any]) -> dict[str, Any]:
        """Datasets and model outputs are kept as a JSON list in a bookkeeping tag."""

        def append(store: RunStore) -> None:
            known = json.loads(store.get_tag(run_id, tag) or "[]")
            store.resolve_ref(run_id)
            known.extend(i for i in items if i not in known)
            store.set_tags(run_id, {tag: json.dumps(known)})

        self.write(append)
        return {}

    def search_runs(self, req: Req) -> dict[str, Any]:
        store = self.store()
        names = [self.book.name_of(store, e) for e in req.items("experiment_ids")]
        view = (req.opt("run_view_type") or "ACTIVE_ONLY").upper()
        if names and view in ("ACTIVE_ONLY", "1"):
            # A deleted experiment's runs count as deleted, as in MLflow.
            names = [n for n in names if not self.book.is_deleted(store, n)]
            if not names:
                return {"runs": []}
        clauses = [translate_filter(req.opt("filter")), _VIEW_FILTERS.get(view)]
        if names:
            clauses.append(f"experiment in ({', '.join(quote(n) for n in names)})")
        where = " and ".join(f"({c})" for c in clauses if c)
        limit = req.int("max_results", 1000) or 1000
        if not 0 < limit <= MAX_SEARCH_RESULTS:
            raise invalid(
                f"Invalid value {limit} for parameter 'max_results' supplied. It must "
                f"be at most {MAX_SEARCH_RESULTS}"
            )
        offset = page_offset(req.opt("page_token"))
        table = store.query_runs(
            where or None,
            order_by=translate_order(req.items("order_by")),
            limit=limit,
            offset=offset,
        )
        runs = self.runs_json([_record_of_row(row) for row in table.rows()])
        out: dict[str, Any] = {"runs": runs}
        if offset + len(runs) < table.total:
            out["next_page_token"] = page_token(offset + len(runs))
        return out

    def metric_history(self, req: Req) -> dict[str, Any]:
        run_id = self._run_id(req)
        key = req.text("metric_key")
        history = self.store().metric_history(run_id, key)
        limit = min(req.int("max_results", MAX_HISTORY_PAGE) or MAX_HISTORY_PAGE, MAX_HISTORY_PAGE)
        offset = page_offset(req.opt("page_token"))
        points = _points(key, history)
        out: dict[str, Any] = {"metrics": points[offset : offset + limit]}
        if offset + limit < len(points):
            out["next_page_token"] = page_token(offset + limit)
        return out

    def metric_history_bulk(self, req: Req) -> dict[str, Any]:
        key = req.text("metric_key")
        start, end = req.int("start_step"), req.int("end_step")
        limit = req.int("max_results", 100) or 100
        out: list[dict[str, Any]] = []
        for run_id in req.items("run_ids"):
            points = [
                p
                for p in _points(key, self.store().metric_history(str(run_id), key))
                if (start is None or p["step"] >= start) and (end is None or p["step"] <= end)
            ]
            stride = max(1, -(-len(points) // limit))
            picked = points[::stride]
            if points and picked[-1] is not points[-1]:
                picked.append(points[-1])
            out.extend({**p, "run_id": str(run_id)} for p in picked)
        return {"metrics": out}

    # -- artifacts -----------------------------------------------------------------------
    def list_run_artifacts(self, req: Req) -> dict[str, Any]:
        """artifacts/list: the files under `path` of the run's artifacts, their paths
        relative to the run's artifact root."""
        run_id = self._run_id(req)
        record = self.store().get_run(run_id)
        sub = (req.opt("path") or "").strip("/")
        _, prefix = locate(f"x/{run_id}/artifacts/{sub}")
        files = listing(self.store(), run_id, prefix)
        for f in files:
            f["path"] = f"{sub}/{f['path']}" if sub else f["path"]
        return {"root_uri": run_info(record)["artifact_uri"], "files": files}

    def list_proxied(self, path: str) -> list[dict[str, Any]]:
        """mlflow-artifacts' list: the files directly under `path`."""
        run_id, prefix = locate(path)
        return listing(self.store(), run_id, prefix)

    # -- shapes --------------------------------------------------------------------------
    def _run_id(self, req: Req) -> str:
        return req.text("run_id", "run_uuid")

    def runs_json(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """MLflow's Run of each record, each metric's last point read in one go."""
        last = self.store().last_metrics([str(r["id"]) for r in records])
        return [run_json(r, last.get(str(r["id"]), {})) for r in records]


def run_json(record: dict[str, Any], last: dict[str, MetricLast]) -> dict[str, Any]:
    """MLflow's Run: info, data (each metric's last point with its step and time, params,
    tags), inputs, outputs."""
    tags = record.get("tags") or {}
    metrics = [
        {"key": k, "value": metric_value(v), "timestamp": ms(t), "step": s or 0}
        for k, (v, s, t) in sorted(last.items())
    ]
    params = {k: param_to_mlflow(v) for k, v in (record.get("params") or {}).items()}
    return {
        "info": run_info(record),
        "data": {"metrics": metrics, "params": kv(params), "tags": kv(mlflow_tags(record))},
        "inputs": {"dataset_inputs": json.loads(tags.get(INPUTS_TAG) or "[]")},
        "outputs": {"model_outputs": json.loads(tags.get(OUTPUTS_TAG) or "[]")},
    }


def _point(run_id: str, fields: dict[str, Any]) -> Point:
    key = check_key(fields.get("key"), "metric")
    value = metric_number(fields.get("value"), key)
    stamp = seconds(whole(fields.get("timestamp"), "timestamp"))
    step = whole(fields.get("step"), "step", 0) or 0
    return (run_id, key, value, step, time.time() if stamp is None else stamp)


def _held(store: RunStore, point: Point) -> bool:
    """Whether the run already has this exact point. MLflow 3's log_model sends the run's
    metrics again, with the model's id, to link them to it; MLflow keeps one copy."""
    history = store.metric_history(point[0], point[1])
    held = zip(history["step"], history["value"], history["time"], strict=True)
    return any((s or 0, v, ms(t)) == (point[3], point[2], ms(point[4])) for s, v, t in held)


def _points(key: str, history: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [
        {"key": key, "value": metric_value(v), "timestamp": ms(t), "step": s or 0}
        for s, v, t in zip(history["step"], history["value"], history["time"], strict=True)
    ]


def _checked_tags(tags: dict[Any, Any]) -> dict[str, str]:
    return {
        check_key(k, "tag"): check_value(v, "tag", MAX_TAG_VALUE_LENGTH) for k, v in tags.items()
    }


def _set_params(store: RunStore, run_id: str, params: dict[str, str]) -> None:
    """Store params; a param already logged with another value is refused (MLflow's
    params are immutable), the same value again is fine."""
    if not params:
        return
    logged = store.get_run(run_id)["params"]
    for key, value in params.items():
        if key in logged and param_to_mlflow(logged[key]) != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was "
                f"already logged with value='{param_to_mlflow(logged[key])}' for "
                f"run ID='{run_id}'. Attempted logging new value '{value}'."
            )
    store.set_params(run_id, {k: param_to_store(v) for k, v in params.items()})


def _set_tags(store: RunStore, run_id: str, tags: dict[str, str]) -> None:
    """Store tags; mlflow.runName renames the run (xtrack's name column)."""
    tags = dict(tags)
    name = tags.pop(RUN_NAME_TAG, None)
    if name is not None:
        store.set_name(run_id, name)
    store.set_tags(run_id, {k: v for k, v in tags.items() if not k.startswith(HIDDEN_TAG_PREFIX)})


def _record_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """A query_runs row in get_run's shape (params, metrics, tags as mappings)."""
    record: dict[str, Any] = {"params": {}, "metrics": {}, "tags": {}}
    for column, value in row.items():
        ns, dot, key = column.partition(".")
        if dot and ns in record:
            if value is not None:
                record[ns][key] = value
        else:
            record[column] = value
    return record


def _experiment_filter(text: str | None) -> Callable[[str], bool]:
    """search_experiments' filter: `name = '...'` or `name LIKE '...'` (else all)."""
    if not text:
        return lambda name: True
    match = re.fullmatch(r"\s*(?:attributes\.)?name\s*(=|(?i:like|ilike))\s*'(.*)'\s*", text)
    if match is None:
        raise invalid(
            f"Invalid filter '{text}': experiments filter by name = '...' or name LIKE '...'"
        )
    op, value = match.group(1).lower(), match.group(2)
    if op == "=":
        return lambda name: name == value
    pattern = value.replace("%", "*").replace("_", "?")
    if op == "ilike":
        return lambda name: fnmatch.fnmatch(name.lower(), pattern.lower())
    return lambda name: fnmatch.fnmatchcase(name, pattern)
