"""The git state and the environment are reused between cells only while they are unchanged:
in a real kernel, in a real repository (its work tree watched, so most cells run no git), a
tracked cell after a commit, after an edit made outside the kernel, after a new folder, and
after a `pip install` records the new state."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from jupyter_xtrack.store import open_store
from tests.capture.test_git import GIT_ENV, git

pytestmark = pytest.mark.slow

OLD = time.time() - 3600


def _edit(path: Path, text: str) -> None:
    """Change a tracked file as an editor that keeps the mtime would: only its content and
    ctime tell; then let the change age past the racy window, so the cache is trusted."""
    path.write_text(text)
    os.utime(path, (OLD, OLD))
    time.sleep(2.1)


def _tiny_package(root: Path, version: str) -> Path:
    src = root / f"tinyxt-src-{version}"
    (src / "tinyxt").mkdir(parents=True)
    (src / "tinyxt" / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "tinyxt"\nversion = "{version}"\n'
    )
    return src


def _pip_install(src: Path, target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "--upgrade",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
    )


def _packages(store: Any, run: dict[str, Any]) -> dict[str, str]:
    env: dict[str, Any] = orjson.loads(store.get_blob(run["env"]["hash"]))
    packages: dict[str, str] = env["packages"]
    return packages


def test_cells_record_commits_outside_edits_and_installs(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    (root / ".gitignore").write_text(".xtrack/\nsite/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "ignore")
    site = root / "site"
    site.mkdir()
    store_dir = root / ".xtrack"
    env = {**os.environ, **GIT_ENV, "XTRACK_STORE": str(store_dir)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(root), env=env)

    def cell(code: str) -> None:
        # the git state is read on a worker once the cell started: let it finish before the
        # test changes anything, so each change falls between two cells
        for source in (code, "xt.flush()"):
            reply = kc.execute_interactive(source, timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]

    try:
        cell(f"import sys; sys.path.insert(0, {str(site)!r})\n%load_ext jupyter_xtrack")
        cell("%%track\nx = 1")  # 1: clean, at the second commit
        cell("%%track\nx = 2")  # 2: the same state, reused
        _edit(root / "train.py", "lr = 0.2\n")
        cell("%%track\nx = 3")  # 3: dirty, the edit's diff
        cell("%%track\nx = 4")  # 4: unchanged: the diff reused
        _edit(root / "train.py", "lr = 0.3\n")  # same size, same mtime as the last edit
        cell("%%track\nx = 5")  # 5: the new diff
        git(root, "commit", "-q", "-am", "third")
        cell("%%track\nx = 6")  # 6: clean, at the new commit
        _pip_install(_tiny_package(tmp_path, "0.1.0"), site)
        cell("%%track\nx = 7")  # 7: tinyxt 0.1.0 installed
        time.sleep(2.1)  # the folder's listing is now old enough to be kept
        cell("%%track\nx = 8")
        _pip_install(_tiny_package(tmp_path, "0.2.0"), site)
        cell("%%track\nx = 9")  # 9: upgraded
        (root / "out" / "a").mkdir(parents=True)  # a new folder and a file in it at once
        (root / "out" / "a" / "r.txt").write_text("1")
        cell("%%track\nx = 10")  # 10: the untracked folder
        # the work tree watch is what these cells used (Linux), not the status-per-cell path
        watched = "any(w is not None for w in tree_watch._watches.values())"
        cell(f"from jupyter_xtrack.capture import tree_watch\nassert {watched}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = open_store(store_dir)
    runs = {n: store.get_run(n) for n in range(1, 11)}
    commits = [git(root, "rev-parse", f"HEAD~{i}") for i in (1, 0)]
    for n in (1, 2):
        assert runs[n]["git"]["commit"] == commits[0] and runs[n]["git"]["dirty"] is False
    diffs = {n: store.get_blob(runs[n]["git"]["diff_hash"]).decode() for n in (3, 4, 5)}
    assert "+lr = 0.2" in diffs[3] and diffs[4] == diffs[3]
    assert "+lr = 0.3" in diffs[5] and "+lr = 0.2" not in diffs[5]
    for n in (6, 7, 8, 9):
        assert runs[n]["git"]["commit"] == commits[1] and runs[n]["git"]["dirty"] is False
    assert "tinyxt" not in _packages(store, runs[6])
    assert _packages(store, runs[7])["tinyxt"] == "0.1.0"
    assert _packages(store, runs[8])["tinyxt"] == "0.1.0"
    assert _packages(store, runs[9])["tinyxt"] == "0.2.0"
    assert runs[9]["git"]["untracked"] == [] and runs[10]["git"]["untracked"] == ["out/"]
