"""--nbstripout-compat gives byte-identical results to nbstripout 0.8.1.

Two checks: nbstripout's own end-to-end notebooks with their expected outputs (from nbstripout's
0.8.1 source tree unpacked under .venv/nbstripout-src/; not committed here), and a differential
run of the installed nbstripout against our fixture notebooks.
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

E2E = Path(
    os.environ.get(
        "XTRACK_NBSTRIPOUT_TESTS",
        REPO / ".venv" / "nbstripout-src" / "nbstripout-0.8.1" / "tests" / "e2e_notebooks",
    )
)
needs_e2e = pytest.mark.skipif(
    not (E2E / "test_metadata.ipynb").is_file(),
    reason=f"nbstripout 0.8.1's e2e notebooks are not at {E2E}: they are in its GitHub tag "
    "archive (github.com/kynan/nbstripout/archive/refs/tags/0.8.1.tar.gz), not in its PyPI sdist",
)

# nbstripout's end-to-end cases: (input, expected output, nbstripout flags).
E2E_CASES = [
    ("test_drop_empty_cells.ipynb", "test_drop_empty_cells_dontdrop.ipynb.expected", ""),
    ("test_drop_empty_cells.ipynb", "test_drop_empty_cells.ipynb.expected", "--drop-empty-cells"),
    ("test_drop_tagged_cells.ipynb", "test_drop_tagged_cells_dontdrop.ipynb.expected", ""),
    (
        "test_drop_tagged_cells.ipynb",
        "test_drop_tagged_cells.ipynb.expected",
        "--drop-tagged-cells=test",
    ),
    ("test_execution_timing.ipynb", "test_execution_timing.ipynb.expected", ""),
    ("test_max_size.ipynb", "test_max_size.ipynb.expected", "--max-size 50 --keep-id"),
    ("test_max_size.ipynb", "test_max_size.ipynb.expected_sequential_id", "--max-size 50"),
    ("test_empty_metadata.ipynb", "test_empty_metadata.ipynb.expected", ""),
    ("test_metadata.ipynb", "test_metadata.ipynb.expected", ""),
    (
        "test_metadata.ipynb",
        "test_metadata_extra_keys.ipynb.expected",
        "--extra-keys 'metadata.kernelspec metadata.language_info'",
    ),
    ("test_metadata.ipynb", "test_metadata_keep_count.ipynb.expected", "--keep-count"),
    ("test_metadata.ipynb", "test_metadata_keep_output.ipynb.expected", "--keep-output"),
    (
        "test_metadata.ipynb",
        "test_metadata_keep_output_keep_count.ipynb.expected",
        "--keep-output --keep-count",
    ),
    ("test_metadata_notebook.ipynb", "test_metadata_notebook.ipynb.expected", ""),
    (
        "test_keep_metadata_keys.ipynb",
        "test_keep_metadata_keys.ipynb.expected",
        "--keep-metadata-keys 'cell.metadata.scrolled cell.metadata.collapsed metadata.a'",
    ),
    (
        "test_metadata_period.ipynb",
        "test_metadata_period.ipynb.expected",
        "--extra-keys 'cell.metadata.application/vnd.databricks.v1+cell "
        "metadata.application/vnd.databricks.v1+notebook'",
    ),
    ("test_strip_init_cells.ipynb", "test_strip_init_cells.ipynb.expected", "--strip-init-cells"),
    ("test_nbformat2.ipynb", "test_nbformat2.ipynb.expected", ""),
    ("test_nbformat45.ipynb", "test_nbformat45.ipynb.expected", "--keep-id"),
    ("test_nbformat45.ipynb", "test_nbformat45.ipynb.expected_sequential_id", ""),
    ("test_missing_nbformat.ipynb", "test_missing_nbformat.ipynb.expected", ""),
    ("test_unicode.ipynb", "test_unicode.ipynb.expected", ""),
    ("test_widgets.ipynb", "test_widgets.ipynb.expected", ""),
]


@needs_e2e
@pytest.mark.parametrize(("source", "expected", "flags"), E2E_CASES)
def test_nbstripout_e2e_byte_identical(source: str, expected: str, flags: str) -> None:
    options = options_for(flags + " --nbstripout-compat")
    result = strip_bytes((E2E / source).read_bytes(), options)
    assert result.error is None
    assert result.data == (E2E / expected).read_bytes()


@needs_e2e
def test_nbstripout_e2e_zeppelin() -> None:
    result = strip_zeppelin_bytes((E2E / "test_zeppelin.zpln").read_bytes())
    assert result.data == (E2E / "test_zeppelin.zpln.expected").read_bytes()


@needs_e2e
def test_nbstripout_e2e_through_cli_stdin_and_file(tmp_path: Path) -> None:
    source = (E2E / "test_metadata.ipynb").read_bytes()
    expected = (E2E / "test_metadata_keep_count.ipynb.expected").read_bytes()
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--keep-count", "-", input=source)
    assert proc.returncode == 0 and proc.stdout == expected
    target = tmp_path / "nb.ipynb"
    target.write_bytes(source)
    proc = xtrack(
        tmp_path, "strip", "--nbstripout-compat", "--keep-count", "--no-archive", "nb.ipynb"
    )
    assert proc.returncode == 0 and target.read_bytes() == expected
    zpln = tmp_path / "note.zpln"
    zpln.write_bytes((E2E / "test_zeppelin.zpln").read_bytes())
    proc = xtrack(tmp_path, "strip", "--mode", "zeppelin", "--no-archive", "note.zpln")
    assert zpln.read_bytes() == (E2E / "test_zeppelin.zpln.expected").read_bytes()


@needs_e2e
@pytest.mark.parametrize(
    ("source", "changes"), [("test_metadata.ipynb", True), ("test_nochange.ipynb", False)]
)
def test_nbstripout_e2e_dry_run_messages(tmp_path: Path, source: str, changes: bool) -> None:
    data = (E2E / source).read_bytes()
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--dry-run", input=data)
    assert proc.stdout == (b"Dry run: would have stripped input from stdin\n" if changes else b"")
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", "--verify", input=data)
    assert proc.returncode == (1 if changes else 0)


@needs_e2e
def test_nbstripout_e2e_error_messages(tmp_path: Path) -> None:
    proc = xtrack(
        tmp_path,
        "strip",
        "--nbstripout-compat",
        "--dry-run",
        "--extra-keys",
        "invalid foo.invalid",
        input=(E2E / "test_metadata.ipynb").read_bytes(),
    )
    assert b"Ignoring invalid extra key `invalid`" in proc.stderr
    assert b"Ignoring invalid extra key `foo.invalid`" in proc.stderr
    data = (E2E / "test_metadata_exception.ipynb").read_bytes()
    proc = xtrack(tmp_path, "strip", "--nbstripout-compat", input=data)
    assert b"MetadataError: cell metadata contradicts tags" in proc.stderr
    assert proc.stdout == data  # passed through, not lost


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
