"""Table-driven stripping tests over the fixture notebooks in tests/notebooks/.

Each row is (input notebook, expected file, flags): the expected files were reviewed by hand.
Semantic checks below make sure the expected files say what the options promise.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from jupyter_xtrack.notebook.strip import StripOptions, parse_size, strip_bytes

from .conftest import NOTEBOOKS, xtrack

TABLE: list[tuple[str, str, str]] = [
    ("outputs.ipynb", "outputs.default.expected", ""),
    ("outputs.ipynb", "outputs.keep_output.expected", "--keep-output"),
    ("outputs.ipynb", "outputs.keep_count.expected", "--keep-count"),
    ("outputs.ipynb", "outputs.keep_output_count.expected", "--keep-output --keep-count"),
    (
        "outputs.ipynb",
        "outputs.extra_keys.expected",
        "--extra-keys 'metadata.kernelspec cell.metadata.custom metadata.toc.number_sections'",
    ),
    (
        "outputs.ipynb",
        "outputs.keep_metadata_keys.expected",
        "--keep-metadata-keys 'cell.metadata.scrolled metadata.widgets'",
    ),
    ("outputs.ipynb", "outputs.drop_empty.expected", "--drop-empty-cells"),
    ("outputs.ipynb", "outputs.drop_tagged.expected", "--drop-tagged-cells 'scratch private'"),
    ("outputs.ipynb", "outputs.strip_init.expected", "--strip-init-cells"),
    ("outputs.ipynb", "outputs.max_size.expected", "--max-size 60"),
    ("outputs.ipynb", "outputs.compat.expected", "--nbstripout-compat"),
    ("outputs.ipynb", "outputs.compat_keep_id.expected", "--nbstripout-compat --keep-id"),
    ("keep_output_notebook.ipynb", "keep_output_notebook.expected", ""),
    ("unsorted_keys.ipynb", "unsorted_keys.expected", ""),
    ("unsorted_keys.ipynb", "unsorted_keys.compat.expected", "--nbstripout-compat"),
    ("nbformat3.ipynb", "nbformat3.expected", ""),
    ("nbformat3.ipynb", "nbformat3.compat.expected", "--nbstripout-compat"),
    ("nbformat44_no_ids.ipynb", "nbformat44_no_ids.expected", ""),
    # Already clean: byte-identical, whatever the formatting.
    ("clean.ipynb", "clean.ipynb", ""),
    ("clean_other_tool.ipynb", "clean_other_tool.ipynb", ""),
    # Malformed: passed through unchanged.
    ("invalid_json.ipynb", "invalid_json.ipynb", ""),
    ("not_a_notebook.ipynb", "not_a_notebook.ipynb", ""),
    ("contradiction.ipynb", "contradiction.ipynb", ""),
    ("lone_surrogate.ipynb", "lone_surrogate.ipynb", ""),
]


def options_for(flags: str) -> StripOptions:
    """StripOptions from a flags string, through the real argument parser."""
    import argparse

    from jupyter_xtrack.notebook.options import add_strip_arguments, options_from_args

    parser = argparse.ArgumentParser()
    add_strip_arguments(parser)
    return options_from_args(parser.parse_args(shlex.split(flags)))


@pytest.mark.parametrize(("source", "expected", "flags"), TABLE)
def test_strip_matches_expected(source: str, expected: str, flags: str) -> None:
    result = strip_bytes((NOTEBOOKS / source).read_bytes(), options_for(flags))
    assert result.data == (NOTEBOOKS / expected).read_bytes()


@pytest.mark.parametrize(("source", "expected", "flags"), TABLE)
def test_stripping_twice_equals_once(source: str, expected: str, flags: str) -> None:
    del expected
    options = options_for(flags)
    once = strip_bytes((NOTEBOOKS / source).read_bytes(), options)
    twice = strip_bytes(once.data, options)
    assert twice.data == once.data
    if not once.error and not options.nbstripout_compat:
        assert not twice.changed


@pytest.mark.parametrize(("source", "expected", "flags"), TABLE[:6] + TABLE[12:14])
def test_cli_in_place_matches_table(tmp_path: Path, source: str, expected: str, flags: str) -> None:
    target = tmp_path / source
    target.write_bytes((NOTEBOOKS / source).read_bytes())
    proc = xtrack(tmp_path, "strip", "--no-archive", source, *shlex.split(flags))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == (NOTEBOOKS / expected).read_bytes()


def _load(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def _cells(name: str) -> dict[str, dict]:
    return {c["id"]: c for c in _load(name)["cells"]}


def test_default_removes_outputs_counts_and_volatile_metadata_only() -> None:
    cells = _cells("outputs.default.expected")
    nb = _load("outputs.default.expected")
    # outputs and counts go, except the keep_output-tagged and init cells
    assert cells["e5f6a7b8"]["outputs"] == [] and cells["e5f6a7b8"]["execution_count"] is None
    assert (
        cells["c9d0e1f2"]["outputs"] and cells["c9d0e1f2"]["outputs"][0]["execution_count"] is None
    )
    assert cells["c1d2e3f4"]["outputs"]  # init_cell: true keeps its output
    # volatile metadata goes
    assert cells["e5f6a7b8"]["metadata"] == {}
    assert "signature" not in nb["metadata"] and "widgets" not in nb["metadata"]
    assert "collapsed" not in cells["e1f2a3b4"]["metadata"]
    # everything else stays: ids, kernelspec, language_info, tags, custom metadata
    assert list(cells) == [c["id"] for c in _load("outputs.ipynb")["cells"]]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["language_info"]["name"] == "python"
    assert nb["metadata"]["toc"] == {"number_sections": True}
    assert cells["a3b4c5d6"]["metadata"] == {"tags": ["figure"], "custom": {"owner": "ana"}}
    assert cells["e7f8a9b0"]["metadata"]["heading_collapsed"] is True  # not volatile by default


def test_compat_mode_uses_nbstripout_defaults() -> None:
    nb = _load("outputs.compat.expected")
    assert [c["id"] for c in nb["cells"]] == [str(i) for i in range(len(nb["cells"]))]
    assert "heading_collapsed" not in nb["cells"][4]["metadata"]
    assert "hidden" not in nb["cells"][4]["metadata"]
    kept = _load("outputs.compat_keep_id.expected")
    assert kept["cells"][1]["id"] == "e5f6a7b8"


def test_flag_semantics_in_expected_files() -> None:
    assert _cells("outputs.keep_output.expected")["e5f6a7b8"]["outputs"]
    assert _cells("outputs.keep_output.expected")["e5f6a7b8"]["execution_count"] is None
    assert _cells("outputs.keep_count.expected")["e5f6a7b8"]["execution_count"] == 1
    assert _cells("outputs.keep_count.expected")["e5f6a7b8"]["outputs"] == []
    both = _cells("outputs.keep_output_count.expected")["a3b4c5d6"]
    assert both["outputs"][0]["execution_count"] == 3
    extra = _load("outputs.extra_keys.expected")
    assert "kernelspec" not in extra["metadata"] and extra["metadata"]["toc"] == {}
    assert all("custom" not in c["metadata"] for c in extra["cells"])
    keep_md = _load("outputs.keep_metadata_keys.expected")
    assert "widgets" in keep_md["metadata"]
    assert keep_md["cells"][1]["metadata"] == {"scrolled": True}
    assert "a5b6c7d8" not in _cells("outputs.drop_empty.expected")
    assert "e9f0a1b2" not in _cells("outputs.drop_empty.expected")
    dropped = _cells("outputs.drop_tagged.expected")
    assert "c3d4e5f6" not in dropped and "a7b8c9d0" not in dropped and "a3b4c5d6" in dropped
    assert _cells("outputs.strip_init.expected")["c1d2e3f4"]["outputs"] == []
    small = _cells("outputs.max_size.expected")
    assert small["e5f6a7b8"]["outputs"]  # a short stream survives
    # of the figure cell only the short text result survives, the PNG goes
    assert [o["output_type"] for o in small["a3b4c5d6"]["outputs"]] == ["execute_result"]
    nbk = {c["id"]: c for c in _load("keep_output_notebook.expected")["cells"]}
    assert nbk["0f1e2d3c"]["outputs"] and nbk["4b5a6978"]["outputs"] == []


def test_rewrite_keeps_key_order_and_unicode() -> None:
    text = (NOTEBOOKS / "unsorted_keys.expected").read_text(encoding="utf-8")
    assert text.index('"nbformat"') < text.index('"cells"')  # file order, not sorted
    assert "ü" in text and "\\u00fc" not in text
    assert text.endswith("}\n") and text.startswith('{\n "nbformat"')


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid_json.ipynb", "invalid JSON at line 4"),
        ("not_a_notebook.ipynb", "top-level JSON value is a list"),
        ("contradiction.ipynb", "contradicts tags"),
        ("lone_surrogate.ipynb", "not valid Unicode"),
    ],
)
def test_malformed_input_reports_and_passes_through(name: str, message: str) -> None:
    data = (NOTEBOOKS / name).read_bytes()
    result = strip_bytes(data, StripOptions())
    assert result.error is not None and message in result.error
    assert result.data == data and not result.changed


def test_parse_size() -> None:
    assert parse_size("500") == 500
    assert parse_size("10k") == 10_000
    assert parse_size("2M") == 2_000_000
    with pytest.raises(ValueError, match="invalid size"):
        parse_size("1.5M")


def test_invalid_extra_key_is_warned_not_fatal() -> None:
    result = strip_bytes(
        (NOTEBOOKS / "clean.ipynb").read_bytes(), options_for("--extra-keys bogus")
    )
    assert result.error is None
    assert "Ignoring invalid extra key `bogus`" in result.warnings
