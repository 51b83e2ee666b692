"""The program a run ran, rebuilt from the store alone: the executed lineage as cells (or the
run's code when it has no lineage), the earlier runs of the same session that the lineage's
tracked cells made, and a temporary folder laid out as the run's folder was: the run's git
commit with its uncommitted diff applied when the repository is still there, else the
recorded inputs alone (hash-checked first by datacheck.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..facts import GIT_STRIPPED_NOTEBOOKS, Fact, GitNotebookFact
from ..notebook.gitdiff import strip_for_git_diff
from ..records.run import Run

GIT_TIMEOUT_S = 60


@dataclass
class Cells:
    """What will run: cell sources in execution order, and where they came from."""

    sources: list[str]
    from_lineage: bool
    # the run the original session made for each cell that made one (index into `sources`);
    # the last cell's is the run being reproduced
    originals: dict[int, Run]


@dataclass
class Layout:
    """The temporary folder the reproduction runs in."""

    workdir: Path  # the kernel's working directory: the run's folder, rebuilt
    source: str  # how the folder was rebuilt, in words
    copied: list[str] = field(default_factory=list)  # files copied in, relative to workdir
    # the untracked dependencies the program did not bring (copied in as they are now)
    dependencies: list[str] = field(default_factory=list)


def cells_of(run: Run) -> Cells:
    """The lineage's cells, or the run's own code (said so) when it has no lineage."""
    lineage = run.lineage
    if lineage and lineage.get("cells"):
        sources = [
            "".join(c.get("source") or "") for c in lineage["cells"] if c.get("cell_type") == "code"
        ]
        return Cells(sources, True, session_runs(run, sources))
    code = run.code
    if not code:
        raise ValueError(f"run #{run.number} has neither a lineage nor code: nothing to run")
    return Cells([code], False, {0: run})


def session_runs(run: Run, sources: Sequence[str]) -> dict[int, Run]:
    """The runs the original kernel made for the lineage's cells: top-level runs of the same
    process (pid and host) up to `run`, matched to the cells by their code, in order. The
    last cell's is always `run` itself."""
    store = run.store
    pid, host = run.record.get("pid"), run.record.get("host")
    earlier: list[Run] = []
    if pid is not None and host and "'" not in str(host):
        table = store.query_runs(
            f"number < {run.number} and kind = 'cell' and parent_id = null and host = '{host}'",
            order_by="number desc",
            limit=max(50, 2 * len(sources)),
        )
        for row in reversed(table.rows()):
            rec = store.get_run(row["id"])
            if rec.get("pid") == pid:
                earlier.append(Run(rec, store))
    matched = match_cells(sources[:-1], earlier)
    matched[len(sources) - 1] = run
    return matched


def match_cells(sources: Sequence[str], runs: Sequence[Run]) -> dict[int, Run]:
    """Pair runs (in the order they were made) with the cells whose code they hold."""
    matched: dict[int, Run] = {}
    pending = list(runs)
    for index, source in enumerate(sources):
        for i, candidate in enumerate(pending):
            if candidate.code == source:
                matched[index] = candidate
                del pending[: i + 1]
                break
    return matched


def base_dir(run: Run) -> str:
    """The folder the run ran in: told by an input recorded both relative and absolute, else
    the notebook's folder, else the repository's root, else the folder that holds the store
    (where `.xtrack/` goes by default: the working directory outside a repository)."""
    for rec in [*run.inputs, *run.outputs]:
        rel, absolute = rec.get("path"), rec.get("abs_path")
        if rel and absolute and not os.path.isabs(rel) and absolute.endswith(rel):
            return os.path.normpath(absolute[: -len(rel)] or "/")
    if run.notebook_path:
        return os.path.dirname(run.notebook_path)
    git = run.fact(Fact.GIT) or {}
    root = git.get("root")
    return str(root) if root else str(run.store.root.parent)


