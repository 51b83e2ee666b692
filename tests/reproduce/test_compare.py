"""The comparison's rules on their own: the tolerance grammar and nbval-style text outputs."""

from __future__ import annotations

import pytest

from jupyter_xtrack.reproduction.compare import (
    DIFFERS,
    SAME,
    WITHIN,
    Tolerance,
    number_state,
    parse_tolerance,
    text_state,
)


def test_tolerance_grammar() -> None:
    assert parse_tolerance(None) == {}
    assert parse_tolerance(1e-6) == {None: Tolerance(1e-6, 1e-6)}
    assert parse_tolerance(["loss=rel:1e-3,abs:1e-9", "abs:0.5"]) == {
        "loss": Tolerance(1e-3, 1e-9),
        None: Tolerance(0.0, 0.5),
    }
    assert parse_tolerance({"acc": "rel:0.01"}) == {"acc": Tolerance(0.01, 0.0)}
    for bad in ("loose", "rel:-1", "nan", "ratio:1"):
        with pytest.raises(ValueError):
            parse_tolerance(bad)


def test_numbers_exact_within_or_different() -> None:
    assert number_state(0.1, 0.1, Tolerance()) == SAME
    assert number_state(float("nan"), float("nan"), Tolerance()) == SAME
    assert number_state(1.0, 1.0 + 1e-12, Tolerance()) == DIFFERS
    assert number_state(1.0, 1.0 + 1e-12, Tolerance(rel=1e-9)) == WITHIN
    assert number_state(1.0, None, Tolerance(1.0, 1.0)) == DIFFERS  # missing is no number


def test_text_outputs_are_compared_after_normalising() -> None:
    a = (
        "<Model at 0x7f3a2c1d9e50> trained 2024-05-01 10:12:33.120\n"
        "epoch 1: 3.2s, 45.1 it/s\nxtrack #12 fit"
    )
    b = (
        "<Model at 0x7f00deadbeef> trained 2026-11-26T04:11:02Z\n"
        "epoch 1: 410 ms, 12.0 it/s\nxtrack #40 fit"
    )
    assert text_state(a, b, Tolerance()) == SAME
    assert text_state("loss 0.5000001", "loss 0.5000002", Tolerance()) == DIFFERS
    assert text_state("loss 0.5000001", "loss 0.5000002", Tolerance(abs=1e-6)) == WITHIN
    assert text_state("loss 0.5", "acc 0.5", Tolerance(1.0, 1.0)) == DIFFERS
