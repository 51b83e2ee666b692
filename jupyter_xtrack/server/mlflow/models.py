"""MLflow 3's logged models, kept with the run that logs them.

`log_model` creates a logged model (POST logged-models), records it as the run's output,
uploads its files to the model's artifact location and finalizes it. xtrack keeps each
model's record as a bookkeeping tag of its source run (`xtrack.mlflow.model.<id>`, JSON)
and its files as that run's artifacts under `models/<id>/`; the model id carries the run
id (`m-<run id>-<8 hex>`), so a model is found from its id alone. A model logged outside
any run is refused (xtrack keeps files only with runs).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from ...store.contract import RunStore
from .errors import invalid, missing
from .mapping import MODEL_TAG_PREFIX, kv

_MODEL_ID = re.compile(r"^m-(?P<run>[0-9a-f]{32})-[0-9a-f]{8}$")
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


def model_run_id(model_id: str) -> str:
    """The run a model id belongs to (RESOURCE_DOES_NOT_EXIST for a foreign id)."""
    match = _MODEL_ID.match(model_id)
    if match is None:
        raise missing(f"Logged model with ID '{model_id}' not found")
    return match.group("run")


def new_model(run_id: str, exp_id: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A new model id and its record (status pending)."""
    now = int(time.time() * 1000)
    model_id = f"m-{run_id}-{secrets.token_hex(4)}"
    record: dict[str, Any] = {
        "experiment_id": exp_id,
        "name": fields.get("name") or "model",
        "model_type": fields.get("model_type") or "",
        "status": "LOGGED_MODEL_PENDING",
        "created": now,
        "updated": now,
        "params": {},
        "tags": {},
    }
    return model_id, record


def load(store: RunStore, model_id: str) -> dict[str, Any]:
    """A model's record (RESOURCE_DOES_NOT_EXIST when there is none)."""
    text = store.get_tag(model_run_id(model_id), MODEL_TAG_PREFIX + model_id)
    if text is None:
        raise missing(f"Logged model with ID '{model_id}' not found")
    return dict(json.loads(text))


def save(store: RunStore, model_id: str, record: dict[str, Any]) -> None:
    record["updated"] = int(time.time() * 1000)
    store.set_tags(model_run_id(model_id), {MODEL_TAG_PREFIX + model_id: json.dumps(record)})


def change(
    store: RunStore,
    model_id: str,
    *,
    status: str | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    drop_tag: str | None = None,
) -> dict[str, Any]:
    """Update a model's record (inside a write) and return it."""
    record = load(store, model_id)
    if status is not None:
        if status not in STATUSES:
            raise invalid(f"Invalid logged model status {status!r}")
        record["status"] = status
    record["params"].update(params or {})
    record["tags"].update(tags or {})
    if drop_tag is not None:
        record["tags"].pop(drop_tag, None)
    save(store, model_id, record)
    return record


def model_json(model_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """MLflow's LoggedModel."""
    exp = str(record["experiment_id"])
    return {
        "info": {
            "model_id": model_id,
            "experiment_id": exp,
            "name": record["name"],
            "creation_timestamp_ms": record["created"],
            "last_updated_timestamp_ms": record["updated"],
            "artifact_uri": f"mlflow-artifacts:/{exp}/models/{model_id}/artifacts",
            "status": record["status"],
            "model_type": record["model_type"],
            "source_run_id": model_run_id(model_id),
            "tags": kv(record["tags"]),
        },
        "data": {"params": kv(record["params"]), "metrics": []},
    }


def models_of(tags: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (id, record) of every model whose record is among a run's tags."""
    return [
        (key[len(MODEL_TAG_PREFIX) :], dict(json.loads(str(value))))
        for key, value in tags.items()
        if key.startswith(MODEL_TAG_PREFIX)
    ]
