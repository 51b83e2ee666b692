"""Params that are not plain settings are marked wherever params show (issue 11, params):
a loop's values ("↻ values"), a loop's last value ("↻ varies"), a repr ("(repr)"), a
digest ("(digest)"). Recorded by a real tracked cell in IPython's InteractiveShell, read
back from the store by the run card and by `xtrack show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.cli import main
from jupyter_xtrack.views.card import card_payload, card_text
from tests.conftest import run_cell

CELL = """\
%%track --name marks
for C in (1, 0.1):
    pass
lr = 0.1
for step in range(3):
    lr = lr / 2
depth = 3
xt.log_params(fn=len, prompt="w" * 300)
"""

EXPECTED = {"C": "↻ values", "lr": "↻ varies", "fn": "(repr)", "prompt": "(digest)"}


@pytest.fixture
def marked_run(shell: Any) -> Any:
    assert run_cell(shell, CELL).success
    return xt.get_run(xt.runs(limit=1)["id"].iloc[0])


def test_the_run_knows_its_marked_params(marked_run: Any) -> None:
    assert marked_run.param_marks == EXPECTED  # depth, a plain setting, has none


def test_the_run_card_marks_them(marked_run: Any) -> None:
    card = card_payload(marked_run)
    rows = dict(card["params"])
    assert rows["C"] == "[1, 0.1]  ↻ values"
    assert rows["lr"].endswith("  ↻ varies")
    assert rows["fn"].endswith("  (repr)") and rows["prompt"].endswith("  (digest)")
    assert rows["depth"] == "3"
    assert "C=[1, 0.1]  ↻ values" in card_text(card)


def test_xtrack_show_marks_them_with_a_legend(
    marked_run: Any, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    assert main(["show", str(marked_run.number), "--store", str(workdir / ".xtrack")]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    for key, mark in EXPECTED.items():
        assert lines[key].rstrip().endswith(mark), lines[key]
    assert not lines["depth"].rstrip().endswith(")")
    # What each mark used means, once, under the params.
    assert "  ↻ varies: a loop in the cell changed it: the value it ended with is stored" in out
    assert "  (digest): too long to keep" in out
