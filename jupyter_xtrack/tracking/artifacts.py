"""Turning what a user passes to `xt.log_artifact` into bytes or a file, with a name and type.

Files keep their own name; objects are serialized with the library that fits them.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class ArtifactPayload:
    name: str
    media_type: str | None
    format: str
    source: str
    path: str | None = None
    data: bytes | None = None


def _module_of(obj: Any) -> str:
    return type(obj).__module__ or ""


def artifact_payload(obj: Any, name: str | None = None) -> ArtifactPayload:
    """Decide how to store `obj`: a path to an existing file, or a serialized object."""
    if isinstance(obj, (str, os.PathLike)):
        path = os.fspath(obj)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"xt.log_artifact: no file {path!r} (pass an existing file, or an object to serialize)"
            )
        final = name or os.path.basename(path)
        media, _ = mimetypes.guess_type(final)
        return ArtifactPayload(final, media, "file", "file", path=os.path.abspath(path))
    data, ext, media, fmt = _serialize(obj)
    default = f"{type(obj).__name__.lower()}{ext}"
    return ArtifactPayload(name or default, media, fmt, type(obj).__qualname__, data=data)


def _serialize(obj: Any) -> tuple[bytes, str, str | None, str]:
    mod = _module_of(obj)
    if isinstance(obj, bytes):
        return obj, ".bin", "application/octet-stream", "bytes"
    if isinstance(obj, str):
        return obj.encode(), ".txt", "text/plain", "text"
    if mod.startswith("pandas") and hasattr(obj, "to_parquet"):
        buf = io.BytesIO()
        try:
            obj.to_parquet(buf)
            return buf.getvalue(), ".parquet", "application/vnd.apache.parquet", "parquet"
        except Exception:  # noqa: BLE001 - no pyarrow, or unparquetable columns: CSV still works
            return obj.to_csv().encode(), ".csv", "text/csv", "csv"
    if mod.startswith("matplotlib") and hasattr(obj, "savefig"):
        buf = io.BytesIO()
        obj.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue(), ".png", "image/png", "png"
    if mod.startswith("numpy") and type(obj).__name__ == "ndarray":
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, obj, allow_pickle=False)
        return buf.getvalue(), ".npy", "application/x-npy", "npy"
    if mod.startswith("torch"):
        import torch

        buf = io.BytesIO()
        state = obj.state_dict() if hasattr(obj, "state_dict") else obj
        torch.save(state, buf)
        return buf.getvalue(), ".pt", "application/octet-stream", "torch"
    if mod.startswith("sklearn") or hasattr(obj, "get_params"):
        import joblib

        buf = io.BytesIO()
        joblib.dump(obj, buf)
        return buf.getvalue(), ".joblib", "application/octet-stream", "joblib"
    if isinstance(obj, (dict, list, tuple, int, float, bool)) or obj is None:
        text = json.dumps(obj, indent=1, default=repr, ensure_ascii=False)
        return text.encode(), ".json", "application/json", "json"
    import pickle

    return pickle.dumps(obj), ".pkl", "application/octet-stream", "pickle"
