"""xtrack's runs in MLflow's shapes and back: ids, statuses, times, params, tags.

Run ids need no mapping: xtrack's are 32 lowercase hex digits, which MLflow takes as they
are. Experiments are names in xtrack; MLflow's id of one is a number derived from its name
(so it is the same on every server and after a restart), "0" for the default experiment.
MLflow's system tags that xtrack has a column for (the run's name, its parent) are stored
in the column and given back as tags; every other tag is kept as it came.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from typing import Any

DEFAULT_EXPERIMENT = "default"  # xtrack's experiment when none is named
MLFLOW_DEFAULT_NAME = "Default"  # MLflow's name for it
DEFAULT_EXPERIMENT_ID = "0"

RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"
# Bookkeeping tags of this API (xtrack.* tags are kept apart from the user's in xtrack).
DELETED_TAG = "xtrack.mlflow.deleted"
MODEL_TAG_PREFIX = "xtrack.mlflow.model."
HIDDEN_TAG_PREFIX = "xtrack.mlflow."

TO_XTRACK_STATUS = {
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
}
TO_MLFLOW_STATUS = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "crashed": "FAILED",
    "interrupted": "KILLED",
    "killed": "KILLED",
}


_ADJECTIVES = (
    "amber",
    "brave",
    "calm",
    "deft",
    "eager",
    "fleet",
    "gentle",
    "hardy",
    "keen",
    "lucid",
    "merry",
    "nimble",
    "placid",
    "quiet",
    "rapid",
    "steady",
    "tidy",
    "vivid",
)
_NOUNS = (
    "badger",
    "crane",
    "dolphin",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "jackal",
    "koala",
    "lynx",
    "marten",
    "newt",
    "otter",
    "puffin",
    "quail",
    "raven",
    "stoat",
    "wren",
)


def random_run_name() -> str:
    """A name for a run created without one ("calm-otter-417"): MLflow's server names every
    run, and code reads `run.info.run_name`."""
    pick = secrets.choice
    return f"{pick(_ADJECTIVES)}-{pick(_NOUNS)}-{secrets.randbelow(1000)}"


def experiment_id(name: str) -> str:
    """MLflow's id for xtrack experiment `name`: "0" for the default one, else a decimal
    number from the name's SHA-256 (deterministic; 60 bits, so collisions do not happen in
    practice)."""
    if name == DEFAULT_EXPERIMENT:
        return DEFAULT_EXPERIMENT_ID
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:15], 16))


def to_xtrack_experiment(mlflow_name: str) -> str:
    return DEFAULT_EXPERIMENT if mlflow_name == MLFLOW_DEFAULT_NAME else mlflow_name


def to_mlflow_experiment(name: str) -> str:
    return MLFLOW_DEFAULT_NAME if name == DEFAULT_EXPERIMENT else name


def ms(seconds: float | None) -> int | None:
    """Unix seconds (xtrack) as Unix milliseconds (MLflow)."""
    return None if seconds is None else int(round(seconds * 1000))


def seconds(millis: int | None) -> float | None:
    """MLflow's milliseconds as Unix seconds; None for absent."""
    return None if millis is None else millis / 1000.0


def param_to_store(value: str) -> Any:
    """An MLflow param (always text) as xtrack stores it: a JSON number or boolean when the
    text is exactly that value's JSON spelling, so `params.lr > 0.01` filters numerically in
    xtrack and the text reads back unchanged; text otherwise."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, bool | int | float) and json.dumps(parsed) == value:
        return parsed
    return value


def param_to_mlflow(value: Any) -> str:
    """A stored param as MLflow's text (the inverse of `param_to_store`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return json.dumps(value)


def metric_value(value: float | None) -> Any:
    """A metric value for MLflow's JSON: protobuf spells non-finite doubles as strings."""
    if value is None:
        return "NaN"
    if math.isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def kv(mapping: dict[str, str]) -> list[dict[str, str]]:
    """MLflow's key/value list form of a mapping."""
    return [{"key": k, "value": v} for k, v in mapping.items()]


def mlflow_tags(record: dict[str, Any]) -> dict[str, str]:
    """The run's tags as MLflow shows them: the stored ones (less this API's bookkeeping),
    with the name and parent put back as their system tags."""
    tags = {
        k: str(v)
        for k, v in (record.get("tags") or {}).items()
        if not k.startswith(HIDDEN_TAG_PREFIX)
    }
    if record.get("name"):
        tags[RUN_NAME_TAG] = str(record["name"])
    if record.get("parent_id"):
        tags[PARENT_TAG] = str(record["parent_id"])
    return tags


def artifact_root(exp_id: str, run_id: str) -> str:
    """The run's artifact URI: served by this API's mlflow-artifacts endpoints."""
    return f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"


def run_info(record: dict[str, Any]) -> dict[str, Any]:
    """MLflow's RunInfo of an xtrack run record (a get_run record or a query row)."""
    exp = experiment_id(str(record["experiment"]))
    tags = record.get("tags") or {}
    info: dict[str, Any] = {
        "run_id": record["id"],
        "run_uuid": record["id"],
        "run_name": record.get("name") or "",
        "experiment_id": exp,
        "user_id": str(tags.get(USER_TAG, "")),
        "status": TO_MLFLOW_STATUS.get(str(record["status"]), "FAILED"),
        "start_time": ms(record["started_at"]),
        "artifact_uri": artifact_root(exp, record["id"]),
        "lifecycle_stage": "deleted" if DELETED_TAG in tags else "active",
    }
    if record.get("ended_at") is not None and record["status"] != "running":
        info["end_time"] = ms(record["ended_at"])
    return info
