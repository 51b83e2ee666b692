"""Stripped outputs are archived in the run store and come back with `xtrack outputs restore`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from jupyter_xtrack.notebook.archive import SPOOL_DIRNAME, content_hash
from jupyter_xtrack.store import open_store

from .conftest import NOTEBOOKS, git, xtrack


def _install(repo: Path) -> None:
    assert xtrack(repo, "hooks", "install").returncode == 0


def test_git_add_archives_and_restore_after_checkout(repo: Path) -> None:
    _install(repo)
    nb_path = repo / "analysis" / "fit.ipynb"
    nb_path.parent.mkdir()
    original = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    nb_path.write_bytes(original)
    # the cell that made the figure was recorded by %%track: the archive links to its run
    store = open_store(None, start_dir=repo)
    run_id, _ = store.create_run(name="fit", notebook_path="analysis/fit.ipynb", cell_id="a3b4c5d6")
    store.close()

    git(repo, "add", "analysis/fit.ipynb")
    git(repo, "commit", "-q", "-m", "fit")
    stripped = git(repo, "show", "HEAD:analysis/fit.ipynb").stdout.encode()

    store = open_store(None, start_dir=repo)
    records = store.archived_outputs("analysis/fit.ipynb")
    by_cell = {r["cell_id"]: r for r in records}
    assert {r["notebook_hash"] for r in records} == {content_hash(stripped)}
    assert by_cell["a3b4c5d6"]["run_id"] == run_id
    assert by_cell["e5f6a7b8"]["run_id"] is None
    payload = json.loads(store.get_blob(by_cell["a3b4c5d6"]["outputs_blob"]))
    assert payload["execution_count"] == 3
    assert payload["outputs"][1]["output_type"] == "display_data"
    store.close()

    # a fresh checkout has no outputs; restore brings every one back
    nb_path.unlink()
    git(repo, "checkout", "--", "analysis/fit.ipynb")
    assert nb_path.read_bytes() == stripped
    proc = xtrack(repo, "outputs", "restore", "analysis/fit.ipynb")
    assert proc.returncode == 0, proc.stderr
    assert b"restored outputs of 8 cell(s)" in proc.stdout, proc.stdout
    restored = json.loads(nb_path.read_text())
    want = json.loads(original)
    for got, orig in zip(restored["cells"], want["cells"], strict=True):
        assert got.get("outputs") == orig.get("outputs")
        assert got.get("execution_count") == orig.get("execution_count")
    # what git sees did not change
    assert git(repo, "diff", "--quiet", check=False).returncode == 0


def test_restore_skips_and_lists_changed_cells(repo: Path) -> None:
    _install(repo)
    nb_path = repo / "n.ipynb"
    nb_path.write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    git(repo, "add", "n.ipynb")
    stripped = json.loads(git(repo, "show", ":n.ipynb").stdout)
    stripped["cells"][1]["source"] = ["print('edited since')"]
    nb_path.write_text(json.dumps(stripped, indent=1) + "\n")
    proc = xtrack(repo, "outputs", "restore", "n.ipynb")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "restored outputs of 7 cell(s)" in out
    assert "1 cell(s) changed since their outputs were archived" in out and "e5f6a7b8" in out
    after = json.loads(nb_path.read_text())
    assert after["cells"][1]["outputs"] == []
    assert after["cells"][3]["outputs"]


def test_strip_in_place_archives_too(repo: Path) -> None:
    nb_path = repo / "s.ipynb"
    nb_path.write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    assert xtrack(repo, "strip", "s.ipynb").returncode == 0
    assert nb_path.read_bytes() == (NOTEBOOKS / "outputs.default.expected").read_bytes()
    assert xtrack(repo, "outputs", "restore", "s.ipynb").returncode == 0
    assert json.loads(nb_path.read_text())["cells"][3]["outputs"]


def test_archive_is_written_after_git_returns(repo: Path, git_env: dict[str, str]) -> None:
    # Without XTRACK_ARCHIVE_SYNC the filter only spools; a detached process ingests it.
    _install(repo)
    env = {k: v for k, v in os.environ.items() if k != "XTRACK_ARCHIVE_SYNC"}
    (repo / "d.ipynb").write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    subprocess.run(["git", "add", "d.ipynb"], cwd=repo, env=env, check=True)
    spool = repo / ".git" / SPOOL_DIRNAME
    deadline = time.monotonic() + 60
    while any(p.suffix in (".spool", ".claimed") for p in spool.glob("*")):
        assert time.monotonic() < deadline, "the background ingester never emptied the spool"
        time.sleep(0.1)
    store = open_store(None, start_dir=repo)
    assert len(store.archived_outputs("d.ipynb")) == 8
    store.close()


def test_repeated_filter_runs_do_not_duplicate_records(repo: Path) -> None:
    _install(repo)
    (repo / "r.ipynb").write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    git(repo, "add", "r.ipynb")
    os.utime(repo / "r.ipynb", (time.time() + 5, time.time() + 5))
    git(repo, "add", "r.ipynb")  # stat changed: git filters again
    store = open_store(None, start_dir=repo)
    assert len(store.archived_outputs("r.ipynb")) == 8
    store.close()


def test_pending_spool_is_ingested_before_restore(repo: Path) -> None:
    from jupyter_xtrack.notebook.archive import items_for, write_spool
    from jupyter_xtrack.notebook.strip import StripOptions, strip_bytes

    data = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    result = strip_bytes(data, StripOptions())
    write_spool(repo / ".git" / SPOOL_DIRNAME, items_for("p.ipynb", result))
    (repo / "p.ipynb").write_bytes(result.data)
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_xtrack.cli", "outputs", "restore", "p.ipynb"],
        cwd=repo,
        capture_output=True,
    )
    assert b"restored outputs of 8 cell(s)" in proc.stdout


def test_restore_without_archive_says_so(repo: Path) -> None:
    (repo / "x.ipynb").write_bytes((NOTEBOOKS / "clean.ipynb").read_bytes())
    proc = xtrack(repo, "outputs", "restore", "x.ipynb")
    assert proc.returncode == 1
    assert b"no archived outputs for x.ipynb" in proc.stderr


def test_unchanged_content_is_not_spooled_again(repo: Path) -> None:
    # git status after a touch re-runs the filter; the same version must not be re-archived.
    _install(repo)
    env = {k: v for k, v in os.environ.items() if k != "XTRACK_ARCHIVE_SYNC"}
    (repo / "u.ipynb").write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    subprocess.run(["git", "add", "u.ipynb"], cwd=repo, env=env, check=True)
    spool = repo / ".git" / SPOOL_DIRNAME
    assert (spool / "seen").read_text().count("\n") == 1
    os.utime(repo / "u.ipynb", (time.time() + 5, time.time() + 5))
    before = sorted(p.name for p in spool.iterdir())
    subprocess.run(["git", "status"], cwd=repo, env=env, check=True, capture_output=True)
    after = sorted(p.name for p in spool.iterdir() if p.suffix == ".spool")
    assert not set(after) - set(before)
    assert (spool / "seen").read_text().count("\n") == 1
