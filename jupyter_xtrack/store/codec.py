"""Encodings of stored values: JSON that keeps NaN and infinities, and packed arrays for
metric histories."""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import orjson

_ORJSON_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
# orjson reads an integer beyond 64 bits as a float (2**70 + 1 comes back as
# 1.1805916207174113e+21). Written out, such an integer is a run of 19 digits or more that no
# decimal point precedes (a float's digits after its point can run as long: 0.000316...);
# a document holding one is read by the standard library, which keeps integers exact. The
# run is looked for at C speed: each digit translated to "0", the point kept, any other
# byte made "x" (about 2.5 ms a megabyte, against orjson's 15-25 ms to parse it).
_CLASSES = bytes(
    ord("0") if b in b"0123456789" else b if b == ord(".") else ord("x") for b in range(256)
)
_LONG_INTEGER = b"x" + b"0" * 19
NO_STEP = -(2**63)  # int64 marker for "logged without a step"
_SWAP = sys.byteorder == "big"  # histories are stored little-endian


def _default(obj: Any) -> Any:
    """Last resort for values JSON has no form for: numpy scalars become Python numbers,
    sets become sorted lists, anything else its str()."""
    item = getattr(obj, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", errors="replace")
    return str(obj)


def _has_nonfinite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        try:
            # a list of numbers (a curve's 10,000 points) is summed in C: a NaN or an
            # infinity anywhere leaves the sum non-finite, and so does an overflow of finite
            # values, which only sends the document down the exact, slower path
            return not math.isfinite(sum(obj, 0.0))
        except (TypeError, ValueError, OverflowError):  # not all numbers: look at each
            return any(_has_nonfinite(v) for v in obj)
    return False


def dumps(obj: Any) -> bytes:
    """JSON bytes for `obj`. NaN and +-inf are written as NaN/Infinity/-Infinity (which
    orjson would silently turn into null) and integers of any size are kept, so that
    `loads` gives them back exactly."""
    try:
        out = orjson.dumps(obj, default=_default, option=_ORJSON_OPTS)
    except TypeError:
        pass  # integers beyond 64 bits, odd keys: the standard library copes
    else:
        # orjson writes a non-finite float as null: without a null in the output there was
        # none, and the document (an evaluation's curves: 10,000 floats) is not walked in
        # Python (3 ms, on the writer's thread beside the next cell)
        if b"null" not in out or not _has_nonfinite(obj):
            return out
    return json.dumps(obj, default=_default, separators=(",", ":")).encode()


def may_hold_big_ints(data: bytes) -> bool:
    """True when JSON `data` may hold an integer beyond 64 bits, which orjson would read as
    a float (a false alarm only costs the slower, exact parser)."""
    classes = data.translate(_CLASSES)
    return _LONG_INTEGER in classes or classes.startswith(_LONG_INTEGER[1:])


def loads(data: bytes | str | None) -> Any:
    """The value `dumps` wrote (None for None), integers of any size exactly."""
    if data is None:
        return None
    if may_hold_big_ints(data.encode() if isinstance(data, str) else data):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # Only documents holding NaN/Infinity take this slower path.
        return json.loads(data)


def float_array(values: Sequence[Any]) -> array[float]:
    """`values` as a float64 array (accepts ints, bools, numpy scalars, anything with
    __float__); TypeError names the first value that is not a number."""
    try:
        return array("d", values)
    except TypeError:
        for v in values:
            try:
                float(v)
            except (TypeError, ValueError):
                raise TypeError(f"metric value {v!r:.60} is not a number") from None
        return array("d", [float(v) for v in values])


def step_array(steps: Sequence[Any]) -> array[int]:
    """`steps` as an int64 array, NO_STEP standing for None."""
    try:
        return array("q", steps)
    except TypeError:
        return array("q", [NO_STEP if s is None else int(s) for s in steps])


def to_le_bytes(arr: array[Any]) -> bytes:
    """The array's items as little-endian bytes."""
    if _SWAP:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def unpack_floats(data: bytes) -> array[float]:
    """The float64 items of little-endian `data` (NaN payloads and infinities exact)."""
    arr = array("d")
    arr.frombytes(data)
    if _SWAP:
        arr.byteswap()
    return arr


def unpack_steps(data: bytes) -> array[int]:
    """The int64 steps in little-endian `data` (NO_STEP where the step was None)."""
    arr = array("q")
    arr.frombytes(data)
    if _SWAP:
        arr.byteswap()
    return arr
