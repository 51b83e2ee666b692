"""Reading and writing notebook JSON byte-for-byte the way Jupyter (nbformat) does, without nbformat.

Two writers live here:

* `dump_notebook` writes a notebook as Jupyter does (1-space indent, non-ASCII kept, trailing
  newline) but keeps the key order found in the file, so that re-writing a notebook changes only
  what was actually changed.
* `read_like_nbformat` / `write_like_nbformat` reproduce what `nbformat.read(..., NO_CONVERT)`
  followed by `nbformat.write` does to an nbformat-4 notebook (lines re-joined then re-split,
  transient keys dropped, missing or duplicate cell ids repaired, keys sorted). That is what
  nbstripout does, so `--nbstripout-compat` output is byte-identical to it. Older formats (v1-v3)
  are rare enough that they go through nbformat itself, imported only then.

Nothing here imports nbformat at module import time: the git filter process must start fast.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson

Notebook = dict[str, Any]


class NotebookFormatError(ValueError):
    """The bytes are not a notebook we can rewrite without losing data; the message says why."""


def parse_notebook(data: bytes) -> Notebook:
    """Parse notebook bytes into a dict that keeps the file's key order.

    Raises NotebookFormatError (with line/column where JSON is broken) for anything that is not a
    JSON object; never returns a partial result.
    """
    try:
        nb = orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson refuses a few things the standard library (and so Jupyter) accepts: integers
        # beyond 64 bits, NaN/Infinity. Only then pay for the slower parser.
        nb = _parse_with_stdlib(data)
    if not isinstance(nb, dict):
        raise NotebookFormatError(
            f"not a notebook: the top-level JSON value is a {type(nb).__name__}, not an object"
        )
    return nb


def _parse_with_stdlib(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookFormatError(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def dump_notebook(nb: Notebook) -> bytes:
    """Serialize `nb` as Jupyter writes notebooks, keeping the dict's key order.

    Raises NotebookFormatError if the notebook holds text that cannot be written as UTF-8 (a lone
    surrogate from a `\\ud800` escape); callers then keep the original bytes.
    """
    text = json.dumps(nb, indent=1, ensure_ascii=False, separators=(",", ": "))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError as exc:
        raise NotebookFormatError(
            f"contains text that is not valid Unicode ({exc.reason}); left unchanged"
        ) from None


# --- nbformat-equivalent normalisation (for --nbstripout-compat) -----------------------------


def notebook_major_version(nb: Notebook) -> Any:
    """The nbformat major version as nbformat reads it (a missing key means version 1)."""
    return nb.get("nbformat", 1)


def read_like_nbformat(data: bytes) -> Notebook:
    """Parse `data` into the in-memory form `nbformat.read(fp, NO_CONVERT)` would give.

    For nbformat 4 this is done natively; other versions are handed to nbformat. Raises
    NotebookFormatError where nbformat would refuse the notebook.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookFormatError(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(nb, dict):
        raise NotebookFormatError("not a notebook: the top-level JSON value is not an object")
    if notebook_major_version(nb) != 4:
        return _legacy_read(text)
    try:
        _rejoin_lines(nb)
        _strip_transient(nb)
        _repair_cell_ids(nb)
    except (AttributeError, KeyError, TypeError) as exc:
        raise NotebookFormatError(f"invalid notebook: missing or malformed {exc}") from None
    return nb


def write_like_nbformat(nb: Notebook) -> bytes:
    """Serialize `nb` exactly as `nbformat.write(nb, fp)` would."""
    if notebook_major_version(nb) != 4:
        return _legacy_write(nb)
    # nbformat re-splits lines on a copy; we own `nb` here, so split in place.
    try:
        _split_lines(nb)
        _strip_transient(nb)
    except (AttributeError, KeyError, TypeError) as exc:
        raise NotebookFormatError(f"invalid notebook: missing or malformed {exc}") from None
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False, separators=(",", ": "))
    if not text.endswith("\n"):
        text += "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotebookFormatError(
            f"contains text that is not valid Unicode ({exc.reason})"
        ) from None


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


# Mime types nbformat writes as lists of lines besides text/*.
_SPLIT_MIMES = {"application/javascript", "image/svg+xml"}


def _rejoin_mimebundle(bundle: dict[str, Any]) -> None:
    for key, value in list(bundle.items()):
        if (
            not _is_json_mime(key)
            and isinstance(value, list)
            and all(isinstance(line, str) for line in value)
        ):
            bundle[key] = "".join(value)


def _split_mimebundle(bundle: dict[str, Any]) -> None:
    for key, value in list(bundle.items()):
        if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
            bundle[key] = value.splitlines(True)


def _rejoin_lines(nb: Notebook) -> None:
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for attachment in cell.get("attachments", {}).values():
            _rejoin_mimebundle(attachment)
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                kind = output.get("output_type", "")
                if kind in ("execute_result", "display_data"):
                    _rejoin_mimebundle(output.get("data", {}))
                elif kind and isinstance(output.get("text", ""), list):
                    output["text"] = "".join(output["text"])


def _split_lines(nb: Notebook) -> None:
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
        for attachment in cell.get("attachments", {}).values():
            _split_mimebundle(attachment)
        if cell["cell_type"] == "code":
            for output in cell["outputs"]:
                kind = output["output_type"]
                if kind in ("execute_result", "display_data"):
                    _split_mimebundle(output.get("data", {}))
                elif kind == "stream" and isinstance(output["text"], str):
                    output["text"] = output["text"].splitlines(True)


def _strip_transient(nb: Notebook) -> None:
    metadata = nb["metadata"]
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        metadata.pop(key, None)
    for cell in nb["cells"]:
        cell["metadata"].pop("trusted", None)


def _repair_cell_ids(nb: Notebook) -> None:
    # nbformat's validate() gives 4.5+ cells without an id, or with a repeated one, a fresh
    # random id (8 hex digits); nbstripout then renumbers them unless --keep-id.
    if (nb.get("nbformat", 1), nb.get("nbformat_minor", 0)) < (4, 5):
        return
    seen: set[Any] = set()
    for cell in nb["cells"]:
        if "id" not in cell or cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])


def _legacy_read(text: str) -> Notebook:
    import warnings

    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb: dict[str, Any] = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # nbformat raises many types for old/odd files
        raise NotebookFormatError(f"invalid notebook: {exc}") from None
    return nb


def _legacy_write(nb: Notebook) -> bytes:
    import warnings

    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text: str = nbformat.writes(nb)
    except Exception as exc:
        raise NotebookFormatError(f"invalid notebook: {exc}") from None
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")
