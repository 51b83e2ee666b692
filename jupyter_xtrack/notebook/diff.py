"""Notebook-aware diffs through nbdime, with a size guard and a time limit.

`diff_notebook_bytes` compares two notebooks given as bytes and renders nbdime's readable diff
(text, optionally coloured), nbdime's JSON diff format, or a standalone HTML page. nbdime is
imported only here, inside the work, and the work runs in a daemon thread so that a pathological
notebook makes the command give up with a message instead of hanging (the command then exits,
ending the thread). The server cannot abandon a thread that way: it calls `notebook_diff` in
worker processes it can end (`server/heavy.py`).

Run as `python -m jupyter_xtrack.notebook.diff PATH OLD OLD_HEX OLD_MODE NEW NEW_HEX NEW_MODE`,
this module is the git diff driver that `xtrack hooks install` configures: both sides are
stripped first, so `git diff` shows what would be committed, not output noise.
"""

from __future__ import annotations

import html
import io
import json
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .gitfilter import strip_for_path
from .options import add_strip_arguments, options_from_args, read_git_strip_config

DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_TIMEOUT_S = 60.0
_EMPTY_NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@dataclass
class DiffOutcome:
    """The rendered diff (`text`), or `error` saying why there is none. `changed` is False
    when the notebooks are equivalent."""

    text: str = ""
    changed: bool = False
    error: str | None = None


def diff_notebook_bytes(
    a: bytes,
    b: bytes,
    *,
    names: tuple[str, str] = ("a", "b"),
    fmt: str = "text",
    color: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DiffOutcome:
    """Diff two notebooks with nbdime and render the result as `fmt` ("text", "json", "html").

    Never raises for bad input: a notebook over `max_bytes`, unreadable JSON, or a diff that
    takes longer than `timeout_s` give an outcome with `error` set naming the fix.
    """
    for name, data in zip(names, (a, b), strict=True):
        if len(data) > max_bytes:
            return DiffOutcome(
                error=f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB "
                "limit for diffs; strip its outputs first (xtrack strip) or raise --max-bytes"
            )
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["outcome"] = _diff(a, b, names, fmt, color)
        except Exception as exc:
            box["outcome"] = DiffOutcome(error=f"cannot diff {names[0]} and {names[1]}: {exc}")

    worker = threading.Thread(target=work, name="xtrack-nbdiff", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return DiffOutcome(
            error=f"diffing {names[0]} and {names[1]} took longer than {timeout_s:g} s and was "
            "abandoned; strip outputs first or raise --timeout"
        )
    outcome: DiffOutcome = box["outcome"]
    return outcome


def _read(data: bytes, name: str) -> Any:
    try:
        return read_v4(data)
    except Exception as exc:
        raise ValueError(f"{name} is not a readable notebook ({exc})") from None


def read_v4(data: bytes) -> Any:
    """`data` read as an nbformat 4 notebook. An older notebook is upgraded to 4.4 without
    the random cell ids nbformat's upgrade invents, so that a notebook read twice compares
    equal to itself."""
    import warnings

    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
        if nb.get("nbformat", 4) >= 4:
            return nbformat.convert(nb, 4)
        nb = nbformat.convert(nb, 4)
    for cell in nb.get("cells", []):
        cell.pop("id", None)
    nb["nbformat_minor"] = 4
    return nb


def notebook_diff(a: bytes, b: bytes, names: tuple[str, str] = ("a", "b")) -> tuple[Any, Any]:
    """(a read as nbformat 4, nbdime's diff of a to b): the two things a diff view needs.
    ValueError naming the side when one is not a readable notebook. No guard here: callers
    bound the time (a thread here, a worker process in the server)."""
    import nbdime

    nb_a = _read(a, names[0])
    return nb_a, nbdime.diff_notebooks(nb_a, _read(b, names[1]))


def _diff(a: bytes, b: bytes, names: tuple[str, str], fmt: str, color: bool) -> DiffOutcome:
    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_notebook_diff

    nb_a, di = notebook_diff(a, b, names)
    if fmt == "json":
        return DiffOutcome(json.dumps(di, indent=2, separators=(",", ": ")) + "\n", bool(di))
    out = io.StringIO()
    config = PrettyPrintConfig(
        out=out, use_git=False, use_diff=False, use_color=color and fmt == "text"
    )
    pretty_print_notebook_diff(names[0], names[1], nb_a, di, config)
    text = out.getvalue()
    if fmt == "html":
        return DiffOutcome(render_html(text, names), bool(di))
    return DiffOutcome(text, bool(di))


def render_html(diff_text: str, names: tuple[str, str]) -> str:
    """A standalone page (no scripts, no external files) showing nbdime's readable diff."""
    rows = []
    for line in diff_text.splitlines():
        stripped = line.lstrip()
        cls = (
            "add"
            if stripped.startswith("+")
            else "del"
            if stripped.startswith("-")
            else "hdr"
            if stripped.startswith("##")
            else ""
        )
        rows.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    title = html.escape(f"{names[0]} vs {names[1]}")
    body = "\n".join(rows) if rows else "The notebooks are equivalent."
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>notebook diff: {title}</title><style>"
        "body{font-family:sans-serif;margin:2em}"
        "pre{font-family:monospace;background:#fafafa;padding:1em;border:1px solid #ddd}"
        ".add{color:#116329;background:#dafbe1;display:block}"
        ".del{color:#82071e;background:#ffebe9;display:block}"
        ".hdr{color:#0550ae;font-weight:bold;display:block}"
        f"</style></head><body><h1>{title}</h1><pre>{body}</pre></body></html>\n"
    )


def git_driver_main(argv: Sequence[str] | None = None) -> int:
    """git's external diff driver: strip both sides, then print nbdime's diff."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 7:
        # git passes only the path for an unmerged file; there is nothing to compare.
        sys.stdout.write(f"* Unmerged path {args[0] if args else '?'}\n")
        return 0
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    add_strip_arguments(parser)
    flags = parser.parse_args(args[7:])
    options = options_from_args(flags, read_git_strip_config())
    path, old_file, new_file = args[0], args[1], args[4]
    sides = []
    for file in (old_file, new_file):
        data = _EMPTY_NOTEBOOK if file == os.devnull else open(file, "rb").read()
        sides.append(strip_for_path(path, data, options).data)
    outcome = diff_notebook_bytes(
        sides[0],
        sides[1],
        names=(f"a/{path}", f"b/{path}"),
        color=sys.stdout.isatty(),
    )
    if outcome.error:
        sys.stdout.write(f"xtrack diff: {outcome.error}\n")
        return 0
    sys.stdout.write(outcome.text)
    return 0


if __name__ == "__main__":
    sys.exit(git_driver_main())
