"""MLflow's limits and name rules, checked before anything is written, with MLflow's
messages' substance (INVALID_PARAMETER_VALUE)."""

from __future__ import annotations

import math
import posixpath
import re
from typing import Any

from .errors import invalid

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_BATCH_BYTES = 1_000_000
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
_KEY = re.compile(r"^[/\w.\- :]*$")


def check_key(key: Any, what: str) -> str:
    """A metric, param or tag name as MLflow allows it: text of at most 250 characters,
    letters, digits, `_ - . / : ` and spaces, that does not resolve to another name as a
    path (no `..`, no leading `/`)."""
    if not isinstance(key, str) or key == "":
        raise invalid(f"Missing value for required parameter 'key' ({what} name)")
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(f"{what} name '{key[:40]}...' is longer than {MAX_KEY_LENGTH} characters")
    if not _KEY.match(key):
        raise invalid(
            f"Invalid {what} name: '{key}'. Names may only contain alphanumerics, "
            "underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and "
            "slashes (/)."
        )
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise invalid(
            f"Invalid {what} name: '{key}'. Names may be treated as files in "
            f"certain cases, and must not resolve to other names ({norm!r})"
        )
    return key


def check_value(value: Any, what: str, limit: int) -> str:
    """A param or tag value: text (numbers are taken as their text), at most `limit`."""
    if value is None:
        raise invalid(f"Missing value for required parameter 'value' ({what})")
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise invalid(
            f"{what} value '{text[:40]}...' had length {len(text)}, which exceeded "
            f"length limit of {limit}"
        )
    return text


def metric_number(value: Any, key: str) -> float:
    """A metric value as a float; protobuf JSON spells non-finite ones as strings."""
    if isinstance(value, bool) or value is None:
        raise invalid(f"Got invalid value {value!r} for metric '{key}' (expected a number)")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(
            f"Got invalid value {value!r} for metric '{key}' (expected a number)"
        ) from None
    if (
        isinstance(value, str)
        and value not in ("NaN", "Infinity", "-Infinity")
        and not math.isfinite(number)
    ):
        raise invalid(f"Got invalid value {value!r} for metric '{key}'")
    return number


def whole(value: Any, name: str, default: int | None = None) -> int | None:
    """An int64 field (a number or a numeric string in protobuf JSON); INVALID_PARAMETER_VALUE
    for anything else."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{name}' (expected an integer)")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(
            f"Invalid value {value!r} for parameter '{name}' (expected an integer)"
        ) from None
    if not -(2**63) <= number < 2**63:
        raise invalid(f"Invalid value {value!r} for parameter '{name}' (outside int64)")
    return number


def check_batch(metrics: list[Any], params: list[Any], tags: list[Any], size: int) -> None:
    """log-batch's limits: 1,000 metrics, 100 params, 100 tags, 1 MB of request."""
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} "
            f"metrics. Got {len(metrics)} metrics."
        )
    for name, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise invalid(
                f"A batch logging request can contain at most "
                f"{MAX_PARAMS_TAGS_PER_BATCH} {name}. Got {len(items)} {name}."
            )
    if size > MAX_BATCH_BYTES:
        raise invalid(
            f"Batched logging API requests must be at most {MAX_BATCH_BYTES} bytes, "
            f"got a request of {size} bytes."
        )
