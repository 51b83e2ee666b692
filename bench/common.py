"""Small shared pieces of the benchmark scripts: timing statistics and a scratch folder."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"


def scratch(name: str) -> Path:
    """An empty folder under bench/.work/ (ignored by git)."""
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def median(values: list[float]) -> float:
    return statistics.median(values)


def with_package(package: str | None) -> None:
    """The kernels started from now on import jupyter_xtrack from `package` (None: as this
    process's environment says)."""
    base = os.environ.get("BENCH_PYTHONPATH_BASE", os.environ.get("PYTHONPATH", ""))
    os.environ["BENCH_PYTHONPATH_BASE"] = base
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package, base) if p)


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> Path:
    """A git repository with `files` small committed files in 100 folders."""
    git(root, "init", "-q", "-b", "main")
    for i in range(files):
        folder = root / f"pkg{i % 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"VALUE = {i}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "files")
    return root
