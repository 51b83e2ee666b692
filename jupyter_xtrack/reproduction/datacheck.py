"""The data a run read, checked before a reproduction runs: every recorded input hashed again
and compared with the run's hash, and the files the lineage names that the store never saw
(untracked dependencies), found by reading the lineage's code."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..capture.data import HashCache
from ..records.run import Run

# Lines IPython rewrites (magics, shell escapes): blanked before parsing as Python.
_IPYTHON_LINE = re.compile(r"^\s*[%!]")
_QUOTED = re.compile(r"""(["'])([^"'\n]{1,300})\1""")


@dataclass(frozen=True)
class InputCheck:
    """One recorded input: its hash in the run and now. `state` is "same", "changed",
    "missing" or "unrecorded" (the run could not hash it: nothing to compare)."""

    path: str  # as recorded: relative to the run's folder when inside it
    abs_path: str
    recorded: str | None
    now: str | None
    state: str

    @property
    def drifted(self) -> bool:
        return self.state in ("changed", "missing")


def check_inputs(runs: Iterable[Run]) -> list[InputCheck]:
    """Hash every input the runs recorded (each file once, the first record of it wins)."""
    cache = HashCache()
    checks: list[InputCheck] = []
    seen: set[str] = set()
    for run in runs:
        for rec in run.inputs:
            abs_path = str(rec.get("abs_path") or rec.get("path") or "")
            if not abs_path or abs_path in seen:
                continue
            seen.add(abs_path)
            checks.append(
                _check(cache, str(rec.get("path") or abs_path), abs_path, rec.get("hash"))
            )
    return checks


def _check(cache: HashCache, path: str, abs_path: str, recorded: str | None) -> InputCheck:
    now = cache.lookup_or_hash(abs_path)
    if not recorded:
        state = "unrecorded"
    elif now["status"] == "missing" or now["hash"] is None:
        state = "missing"
    else:
        state = "same" if now["hash"] == recorded else "changed"
    return InputCheck(path, abs_path, recorded, now.get("hash"), state)


def drift_table(checks: Sequence[InputCheck]) -> str:
    """The inputs that differ from the run's, one line each: state, path, hashes."""
    rows = [c for c in checks if c.drifted]
    width = max((len(c.path) for c in rows), default=4)
    lines = [f"{'state':8}  {'path':{width}}  {'run':20}  now"]
    for c in rows:
        lines.append(f"{c.state:8}  {c.path:{width}}  {_short(c.recorded):20}  {_short(c.now)}")
    return "\n".join(lines)


def _short(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexdigest = digest.partition(":")
    return f"{algo}:{hexdigest[:10]}" if hexdigest else digest[:20]


def untracked_dependencies(
    sources: Iterable[str], base_dir: str | None, recorded: Iterable[str]
) -> list[str]:
    """Files under `base_dir` the code names (a string literal that is an existing file's
    path, or a local module it imports) that are not among the `recorded` absolute paths:
    read by an untracked cell, or by a tracked one through a path the tracker missed. Sorted
    paths relative to `base_dir`. A heuristic by design: it reads the code, not the run."""
    if not base_dir or not os.path.isdir(base_dir):
        return []
    base = Path(base_dir).resolve()
    known = {os.path.realpath(p) for p in recorded}
    found: set[str] = set()
    for source in sources:
        for name in _named_paths(source):
            path = _inside(base, name)
            if path is not None and str(path) not in known:
                found.add(path.relative_to(base).as_posix())
    return sorted(found)


def _inside(base: Path, name: str) -> Path | None:
    """`name` as a regular file under `base` (resolved), else None."""
    if "\0" in name:
        return None
    try:
        path = (base / name).resolve()
        path.relative_to(base)
    except (ValueError, OSError):
        return None
    return path if path.is_file() else None


def _named_paths(source: str) -> set[str]:
    """String literals and local-module file names (`import helpers` -> helpers.py) in a
    cell; with a regex over quoted text when the cell is no valid Python."""
    text = "\n".join("" if _IPYTHON_LINE.match(ln) else ln for ln in source.splitlines())
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {m.group(2) for m in _QUOTED.finditer(text)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 300:
            names.add(node.value)
        elif isinstance(node, ast.Import):
            names.update(_module_file(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(_module_file(node.module))
    return names


def _module_file(module: str) -> str:
    return module.split(".")[0] + ".py"
