"""Which artifact of a run is its model, and how a model's bytes are stored (its format)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

# The AutoML final model's name (optimize/automl/result.MODEL_ARTIFACT, a layer above this
# one; a test keeps the two equal).
AUTOML_MODEL = "model.pkl"
# Formats whose loading runs code from the file (unpickling): loading them needs trust.
PICKLED = frozenset({"pickle", "joblib", "torch"})
# A version registered through MLflow's API: its artifact is the `MLmodel` file of a model
# folder (server/mlflow/model_registry.FORMAT); loading it unpickles too.
MLFLOW_FOLDER = "mlflow"
_BY_SUFFIX = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
    ".pt": "torch",
    ".pth": "torch",
    ".onnx": "onnx",
    ".safetensors": "safetensors",
    ".json": "json",
    ".npy": "npy",
    ".cbm": "catboost",
    ".ubj": "xgboost",
    ".h5": "keras",
    ".keras": "keras",
    ".ckpt": "torch",
}
_MODEL_FORMATS = PICKLED | {"onnx", "safetensors", "catboost", "xgboost", "keras"}


def artifact_format(artifact: Mapping[str, Any]) -> str | None:
    """The artifact's format: what `xt.log_artifact` serialized it with, else its suffix."""
    meta = artifact.get("meta") or {}
    logged = meta.get("format") if isinstance(meta, Mapping) else None
    if logged in PICKLED:
        return str(logged)
    return _BY_SUFFIX.get(PurePosixPath(str(artifact.get("name", ""))).suffix.lower(), logged)


def is_model_like(artifact: Mapping[str, Any]) -> bool:
    """True for an artifact a model registry would hold (a pickled estimator, torch
    weights, ONNX, ...), not a table, figure or text."""
    return artifact_format(artifact) in _MODEL_FORMATS


def pick_model_artifact(
    artifacts: Sequence[Mapping[str, Any]], run_label: str
) -> Mapping[str, Any]:
    """The run's model: the AutoML `model.pkl`, else its single model-like artifact, else
    a ValueError listing what there is and how to name one."""
    for artifact in artifacts:
        if artifact.get("name") == AUTOML_MODEL:
            return artifact
    models = [a for a in artifacts if is_model_like(a)]
    if len(models) == 1:
        return models[0]
    names = ", ".join(repr(a.get("name")) for a in (models or artifacts)) or "none"
    if models:
        why = f"has {len(models)} model-like artifacts ({names})"
    else:
        why = f"has no model-like artifact (its artifacts: {names}); log one with xt.log_artifact(model)"
    raise ValueError(
        f"run {run_label} {why}; name the one to register as 'RUN:artifact_name', e.g. "
        f"xt.register_model('{run_label}:model.joblib', 'churn')"
    )


def find_artifact(
    artifacts: Sequence[Mapping[str, Any]], name: str, run_label: str
) -> Mapping[str, Any]:
    for artifact in artifacts:
        if artifact.get("name") == name:
            return artifact
    names = ", ".join(repr(a.get("name")) for a in artifacts) or "none"
    raise ValueError(f"run {run_label} has no artifact {name!r} (its artifacts: {names})")
