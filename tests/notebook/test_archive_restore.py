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


# --- re-runs: new outputs under unchanged sources (issue 12, R1) ------------------------


def _rerun(original: bytes, text: str, count: int) -> bytes:
    """The notebook as re-running it leaves it: same sources, new outputs and counts."""
    nb = json.loads(original)
    nb["cells"][1]["outputs"][0]["text"] = [text]
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        if cell.get("execution_count") is not None:
            cell["execution_count"] = count + i
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_rerun_outputs_are_archived_and_restored_after_a_branch_switch(repo: Path) -> None:
    _install(repo)
    nb_path = repo / "n.ipynb"
    outputs_a = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    nb_path.write_bytes(outputs_a)
    git(repo, "add", "n.ipynb")
    git(repo, "commit", "-q", "-m", "outputs A")
    stripped = git(repo, "show", "HEAD:n.ipynb").stdout.encode()
    # another branch where the notebook's code differs
    git(repo, "checkout", "-q", "-b", "other")
    edited = json.loads(stripped)
    edited["cells"][2]["source"] = "2 + 2"
    nb_path.write_text(json.dumps(edited, indent=1) + "\n")
    git(repo, "commit", "-q", "-am", "other code")
    git(repo, "checkout", "-q", "main")

    # re-run on main: new outputs, same sources, so git sees no change
    outputs_b = _rerun(outputs_a, "outputs B\n", 20)
    nb_path.write_bytes(outputs_b)
    git(repo, "add", "n.ipynb")
    assert git(repo, "status", "--porcelain").stdout == ""
    store = open_store(None, start_dir=repo)
    records = store.archived_outputs("n.ipynb")
    store.close()
    # every cell re-run has a new count (and one new output): one new record each
    assert len(records) == 8 + 8, [r["cell_id"] for r in records]

    # switching branches and back replaces the working copy with the stripped notebook
    git(repo, "checkout", "-q", "other")
    git(repo, "checkout", "-q", "main")
    assert nb_path.read_bytes() == stripped
    proc = xtrack(repo, "outputs", "restore", "n.ipynb")
    assert proc.returncode == 0, proc.stderr
    assert b"restored outputs of 8 cell(s)" in proc.stdout, proc.stdout
    assert b"the newest matching outputs of 2 archived versions" in proc.stdout, proc.stdout
    want_b = [c for c in json.loads(outputs_b)["cells"] if c["cell_type"] == "code"]
    for got, want in zip(_code_cells(nb_path), want_b, strict=True):
        assert got.get("outputs") == want.get("outputs")
        assert got.get("execution_count") == want.get("execution_count")

    # outputs A are still there: listed as the older version, restorable by its id
    listing = xtrack(repo, "outputs", "list", "n.ipynb")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.decode().splitlines()
    assert len(lines) == 2, lines
    assert "8 cell(s) with new outputs" in lines[0] and "8 cell(s) with new outputs" in lines[1]
    older = lines[1].split()[0]
    nb_path.write_bytes(stripped)
    proc = xtrack(repo, "outputs", "restore", "n.ipynb", "--version", older[:6])
    assert proc.returncode == 0, proc.stderr
    want_a = [c for c in json.loads(outputs_a)["cells"] if c["cell_type"] == "code"]
    for got, want in zip(_code_cells(nb_path), want_a, strict=True):
        assert got.get("outputs") == want.get("outputs")
        assert got.get("execution_count") == want.get("execution_count")
    assert git(repo, "diff", "--quiet", check=False).returncode == 0


def test_restore_version_must_name_one_known_version(repo: Path) -> None:
    nb_path = repo / "v.ipynb"
    nb_path.write_bytes((NOTEBOOKS / "outputs.ipynb").read_bytes())
    assert xtrack(repo, "strip", "v.ipynb").returncode == 0
    stripped = nb_path.read_bytes()
    proc = xtrack(repo, "outputs", "restore", "v.ipynb", "--version", "zzzz")
    assert proc.returncode == 2
    assert b"no archived version 'zzzz' (archived versions: " in proc.stderr
    proc = xtrack(repo, "outputs", "restore", "v.ipynb", "v.ipynb", "--version", "ab")
    assert proc.returncode == 2 and b"give one" in proc.stderr
    assert nb_path.read_bytes() == stripped, "nothing restored"


def test_outputs_that_come_back_are_archived_again(repo: Path) -> None:
    # A, then B, then A again: the newest outputs are A, so restore must bring A back.
    from jupyter_xtrack.notebook.archive import SpoolingArchiver
    from jupyter_xtrack.notebook.strip import StripOptions, strip_bytes

    outputs_a = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    outputs_b = _rerun(outputs_a, "outputs B\n", 20)
    for data in (outputs_a, outputs_b, outputs_a, outputs_a):
        archiver = SpoolingArchiver(repo)
        archiver.add("a.ipynb", strip_bytes(data, StripOptions()), data)
        archiver.close()
    store = open_store(None, start_dir=repo)
    assert len(store.archived_outputs("a.ipynb")) == 8 + 8 + 8, "the last A added nothing"
    store.close()
    (repo / "a.ipynb").write_bytes(strip_bytes(outputs_a, StripOptions()).data)
    assert xtrack(repo, "outputs", "restore", "a.ipynb").returncode == 0
    assert _code_cells(repo / "a.ipynb")[0]["outputs"][0]["text"] == ["hello\n"]


