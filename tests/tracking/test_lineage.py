"""Each tracked run's lineage notebook (the cells the kernel ran up to it) is stored byte for
byte as the whole notebook's encoding gives it, though the tracker encodes each history cell
once (capture.code.LineageEncoder): a real IPython shell with the extension, a real store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from jupyter_xtrack.capture.code import lineage_notebook, notebook_bytes
from jupyter_xtrack.facts import Fact, blob_of
from jupyter_xtrack.store import open_store
from tests.conftest import run_cell

CELLS = [  # without a final newline: the history keeps none
    "%%track\na = 1",
    "b = 'é\\u2028'  # untracked, still in the lineage",
    "%%track\nc = a + 1",
    "%%track\nd = '😀'\nc = 5",
]


def test_each_runs_lineage_is_the_whole_history_encoded(shell: Any, workdir: Path) -> None:
    for source in CELLS:
        run_cell(shell, source)
    store = open_store(workdir / ".xtrack")
    version = sys.version.split()[0]
    lengths = []
    for number in (1, 2, 3):
        record = store.get_run(number)
        data = store.get_blob(blob_of(record, Fact.LINEAGE))
        history = [(c["execution_count"], "".join(c["source"])) for c in _cells(data)]
        nb = lineage_notebook(history, language_version=version)
        assert data == notebook_bytes(nb)
        lengths.append(len(history))
    last = _cells(store.get_blob(blob_of(store.get_run(3), Fact.LINEAGE)))
    assert ["".join(c["source"]) for c in last[-4:]] == CELLS
    assert lengths[1] == lengths[0] + 2 and lengths[2] == lengths[1] + 1


def _cells(data: bytes) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(data)["cells"]
    return cells
