"""Loading a registered version's bytes back into an object.

Unpickling (pickle, joblib, torch) runs code chosen by whoever wrote the file, so it is
done only when the user says the store is trusted (`trusted=True`) or owns it (the store
folder's owner is this process's user). The server never calls this.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import TYPE_CHECKING, Any

from .artifacts import PICKLED

if TYPE_CHECKING:
    from ..store.contract import RunStore
    from .versions import ModelVersion


class UntrustedModelError(PermissionError):
    """Loading would unpickle a file from a store this user neither owns nor trusts."""


def store_is_owned(store: RunStore) -> bool:
    """True when this process's user owns the store folder (POSIX; never elsewhere)."""
    getuid = getattr(os, "getuid", None)
    return getuid is not None and os.stat(store.root).st_uid == getuid()


def load_version(version: ModelVersion, store: RunStore, *, trusted: bool = False) -> Any:
    """The object stored in `version`: unpickled (trust needed, see the module), parsed
    JSON, a NumPy array, or the raw bytes for formats this package does not read (ONNX,
    safetensors, ...: pass them to their library)."""
    fmt = version.format
    if fmt in PICKLED and not trusted and not store_is_owned(store):
        raise UntrustedModelError(
            f"{version.uri} is a {fmt} file, and loading it runs code from the file; store "
            f"{store.root} belongs to another user, so it is not loaded. If you trust that "
            f"store, load it with xt.load_model({version.uri!r}, trusted=True)"
        )
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
