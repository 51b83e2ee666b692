"""The code behind a run: where the notebook lives, its saved bytes, and a lineage notebook
rebuilt from the kernel's execution history (what actually ran, in the order it ran).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import xxhash

from jupyter_xtrack.capture.redact import redact_notebook_json

__all__ = [
    "LineageEncoder",
    "find_notebook_path",
    "lineage_notebook",
    "notebook_bytes",
    "read_notebook_snapshot",
]


def _existing_notebook(candidate: Any, cwd: str) -> tuple[str | None, str | None]:
    """(existing absolute path, plausible absolute path) for a notebook path hint."""
    if not isinstance(candidate, str) or not candidate.endswith(".ipynb"):
        return None, None
    if os.path.isabs(candidate):
        return (candidate if os.path.isfile(candidate) else None), candidate
    # Jupyter server gives the path relative to its root, which is the kernel's cwd or one of
    # its ancestors (the kernel starts in the notebook's folder).
    guesses = [os.path.join(cwd, candidate)]
    parent = cwd
    while (up := os.path.dirname(parent)) != parent:
        guesses.append(os.path.join(up, candidate))
        parent = up
    guesses.append(os.path.join(cwd, os.path.basename(candidate)))
    for guess in guesses:
        if os.path.isfile(guess):
            return os.path.normpath(guess), guesses[0]
    return None, os.path.normpath(guesses[0])


def find_notebook_path(environ: Mapping[str, str], user_ns: Mapping[str, Any]) -> str | None:
    """Return the absolute path of the notebook the kernel runs, or None when unknown.

    Looks, in order, at ``__vsc_ipynb_file__`` (VS Code), ``JPY_SESSION_NAME`` (Jupyter
    server >= 2; relative to the server root, which is resolved against the cwd and its
    ancestors) and ``__session__`` (ipykernel). Only paths ending in ``.ipynb`` count. An
    existing file is preferred; failing that, the first plausible path is returned.
    """
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = "/"
    hints = (
        user_ns.get("__vsc_ipynb_file__"),
        environ.get("JPY_SESSION_NAME"),
        user_ns.get("__session__"),
    )
    fallback = None
    for hint in hints:
        found, plausible = _existing_notebook(hint, cwd)
        if found:
            return found
        fallback = fallback or plausible
    return fallback


def _cell_id(index: int, execution_count: int | None, source: str) -> str:
    # deterministic (same history, same ids) and unique within the notebook thanks to index
    key = f"{execution_count}\0{source}".encode("utf-8", "surrogatepass")
    digest = xxhash.xxh3_64_hexdigest(key)[:8]
    return f"x{index:04d}-{digest}"


def _lineage_cell(index: int, count: Any, source: Any) -> dict[str, Any]:
    """The code cell a lineage notebook holds for the history entry at `index`."""
    text = source if isinstance(source, str) else str(source)
    return {
        "cell_type": "code",
        "execution_count": count if isinstance(count, int) and count >= 0 else None,
        "id": _cell_id(index, count, text),
        "metadata": {},
        "outputs": [],
        "source": text.splitlines(keepends=True),
    }


def lineage_notebook(
    history: Sequence[tuple[int, str]],
    *,
    kernel_name: str | None = None,
    language_version: str | None = None,
) -> dict[str, Any]:
    """Build an nbformat 4.5 notebook (a plain dict) with one code cell per history entry.

    ``history`` is ``(execution_count, source)`` pairs in execution order; each becomes a code
    cell with that ``execution_count``, no outputs and a deterministic id. ``kernel_name``
    fills ``metadata.kernelspec``; ``language_version`` fills ``metadata.language_info``.
    """
    cells = [_lineage_cell(index, count, source) for index, (count, source) in enumerate(history)]
    metadata: dict[str, Any] = {"language_info": {"name": "python"}}
    if language_version:
        metadata["language_info"]["version"] = language_version
    if kernel_name:
        metadata["kernelspec"] = {
            "name": kernel_name,
            "display_name": kernel_name,
            "language": "python",
        }
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


class LineageEncoder:
    """``notebook_bytes(lineage_notebook(history, ...))``, byte for byte, a cell at a time.

    A run's lineage repeats every cell the kernel ran before it, so encoding it whole made
    each tracked cell cost more than the last (3-4 ms of JSON at 60 cells, on the capture
    pool beside the user's code). The encoder keeps each history entry's encoded cell (its
    position, count and source are its key: the entry never changes) and joins them; a
    repeat costs a join and a UTF-8 copy. At most `limit` cells are kept (then it starts
    over), so a kernel with a huge history holds about one copy of it.
    """

    # Stands for the cells in the encoded rest of the notebook; "cells" sorts first, so the
    # first line holding just it is the cells' place (metadata values are on key lines).
    _PLACE = "xtrack-lineage-cells"

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._cells: dict[tuple[int, Any, Any], bytes] = {}
        self._frames: dict[tuple[str | None, str | None], tuple[bytes, bytes]] = {}

    def encode(
        self,
        history: Sequence[tuple[int, str]],
        *,
        kernel_name: str | None = None,
        language_version: str | None = None,
    ) -> bytes:
        """The bytes of the lineage notebook of `history` (see `lineage_notebook`)."""
        if not history:
            return notebook_bytes(
                lineage_notebook(
                    history, kernel_name=kernel_name, language_version=language_version
                )
            )
        if len(self._cells) > self._limit:
            self._cells = {}
        head, tail = self._frame(kernel_name, language_version)
        cells = self._cells
        parts = []
        for index, (count, source) in enumerate(history):
            key = (index, count, source)
            part = cells.get(key)
            if part is None:
                part = cells[key] = _indented(_lineage_cell(index, count, source), "  ")
            parts.append(part)
        return head + b",\n".join(parts) + tail

    def _frame(self, kernel_name: str | None, language_version: str | None) -> tuple[bytes, bytes]:
        """The encoded notebook before and after its cells, for these metadata."""
        key = (kernel_name, language_version)
        frame = self._frames.get(key)
        if frame is None:
            nb = lineage_notebook([], kernel_name=kernel_name, language_version=language_version)
            nb["cells"] = [self._PLACE]
            head, _, tail = notebook_bytes(nb).partition(f'\n  "{self._PLACE}"\n'.encode())
            frame = self._frames[key] = (head + b"\n", b"\n" + tail)
        return frame


def _indented(value: Any, prefix: str) -> bytes:
    """`value` as `notebook_bytes` writes it nested at `prefix`'s depth (no escaped newline
    can split a line: JSON strings hold none raw)."""
    text = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)
    return (prefix + text.replace("\n", "\n" + prefix)).encode("utf-8")


def notebook_bytes(nb: dict[str, Any]) -> bytes:
    """Serialize a notebook the way Jupyter writes it: 1-space indent, sorted keys, UTF-8
    text (not escaped), trailing newline."""
    return (json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def read_notebook_snapshot(path: str, max_bytes: int = 50_000_000) -> dict[str, Any]:
    """Read the saved notebook at ``path``.

    Returns ``{path, bytes, size}``: ``bytes`` is the notebook with secrets hidden in code and
    outputs (``redact.redact_notebook_json``; the very bytes read when there is none), ``size``
    the size of the file read. ``bytes`` is None with ``error`` set when the file is
    missing, not a file, unreadable or larger than ``max_bytes`` (notebooks with embedded
    outputs can be huge). Never raises.
    """
    result: dict[str, Any] = {"path": path, "bytes": None, "size": None}
    try:
        result["path"] = os.path.abspath(path)
        st = os.stat(path)
        result["size"] = st.st_size
        if not os.path.isfile(path):
            result["error"] = f"not a file: {path}"
        elif st.st_size > max_bytes:
            result["error"] = (
                f"notebook {path} is {st.st_size} bytes, over the {max_bytes}-byte snapshot "
                "limit; clear large outputs or raise the limit"
            )
        else:
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
            if len(data) > max_bytes:  # grew while we read it
                result["error"] = f"notebook {path} grew past {max_bytes} bytes while read"
            else:
                result["size"] = len(data)
                result["bytes"] = redact_notebook_json(data)
    except FileNotFoundError:
        result["error"] = f"no such notebook: {path} (not saved yet?)"
    except (OSError, TypeError, ValueError) as exc:
        result["error"] = f"cannot read notebook {path}: {exc}"
    return result
