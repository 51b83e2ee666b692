"""Notebook location, lineage notebooks and snapshots."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_xtrack.capture.code import (
    LineageEncoder,
    find_notebook_path,
    lineage_notebook,
    notebook_bytes,
    read_notebook_snapshot,
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "analysis.ipynb").write_text("{}")
    (tmp_path / "other.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path / "nbs")  # the kernel starts in the notebook's folder
    return tmp_path


def test_vscode_path_wins(project: Path) -> None:
    nb = str(project / "other.ipynb")
    env = {"JPY_SESSION_NAME": "nbs/analysis.ipynb"}
    assert find_notebook_path(env, {"__vsc_ipynb_file__": nb}) == nb


def test_jupyter_session_name_relative_to_server_root(project: Path) -> None:
    # server root is the project, the kernel's cwd is nbs/
    env = {"JPY_SESSION_NAME": "nbs/analysis.ipynb"}
    assert find_notebook_path(env, {}) == str(project / "nbs" / "analysis.ipynb")


def test_jupyter_session_name_in_cwd(project: Path) -> None:
    assert find_notebook_path({"JPY_SESSION_NAME": "analysis.ipynb"}, {}) == str(
        project / "nbs" / "analysis.ipynb"
    )


def test_session_variable_and_absolute_paths(project: Path) -> None:
    nb = str(project / "other.ipynb")
    assert find_notebook_path({}, {"__session__": nb}) == nb


@pytest.mark.parametrize(
    ("env", "ns"),
    [
        ({}, {}),
        ({"JPY_SESSION_NAME": "b9e0c7a5-uuid"}, {}),  # older servers set an id, not a path
        ({}, {"__session__": "/tmp/script.py"}),
        ({}, {"__vsc_ipynb_file__": 42}),
    ],
)
def test_no_notebook(project: Path, env: dict, ns: dict) -> None:
    assert find_notebook_path(env, ns) is None


def test_unsaved_notebook_gives_the_plausible_path(project: Path) -> None:
    out = find_notebook_path({"JPY_SESSION_NAME": "Untitled.ipynb"}, {})
    assert out == str(project / "nbs" / "Untitled.ipynb")


def test_existing_file_preferred_over_earlier_missing_hint(project: Path) -> None:
    env = {"JPY_SESSION_NAME": "gone.ipynb"}
    assert find_notebook_path(env, {"__session__": str(project / "other.ipynb")}) == str(
        project / "other.ipynb"
    )


HISTORY = [(1, "import numpy as np"), (2, "x = np.arange(3)\nx.sum()\n"), (5, "print('é')")]


def test_lineage_notebook_is_valid_nbformat() -> None:
    nb = lineage_notebook(HISTORY, kernel_name="python3", language_version="3.11.7")
    node = nbformat.from_dict(nb)
    nbformat.validate(node, version=4)
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] == 5
    assert [c["execution_count"] for c in nb["cells"]] == [1, 2, 5]
    assert ["".join(c["source"]) for c in nb["cells"]] == [s for _, s in HISTORY]
    assert all(c["outputs"] == [] for c in nb["cells"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["language_info"] == {"name": "python", "version": "3.11.7"}


def test_lineage_cell_ids_deterministic_and_unique() -> None:
    a = lineage_notebook(HISTORY)
    b = lineage_notebook(list(HISTORY))
    assert [c["id"] for c in a["cells"]] == [c["id"] for c in b["cells"]]
    same = lineage_notebook([(1, "x"), (1, "x")])
    assert len({c["id"] for c in same["cells"]}) == 2
    nbformat.validate(nbformat.from_dict(lineage_notebook([])), version=4)


def test_notebook_bytes_match_what_jupyter_writes(tmp_path: Path) -> None:
    nb = lineage_notebook(HISTORY, kernel_name="python3")
    data = notebook_bytes(nb)
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.from_dict(nb), str(path))
    assert data == path.read_bytes()
    assert data.endswith(b"}\n") and "é".encode() in data
    assert json.loads(data) == nb


def test_snapshot_reads_bytes(tmp_path: Path) -> None:
    p = tmp_path / "n.ipynb"
    p.write_bytes(b'{"cells": []}')
    assert read_notebook_snapshot(str(p)) == {"path": str(p), "bytes": b'{"cells": []}', "size": 13}


def test_snapshot_problems_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "n.ipynb"
    p.write_bytes(b"x" * 100)
    big = read_notebook_snapshot(str(p), max_bytes=10)
    assert big["bytes"] is None and big["size"] == 100 and "limit" in big["error"]
    missing = read_notebook_snapshot(str(tmp_path / "nope.ipynb"))
    assert missing["bytes"] is None and "no such notebook" in missing["error"]
    folder = read_notebook_snapshot(str(tmp_path))
    assert folder["bytes"] is None and "not a file" in folder["error"]
    assert os.path.isabs(missing["path"])


def _whole(history: list[tuple[Any, str]], **meta: Any) -> bytes:
    return notebook_bytes(lineage_notebook(history, **meta))


def test_lineage_encoder_gives_the_whole_encodings_bytes_as_history_grows() -> None:
    # the kernel's case: each run's history is the last one plus a cell; sources that could
    # confuse a line-based join (escapes, raw U+2028, the encoder's own placeholder text)
    sources = [
        "import numpy as np",
        'x = "a\\nb"  # é\n\tpass\r\n',
        "",
        "\u2028s = '😀'\n",
        '"xtrack-lineage-cells"',
        "}\n{",
    ]
    encoder = LineageEncoder()
    history: list[tuple[Any, str]] = []
    for i, source in enumerate(sources * 3):
        history.append((i if i % 4 else None, source))
        for meta in ({}, {"language_version": "3.11.7"}, {"kernel_name": "xtrack-lineage-cells"}):
            assert encoder.encode(history, **meta) == _whole(history, **meta)
    assert encoder.encode([]) == _whole([])
    assert encoder.encode([], language_version="3.11.7") == _whole([], language_version="3.11.7")


def test_lineage_encoder_over_its_limit_starts_over_and_stays_exact() -> None:
    encoder = LineageEncoder(limit=3)
    history = [(n, f"x = {n}") for n in range(1, 9)]
    for end in range(1, len(history) + 1):
        assert encoder.encode(history[:end]) == _whole(history[:end])
    # a different history at the same positions: its own cells, not the cached ones
    other = [(n, f"y = {n}") for n in range(1, 9)]
    assert encoder.encode(other) == _whole(other)
