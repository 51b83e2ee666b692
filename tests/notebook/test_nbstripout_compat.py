"""--nbstripout-compat gives byte-identical results to nbstripout 0.8.1 (installed by the dev
extra), checked differentially: the real nbstripout and ours on the same notebooks with the same
flags. The notebooks are our fixtures and those that nbstripout's own 0.8.1 sdist ships (its
PyPI sdist, unpacked under .venv/nbstripout-src/ by `make env`; never committed here).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_xtrack.notebook.strip import strip_bytes, strip_zeppelin_bytes

from .conftest import NOTEBOOKS, REPO, xtrack
from .test_strip_table import options_for

SDIST_TESTS = Path(
    os.environ.get(
        "XTRACK_NBSTRIPOUT_TESTS", REPO / ".venv" / "nbstripout-src" / "nbstripout-0.8.1" / "tests"
    )
)
SDIST_NOTEBOOKS = ["test_diff.ipynb", "test_diff_different.ipynb",
                   "test_diff_different_extrakeys.ipynb", "test_diff_output.ipynb",
                   "test_keep_output_tags.ipynb"]
# The flag sets of nbstripout's own end-to-end cases.
FLAG_SETS = [
    "",
    "--drop-empty-cells",
    "--drop-tagged-cells=test",
    "--max-size 50 --keep-id",
    "--max-size 50",
    "--extra-keys 'metadata.kernelspec metadata.language_info'",
    "--keep-count",
    "--keep-output",
    "--keep-output --keep-count",
    "--keep-metadata-keys 'cell.metadata.scrolled cell.metadata.collapsed metadata.a'",
    "--extra-keys 'cell.metadata.application/vnd.databricks.v1+cell "
    "metadata.application/vnd.databricks.v1+notebook'",
    "--strip-init-cells",
    "--keep-id",
]


def _sdist_notebook(name: str) -> bytes:
    path = SDIST_TESTS / name
    if not path.is_file():
        pytest.skip(f"nbstripout 0.8.1's sdist is not unpacked at {SDIST_TESTS}: `make env` "
                    "downloads it from PyPI (or set XTRACK_NBSTRIPOUT_TESTS to its tests/)")
    return path.read_bytes()


def _nbstripout(data: bytes, flags: str) -> bytes:
    proc = subprocess.run(
        [sys.executable, "-m", "nbstripout", *shlex.split(flags)],
        input=data,
        capture_output=True,
        env={**os.environ, "GIT_DIR": "/nonexistent"},  # no git config influence
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    ("source", "flags"),
    [
        ("outputs.ipynb", ""),
        ("outputs.ipynb", "--keep-output --keep-id --max-size 60"),
        ("outputs.ipynb", "--drop-empty-cells --drop-tagged-cells scratch --strip-init-cells"),
        ("outputs.ipynb", "--extra-keys 'metadata.toc cell.metadata.custom' --keep-count"),
        ("unsorted_keys.ipynb", ""),
        ("clean_other_tool.ipynb", ""),
        ("nbformat3.ipynb", ""),
        ("nbformat44_no_ids.ipynb", ""),
    ],
)
def test_differential_against_installed_nbstripout(source: str, flags: str) -> None:
    pytest.importorskip("nbstripout")
    data = (NOTEBOOKS / source).read_bytes()
    ours = strip_bytes(data, options_for(flags + " --nbstripout-compat"))
    assert ours.data == _nbstripout(data, flags)


@pytest.mark.parametrize("flags", FLAG_SETS)
@pytest.mark.parametrize("source", SDIST_NOTEBOOKS)
def test_differential_on_nbstripouts_own_notebooks(source: str, flags: str) -> None:
    data = _sdist_notebook(source)
    ours = strip_bytes(data, options_for(flags + " --nbstripout-compat"))
    assert ours.error is None
    assert ours.data == _nbstripout(data, flags)


def test_a_notebook_nbstripout_refuses_is_passed_through_with_its_error() -> None:
    data = _sdist_notebook("test_keep_output_tags_exception.ipynb")
    proc = subprocess.run([sys.executable, "-m", "nbstripout"], input=data, capture_output=True)
    assert proc.returncode != 0 and b"MetadataError" in proc.stderr
    ours = strip_bytes(data, options_for("--nbstripout-compat"))
    assert ours.error is not None and ours.data == data


def test_cli_strips_stdin_and_files_as_nbstripout_does(tmp_path: Path) -> None:
    source = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    expected = _nbstripout(source, "--keep-count")
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--keep-count", "-", input=source)
    assert proc.returncode == 0 and proc.stdout == expected
    target = tmp_path / "nb.ipynb"
    target.write_bytes(source)
    proc = xtrack(
        tmp_path, "strip", "--nbstripout-compat", "--keep-count", "--no-archive", "nb.ipynb"
    )
    assert proc.returncode == 0 and target.read_bytes() == expected


@pytest.mark.parametrize("source", ["outputs.ipynb", "outputs.compat.expected"])
def test_dry_run_and_verify_answer_as_nbstripout_does(tmp_path: Path, source: str) -> None:
    data = (NOTEBOOKS / source).read_bytes()
    theirs = subprocess.run([sys.executable, "-m", "nbstripout", "--dry-run"], input=data,
                            capture_output=True)
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--dry-run", input=data)
    assert proc.stdout == theirs.stdout
    assert proc.stdout == (b"Dry run: would have stripped input from stdin\n"
                           if source == "outputs.ipynb" else b"")
    theirs = subprocess.run([sys.executable, "-m", "nbstripout", "--verify"], input=data,
                            capture_output=True)
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--verify", input=data)
    assert proc.returncode == theirs.returncode == (1 if source == "outputs.ipynb" else 0)


def test_error_messages_match_nbstripouts(tmp_path: Path) -> None:
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--dry-run", "--extra-keys",
                  "invalid foo.invalid", input=(NOTEBOOKS / "outputs.ipynb").read_bytes())
    assert b"Ignoring invalid extra key `invalid`" in proc.stderr
    assert b"Ignoring invalid extra key `foo.invalid`" in proc.stderr
    data = (NOTEBOOKS / "contradiction.ipynb").read_bytes()
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", input=data)
    assert b"MetadataError: cell metadata contradicts tags" in proc.stderr
    assert proc.stdout == data  # passed through, not lost


ZEPPELIN_NOTE = (
    b'{"paragraphs": [{"text": "%python\\nprint(1)", "results": {"code": "SUCCESS", "msg": '
    b'[{"type": "TEXT", "data": "1\\n"}]}, "id": "p1"}, {"text": "%md\\n# t", "id": "p2", '
    b'"results": {"code": "SUCCESS", "msg": []}}], "name": "note", "id": "2ABC"}\n'
)


def test_zeppelin_notes_are_stripped_as_nbstripout_does(tmp_path: Path) -> None:
    theirs = _nbstripout(ZEPPELIN_NOTE, "--mode zeppelin")
    assert b'"results": {}' in theirs
    assert strip_zeppelin_bytes(ZEPPELIN_NOTE).data == theirs
    note = tmp_path / "note.zpln"
    note.write_bytes(ZEPPELIN_NOTE)
    proc = xtrack(tmp_path, "strip", "--mode", "zeppelin", "--no-archive", "note.zpln")
    assert proc.returncode == 0 and note.read_bytes() == theirs