def test_archive_written_before_outputs_were_part_of_the_key(repo: Path) -> None:
    # The old filter wrote one record per (cell, stripped notebook) and remembered the stripped
    # hash alone in `seen`; such an archive restores, and new outputs are archived next to it.
    from jupyter_xtrack.notebook.archive import items_for
    from jupyter_xtrack.notebook.strip import StripOptions, strip_bytes

    _install(repo)
    outputs_a = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    result = strip_bytes(outputs_a, StripOptions())
    store = open_store(None, start_dir=repo)
    store.archive_outputs(
        [
            {
                "notebook_path": "o.ipynb",
                "cell_id": item.cell_id,
                "source_hash": item.source_hash,
                "notebook_hash": item.notebook_hash,
                "outputs_blob": store.put_blob(item.payload),
                "execution_count": item.execution_count,
                "run_id": None,
            }
            for item in items_for("o.ipynb", result)
        ]
    )
    store.close()
    spool = repo / ".git" / SPOOL_DIRNAME
    spool.mkdir(parents=True)
    (spool / "seen").write_text(f"o.ipynb\t{content_hash(result.data)}\n")
    nb_path = repo / "o.ipynb"
    nb_path.write_bytes(result.data)
    proc = xtrack(repo, "outputs", "restore", "o.ipynb")
    assert b"restored outputs of 8 cell(s)" in proc.stdout, proc.stdout + proc.stderr
    assert _code_cells(nb_path)[0]["outputs"][0]["text"] == ["hello\n"]
    assert b"archived versions" not in proc.stdout

    nb_path.write_bytes(_rerun(outputs_a, "outputs B\n", 20))
    git(repo, "add", "o.ipynb")
    nb_path.write_bytes(result.data)
    assert b"restored outputs of 8 cell(s)" in xtrack(repo, "outputs", "restore", "o.ipynb").stdout
    assert _code_cells(nb_path)[0]["outputs"][0]["text"] == ["outputs B\n"]
    listing = xtrack(repo, "outputs", "list", "o.ipynb").stdout.decode().splitlines()
    assert len(listing) == 2, listing


def test_a_version_restores_the_outputs_archived_up_to_it() -> None:
    # A version holds only the cells that changed; the others come from the versions before.
    from jupyter_xtrack.notebook.archive import source_hash
    from jupyter_xtrack.notebook.restore import (
        archived_versions,
        find_version,
        records_as_of,
        restore_outputs,
    )

    def record(cell: str, text: str, at: float) -> dict:
        return {
            "cell_id": cell,
            "source_hash": source_hash(f"print('{cell}')"),
            "notebook_hash": "n1",
            "outputs_blob": text,
            "archived_at": at,
            "run_id": None,
        }

    blobs = {
        t: json.dumps({"outputs": [{"output_type": "stream", "text": t}], "execution_count": 1})
        for t in ("x1", "y1", "x2")
    }
    records = [record("x", "x2", 2.0), record("x", "x1", 1.0), record("y", "y1", 1.0)]
    versions = archived_versions(records)
    assert [len(v.records) for v in versions] == [1, 2]
    assert len({v.id for v in versions}) == 2 and find_version(versions, versions[1].id[:4])

    def restored(recs: list[dict]) -> list[str]:
        nb = {
            "cells": [
                {"cell_type": "code", "id": c, "source": f"print('{c}')", "outputs": []}
                for c in ("x", "y")
            ]
        }
        restore_outputs(nb, recs, lambda h: blobs[h].encode(), "n1")
        return [c["outputs"][0]["text"] for c in nb["cells"]]

    assert restored(records) == ["x2", "y1"]
    assert restored(records_as_of(records, versions[0])) == ["x2", "y1"]
    assert restored(records_as_of(records, versions[1])) == ["x1", "y1"]


def test_strip_in_place_of_a_rerun_archives_its_outputs(repo: Path) -> None:
    nb_path = repo / "s.ipynb"
    outputs_a = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    nb_path.write_bytes(outputs_a)
    assert xtrack(repo, "strip", "s.ipynb").returncode == 0
    nb_path.write_bytes(_rerun(outputs_a, "outputs B\n", 20))
    assert xtrack(repo, "strip", "s.ipynb").returncode == 0
    assert xtrack(repo, "outputs", "restore", "s.ipynb").returncode == 0
    assert _code_cells(nb_path)[0]["outputs"][0]["text"] == ["outputs B\n"]