def lay_out(
    run: Run, tmp: Path, inputs: Sequence[tuple[str, str]], dependencies: Sequence[str]
) -> Layout:
    """Build the run's folder under `tmp`: a clean export of its git commit with its diff
    applied when that works, else an empty folder; then copy in `inputs` ((recorded path,
    absolute path) pairs, already hash-checked) and the untracked `dependencies` (paths
    relative to the run's folder). Nothing outside `tmp` is written, the repository's
    `.git` included (`git archive`, not a worktree)."""
    base = base_dir(run)
    layout = _from_git(run, tmp, base)
    if layout is None:
        workdir = tmp / "work"
        workdir.mkdir()
        git = run.fact(Fact.GIT) or {}
        why = (
            "its repository " + str(git.get("root")) + " or commit is not available"
            if git.get("repo")
            else "it ran outside a git repository"
        )
        layout = Layout(
            workdir,
            f"the lineage alone ({why}); inputs copied from their "
            "recorded paths after the data check",
        )
    for rel, absolute in inputs:
        if not os.path.isabs(rel):
            _copy(Path(absolute), layout, rel)
    for rel in dependencies:
        if not (layout.workdir / rel).exists():  # else it came with the commit
            layout.dependencies.append(rel)
            _copy(Path(base) / rel, layout, rel)
    return layout


def _copy(src: Path, layout: Layout, rel: str) -> None:
    dest = (layout.workdir / rel).resolve()
    if not dest.is_relative_to(layout.workdir.resolve()) or not src.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    layout.copied.append(rel)


def _from_git(run: Run, tmp: Path, base: str | None) -> Layout | None:
    """The run's commit exported to tmp/src with its diff applied, or None when the
    repository or the commit is gone, or the diff no longer applies."""
    git = run.git or {}
    root, commit = git.get("root"), git.get("commit")
    if not (git.get("repo") and root and commit and os.path.isdir(root)):
        return None
    src = tmp / "src"
    try:
        archive = _git(["archive", "--format=tar", commit], cwd=root).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(src, filter="data")
        _strip_like_the_diff(src, git.get(GIT_STRIPPED_NOTEBOOKS) or [])
        diff = git.get("diff") or ""
        if diff:
            # outside any repository: GIT_CEILING_DIRECTORIES stops git looking above tmp
            _git(
                ["apply", "--whitespace=nowarn", "-"],
                cwd=str(src),
                stdin=diff.encode(),
                env={"GIT_CEILING_DIRECTORIES": str(tmp)},
            )
    except (OSError, subprocess.SubprocessError, tarfile.TarError):
        shutil.rmtree(src, ignore_errors=True)
        return None
    workdir = src
    if base:
        try:
            workdir = src / Path(base).resolve().relative_to(Path(root).resolve())
        except ValueError:
            pass
    workdir.mkdir(parents=True, exist_ok=True)
    applied = f" with its uncommitted diff ({len(diff)} bytes) applied" if diff else ""
    return Layout(
        workdir, f"git commit {commit[:12]} of {root}{applied}, exported to a temporary folder"
    )


def _strip_like_the_diff(src: Path, notebooks: Sequence[GitNotebookFact]) -> None:
    """Strip the commit's copies of the notebooks whose diff was taken output-stripped
    (`notebook/gitdiff.py`), so that the diff applies to them."""
    for entry in notebooks:
        target = (src / entry["path"]).resolve()
        if entry.get("base_hash") and target.is_relative_to(src.resolve()) and target.is_file():
            target.write_bytes(strip_for_git_diff(target.read_bytes()))


def _git(
    args: list[str], *, cwd: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=True,
        timeout=GIT_TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )


def lineage_notebook(sources: Sequence[str], setup: str) -> dict[str, Any]:
    """An nbformat v4 notebook: the setup cell, then one code cell per source."""
    import nbformat  # lazy: only reproductions build notebooks

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (setup, *sources)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return dict(nb)
