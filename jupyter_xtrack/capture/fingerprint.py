"""Content fingerprints of in-memory data: pandas DataFrames/Series, numpy arrays, torch tensors.

Two objects get the same hash exactly when they have the same shape, column names, dtypes,
index and values. Numeric data is hashed from its raw buffers; strings from Arrow buffers
(value lengths and bytes), so a million rows take milliseconds. pandas, numpy and torch are
only looked up in ``sys.modules``: fingerprinting never imports them.

A numpy array or pandas Series of objects is data only when every element is a value (text, numbers, dates,
None, containers, numpy or pandas scalars): ``fig, axes = plt.subplots(2, 2)`` makes an
object array of Axes, which is no dataset, and an element without a value-based repr would
give a hash that changes from one process to the next.
"""

from __future__ import annotations

import datetime
import decimal
import struct
import sys
from typing import Any

import xxhash

__all__ = ["estimated_bytes", "fingerprint"]

_LEN = struct.Struct("<q")


class _Digest:
    """An xxh3_128 stream where every block is length-prefixed, so block boundaries count."""

    def __init__(self) -> None:
        self.h = xxhash.xxh3_128()
        self.nbytes = 0

    def tag(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.h.update(_LEN.pack(len(data)))
        self.h.update(data)

    def block(self, data: Any) -> None:
        # data: any C-contiguous buffer
        n = memoryview(data).nbytes
        self.h.update(_LEN.pack(n))
        self.h.update(data)
        self.nbytes += n

    def hexdigest(self) -> str:
        return "xxh3_128:" + self.h.hexdigest()


def _numpy_block(d: _Digest, arr: Any) -> None:
    import numpy as np

    if arr.dtype.kind == "O":
        _object_values(d, arr.reshape(-1))
        return
    flat = np.ascontiguousarray(arr).reshape(-1)
    # datetime64 and some other dtypes refuse the buffer protocol; bytes are bytes
    d.tag(str(flat.dtype))
    d.block(flat.view(np.uint8))


def _object_values(d: _Digest, values: Any) -> None:
    """Hash a 1-d sequence of Python objects by value."""
    try:
        import pyarrow as pa

        arrow = pa.array(values, from_pandas=True)
    except Exception:  # mixed types, or no pyarrow: hash each value's type and repr
        arrow = None
    if arrow is not None and _is_stringish(arrow.type):
        d.tag("objects-as-" + str(arrow.type))
        _arrow_chunks(d, [arrow])
        return
    d.tag("objects-by-repr")
    parts = []
    for v in values:
        parts.append(f"{type(v).__qualname__}:{v!r}")
    d.block("\x1f".join(parts).encode("utf-8", "surrogatepass"))


def _is_stringish(t: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _arrow_chunks(d: _Digest, chunks: Any) -> None:
    """Hash Arrow arrays independently of how the data is split into chunks or sliced."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = list(chunks)
    if not chunks:
        d.tag("empty")
        return
    kind = chunks[0].type
    d.tag(str(kind))
    lengths = xxhash.xxh3_128()
    content = xxhash.xxh3_128()
    nulls = xxhash.xxh3_128()
    for chunk in chunks:
        if chunk.null_count:
            nulls.update(np.ascontiguousarray(chunk.is_null().to_numpy(zero_copy_only=False)).data)
        else:
            nulls.update(np.zeros(len(chunk), dtype=np.bool_).data)
        if _is_stringish(kind):
            if chunk.null_count:
                chunk = pc.fill_null(chunk, pa.scalar(b"" if "binary" in str(kind) else "", kind))
            large = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
            width = np.int64 if large else np.int32
            _, offsets_buf, data_buf = chunk.buffers()
            offsets = np.frombuffer(offsets_buf, dtype=width)[
                chunk.offset : chunk.offset + len(chunk) + 1
            ]
            if len(offsets):
                lengths.update(np.diff(offsets).astype(np.int64).data)
                start, end = int(offsets[0]), int(offsets[-1])
                if data_buf is not None and end > start:
                    data = memoryview(data_buf)[start:end]
                    content.update(data)
                    d.nbytes += end - start
        elif pa.types.is_primitive(kind) and not pa.types.is_boolean(kind):
            filled = pc.fill_null(chunk, pa.scalar(0, kind)) if chunk.null_count else chunk
            values = filled.to_numpy(zero_copy_only=False)
            raw = np.ascontiguousarray(values).view(np.uint8)
            content.update(raw.data)
            d.nbytes += raw.nbytes
        else:
            text = "\x1f".join(repr(v) for v in chunk.to_pylist()).encode("utf-8", "surrogatepass")
            content.update(text)
            content.update(b"\x1e")
            d.nbytes += len(text)
    d.block(lengths.digest())
    d.block(content.digest())
    d.block(nulls.digest())


def _pandas_values(d: _Digest, arr: Any) -> None:
    """Hash the values of a pandas column or index (numpy array or ExtensionArray)."""
    import numpy as np
    import pandas as pd

    # the wrapper pandas puts around a plain numpy column (PandasArray before pandas 2.1):
    # hashed from its buffer; the masked path below would scan it for NaN and copy it
    numpy_backed = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray
    if isinstance(arr, numpy_backed):
        arr = arr.to_numpy()
    if isinstance(arr, np.ndarray):
        _numpy_block(d, arr)
        return
    dtype = arr.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        d.tag(f"categorical ordered={dtype.ordered}")
        _numpy_block(d, np.asarray(arr.codes))
        _pandas_values(d, dtype.categories.array)
        return
    asi8 = getattr(arr, "asi8", None)  # datetimes (tz-aware too), timedeltas, periods
    if isinstance(asi8, np.ndarray):
        d.tag("i8 " + str(dtype))
        _numpy_block(d, asi8)
        return
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(arr, "__arrow_array__"):
        try:
            arrow = arr.__arrow_array__()
        except Exception:
            arrow = None
        if arrow is not None:
            _arrow_chunks(d, getattr(arrow, "chunks", [arrow]))
            return
    if numpy_dtype is not None:  # masked Int64/Float64/boolean without Arrow
        mask = np.asarray(arr.isna(), dtype=np.bool_)
        d.tag("masked")
        _numpy_block(d, mask)
        _numpy_block(d, arr.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0)))
        return
    _numpy_block(d, np.asarray(arr))


def _pandas_index(d: _Digest, index: Any) -> None:
    import pandas as pd

    d.tag("index " + repr(list(index.names)))
    if isinstance(index, pd.RangeIndex):
        d.tag(f"range {index.start} {index.stop} {index.step}")
    elif isinstance(index, pd.MultiIndex):
        for level in range(index.nlevels):
            _pandas_values(d, index.get_level_values(level).array)
    else:
        _pandas_values(d, index.array)


def _dataframe(obj: Any, name: str) -> dict[str, Any]:
    d = _Digest()
    columns = {str(c): str(t) for c, t in obj.dtypes.items()}
    d.tag(f"pandas.DataFrame {obj.shape}")
    for column, dtype in obj.dtypes.items():
        d.tag(f"{column!r} {dtype}")
    _pandas_index(d, obj.index)
    for _, series in obj.items():
        _pandas_values(d, series.array)
    return {
        "name": name,
        "kind": "pandas.DataFrame",
        "shape": list(obj.shape),
        "columns": columns,
        "hash": d.hexdigest(),
        "bytes": d.nbytes,
    }


def _series(obj: Any, name: str) -> dict[str, Any]:
    d = _Digest()
    d.tag(f"pandas.Series {obj.shape} {obj.name!r} {obj.dtype}")
    _pandas_index(d, obj.index)
    _pandas_values(d, obj.array)
    return {
        "name": name,
        "kind": "pandas.Series",
        "shape": list(obj.shape),
        "dtype": str(obj.dtype),
        "hash": d.hexdigest(),
        "bytes": d.nbytes,
    }


def _ndarray(obj: Any, name: str) -> dict[str, Any]:
    d = _Digest()
    d.tag(f"numpy.ndarray {obj.shape} {obj.dtype}")
    _numpy_block(d, obj)
    return {
        "name": name,
        "kind": "numpy.ndarray",
        "shape": list(obj.shape),
        "dtype": str(obj.dtype),
        "hash": d.hexdigest(),
        "bytes": d.nbytes,
    }


def _tensor(obj: Any, name: str) -> dict[str, Any]:
    import torch

    d = _Digest()
    shape = list(obj.shape)
    d.tag(f"torch.Tensor {shape} {obj.dtype}")
    # bytes on the host, whatever the device; a byte view works for every dense dtype
    host = obj.detach().cpu().contiguous().reshape(-1)
    d.block(host.view(torch.uint8).numpy())
    return {
        "name": name,
        "kind": "torch.Tensor",
        "shape": shape,
        "dtype": str(obj.dtype),
        "device": str(obj.device),
        "hash": d.hexdigest(),
        "bytes": d.nbytes,
    }


# Python types whose elements make an object array data (their repr is their value).
_VALUE_TYPES = (
    str,
    bytes,
    bool,
    int,
    float,
    complex,
    type(None),
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    list,
    tuple,
    dict,
)
# numpy scalars and arrays, pandas' Timestamp, NaT, NA, Interval, Period...
_VALUE_MODULES = ("numpy", "pandas")


def _holds_values(arr: Any) -> bool:
    """Whether every element of the object array ``arr`` is a value (see the module doc)."""
    for kind in set(map(type, arr.flat)):
        if not (
            issubclass(kind, _VALUE_TYPES)
            or (kind.__module__ or "").partition(".")[0] in _VALUE_MODULES
        ):
            return False
    return True


def _objects_of_non_values(obj: Any, kind: str) -> bool:
    """An array or Series of Python objects that are not all values (plot axes, models...)."""
    if kind not in ("numpy.ndarray", "pandas.Series") or obj.dtype != object:
        return False
    return not _holds_values(obj if kind == "numpy.ndarray" else obj.to_numpy())


# What an element of an object array costs to hash compared with a byte of a numeric buffer
# (measured: Arrow conversion or repr of each element).
_OBJECT_WEIGHT = 64


def estimated_bytes(obj: Any) -> int:
    """A cheap estimate of how much data ``fingerprint(obj)`` would hash; 0 for other types.

    Reads sizes only (never the values), so the caller can decide, at no cost, whether to
    fingerprint now or on a worker thread.
    """
    kind = _kind(obj)
    if kind is None:
        return 0
    if kind == "torch.Tensor":
        return int(obj.nelement()) * int(obj.element_size())
    if kind == "numpy.ndarray":
        return int(obj.size) * _OBJECT_WEIGHT if obj.dtype.kind == "O" else int(obj.nbytes)
    # pandas: eight bytes a cell (numbers, dates, and pointers to the strings), one index
    return (int(obj.size) + len(obj.index)) * 8


def _kind(obj: Any) -> str | None:
    modules = sys.modules
    pd = modules.get("pandas")
    if pd is not None:
        if isinstance(obj, pd.DataFrame):
            return "pandas.DataFrame"
        if isinstance(obj, pd.Series):
            return "pandas.Series"
    np = modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return "numpy.ndarray"
    torch = modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return "torch.Tensor"
    return None


_BUILDERS = {
    "pandas.DataFrame": _dataframe,
    "pandas.Series": _series,
    "numpy.ndarray": _ndarray,
    "torch.Tensor": _tensor,
}


def fingerprint(obj: Any, name: str) -> dict[str, Any] | None:
    """Return a content fingerprint of ``obj`` (bound to ``name``), or None for other types
    (and for object arrays of non-values, such as matplotlib's ``axes``).

    For a pandas DataFrame/Series, numpy ndarray or torch Tensor: ``{name, kind, shape,
    columns (DataFrame: name -> dtype) or dtype, hash: "xxh3_128:<hex>", bytes}`` (tensors
    also give ``device``). The hash covers every value (never a sample) plus shape, dtypes,
    column names and index; ``bytes`` is how much data was hashed. If hashing fails (an
    exotic dtype) the dict has ``hash: None`` and ``error`` instead of raising.
    """
    kind = _kind(obj)
    if kind is None:
        return None
    try:
        if _objects_of_non_values(obj, kind):
            return None
        return _BUILDERS[kind](obj, name)
    except Exception as exc:
        shape = getattr(obj, "shape", None)
        return {
            "name": name,
            "kind": kind,
            "shape": list(shape) if shape is not None else None,
            "hash": None,
            "bytes": 0,
            "error": f"could not fingerprint {name} ({kind}): {exc!r}",
        }
