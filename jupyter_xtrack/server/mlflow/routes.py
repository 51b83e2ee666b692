"""The MLflow tracking endpoints: one table from (method,
path) to what answers it. Anything else answers ENDPOINT_NOT_FOUND as JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import model_endpoints as lm
from . import model_registry as mr
from .request import Req
from .service import MlflowService

Endpoint = Callable[..., dict[str, Any]]
S = MlflowService

ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("POST", "experiments/create"): S.create_experiment,
    ("GET", "experiments/get"): S.get_experiment,
    ("GET", "experiments/get-by-name"): S.get_experiment_by_name,
    ("POST", "experiments/search"): S.search_experiments,
    ("GET", "experiments/search"): S.search_experiments,
    ("POST", "experiments/update"): S.update_experiment,
    ("POST", "experiments/delete"): S.delete_experiment,
    ("POST", "experiments/restore"): S.restore_experiment,
    ("POST", "experiments/set-experiment-tag"): S.set_experiment_tag,
    ("POST", "experiments/delete-experiment-tag"): S.delete_experiment_tag,
    ("POST", "runs/create"): S.create_run,
    ("GET", "runs/get"): S.get_run,
    ("POST", "runs/update"): S.update_run,
    ("POST", "runs/delete"): S.delete_run,
    ("POST", "runs/restore"): S.restore_run,
    ("POST", "runs/search"): S.search_runs,
    ("POST", "runs/log-metric"): S.log_metric,
    ("POST", "runs/log-parameter"): S.log_param,
    ("POST", "runs/set-tag"): S.set_tag,
    ("POST", "runs/delete-tag"): S.delete_tag,
    ("POST", "runs/log-batch"): S.log_batch,
    ("POST", "runs/log-inputs"): S.log_inputs,
    ("POST", "runs/outputs"): S.log_outputs,
    ("GET", "metrics/get-history"): S.metric_history,
    ("GET", "metrics/get-history-bulk-interval"): S.metric_history_bulk,
    ("GET", "artifacts/list"): S.list_run_artifacts,
    ("POST", "logged-models"): lm.create,
    ("POST", "logged-models/search"): lm.search,
    ("POST", "registered-models/create"): mr.create_model,
    ("GET", "registered-models/get"): mr.get_model,
    ("GET", "registered-models/search"): mr.search_models,
    ("PATCH", "registered-models/update"): mr.update_model,
    ("POST", "registered-models/rename"): mr.rename_model,
    ("DELETE", "registered-models/delete"): mr.delete_model,
    ("POST", "registered-models/set-tag"): mr.set_model_tag,
    ("DELETE", "registered-models/delete-tag"): mr.refuse_delete_tag,
    ("POST", "registered-models/get-latest-versions"): mr.latest_versions,
    ("GET", "registered-models/get-latest-versions"): mr.latest_versions,
    ("POST", "registered-models/alias"): mr.set_alias,
    ("DELETE", "registered-models/alias"): mr.delete_alias,
    ("GET", "registered-models/alias"): mr.get_by_alias,
    ("POST", "model-versions/create"): mr.create_version,
    ("GET", "model-versions/get"): mr.get_version,
    ("PATCH", "model-versions/update"): mr.update_version,
    ("DELETE", "model-versions/delete"): mr.delete_version,
    ("GET", "model-versions/search"): mr.search_versions,
    ("GET", "model-versions/get-download-uri"): mr.download_uri,
    ("POST", "model-versions/set-tag"): mr.set_version_tag,
    ("DELETE", "model-versions/delete-tag"): mr.refuse_delete_tag,
    ("POST", "model-versions/transition-stage"): mr.refuse_stage,
}
# Paths with the model id (and a tag key) in them.
MODEL_ENDPOINTS: tuple[tuple[str, re.Pattern[str], Endpoint], ...] = (
    ("GET", re.compile(r"logged-models/(?P<model_id>[^/]+)"), lm.get),
    ("PATCH", re.compile(r"logged-models/(?P<model_id>[^/]+)"), lm.finalize),
    ("PATCH", re.compile(r"logged-models/(?P<model_id>[^/]+)/tags"), lm.set_tags),
    ("DELETE", re.compile(r"logged-models/(?P<model_id>[^/]+)/tags/(?P<key>.+)"), lm.delete_tag),
    ("POST", re.compile(r"logged-models/(?P<model_id>[^/]+)/params"), lm.log_params),
    (
        "GET",
        re.compile(r"logged-models/(?P<model_id>[^/]+)/artifacts/directories"),
        lm.list_artifacts,
    ),
)


def find_endpoint(method: str, path: str) -> Callable[[MlflowService, Req], dict[str, Any]] | None:
    """What answers `method` on `path` (relative to api/2.0/mlflow/), or None."""
    direct = ENDPOINTS.get((method, path))
    if direct is not None:
        return direct
    for verb, pattern, fn in MODEL_ENDPOINTS:
        match = pattern.fullmatch(path)
        if verb == method and match:
            groups = match.groupdict()
            return lambda svc, req: fn(svc, req, *groups.values())
    return None
