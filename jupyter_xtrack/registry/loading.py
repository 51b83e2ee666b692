"""Loading a registered version's bytes back into an object.

Unpickling (pickle, joblib, torch) runs code chosen by whoever wrote the file, so it is
done only when the user says the store is trusted (`trusted=True`) or owns it (the store
folder's owner is this process's user) and the version was not copied there from another
store by `xtrack pull/push` (tagged `COPIED_FROM_TAG`). The server never calls this.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import TYPE_CHECKING, Any

from ..store.location import redact
from ..store.registry import COPIED_FROM_TAG
from .artifacts import MLFLOW_FOLDER, PICKLED

if TYPE_CHECKING:
    from ..store.contract import RunStore
    from .versions import ModelVersion


class UntrustedModelError(PermissionError):
    """Loading would unpickle a file from a store this user neither owns nor trusts."""


def store_is_owned(store: RunStore) -> bool:
    """True when this process's user owns the store folder (POSIX; never elsewhere). A
    shared store on a database server is never owned: teammates write into it."""
    getuid = getattr(os, "getuid", None)
    return store.is_local and getuid is not None and os.stat(store.root).st_uid == getuid()


def load_version(version: ModelVersion, store: RunStore, *, trusted: bool = False) -> Any:
    """The object stored in `version`: unpickled (trust needed, see the module), parsed
    JSON, a NumPy array, or the raw bytes for formats this package does not read (ONNX,
    safetensors, ...: pass them to their library)."""
    fmt = version.format
    copied = version.tags.get(COPIED_FROM_TAG)
    if fmt in PICKLED | {MLFLOW_FOLDER} and not trusted and (copied or not store_is_owned(store)):
        whose = (f"it was copied from store {copied} (xtrack pull/push), written there by "
                 f"{version.user or 'an unknown user'}" if copied
                 else f"store {store.root} belongs to another user" if store.is_local
                 else f"store {redact(store.location)} is shared by a team")
        raise UntrustedModelError(
            f"{version.uri} is a {fmt} file, and loading it runs code from the file; {whose}, "
            f"so it is not loaded. If you trust that store, load it with "
            f"xt.load_model({version.uri!r}, trusted=True)"
        )
    if fmt == MLFLOW_FOLDER:
        return _load_mlflow_folder(version, store)
    if fmt == "joblib":
        import joblib  # lazy: only to load joblib files

        return joblib.load(store.blob_file(version.blob))
    if fmt == "torch":
        import torch  # lazy: an optional, heavy library

        return torch.load(store.blob_file(version.blob), map_location="cpu", weights_only=False)
    data = store.get_blob(version.blob)
    if fmt == "pickle":
        return pickle.loads(data)  # noqa: S301 - trusted or owned, checked above
    if fmt == "json":
        return json.loads(data)
    if fmt == "npy":
        import io

        import numpy as np  # lazy: only for arrays

        return np.load(io.BytesIO(data), allow_pickle=False)
    return data


def _load_mlflow_folder(version: ModelVersion, store: RunStore) -> Any:
    """A version registered through MLflow's API: its `MLmodel` and the files beside it are
    artifacts of its run; laid out in a temporary folder, they load with the flavor MLflow
    saved them with (`mlflow.sklearn`, ...; the generic `pyfunc` wrapper when the flavor has no
    loader), as `mlflow.<flavor>.load_model` would give them."""
    import importlib
    import tempfile
    from pathlib import Path, PurePosixPath

    import yaml  # lazy: MLflow's MLmodel file is YAML

    if version.run_id is None or version.artifact is None:
        raise ValueError(f"{version.uri}: an MLflow model folder without its run cannot be loaded")
    try:
        import mlflow  # noqa: F401 - lazy: only for MLflow-format versions
    except ImportError as e:
        raise ImportError(
            f"{version.uri} is an MLflow model folder: loading it needs mlflow (pip install mlflow)"
        ) from e
    folder = PurePosixPath(version.artifact).parent
    prefix = "" if str(folder) == "." else f"{folder}/"
    with tempfile.TemporaryDirectory(prefix="xtrack-model-") as tmp:
        for artifact in store.artifacts(version.run_id):
            name = str(artifact["name"])
            if name.startswith(prefix):
                target = Path(tmp, *PurePosixPath(name[len(prefix):]).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(store.get_blob(artifact["hash"]))
        flavors = yaml.safe_load(Path(tmp, "MLmodel").read_text()).get("flavors") or {}
        native = [f for f in flavors if f != "python_function"]
        for flavor in [*native, "pyfunc"]:
            try:
                loader = importlib.import_module(f"mlflow.{flavor}").load_model
            except (ImportError, AttributeError):
                continue
            return loader(tmp)
    raise ValueError(f"{version.uri}: MLflow cannot load this model folder (flavors: {list(flavors)})")
