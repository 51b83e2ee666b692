"""The import's progress without tqdm: a plain counter on stderr, ending with the total."""

from __future__ import annotations

import sys

import pytest

from jupyter_xtrack.interop.progress import progress


def test_plain_counter_when_tqdm_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if it were not installed
    with progress(3, "copying") as tick:
        for _ in range(3):
            tick()
    err = capsys.readouterr().err
    assert "copying: 3/3 runs" in err and err.endswith("\n")


def test_no_progress_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress(3, "copying", enabled=False) as tick:
        tick()
    assert capsys.readouterr().err == ""
