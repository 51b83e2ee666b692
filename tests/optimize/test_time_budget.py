"""The time-budget grammar: `parse_budget` agrees with the sidebar's `parseBudget` on every
case of the table both test suites read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.optimize.scoring import parse_budget

TABLE = Path(__file__).parents[2] / "labextension" / "test" / "fixtures" / "time_budgets.json"
CASES: list[dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["input"]) for c in CASES])
def test_every_case_of_the_shared_table(case: dict[str, Any]) -> None:
    if case["seconds"] is None:
        with pytest.raises(ValueError, match="time_budget"):
            parse_budget(case["input"])
    else:
        assert parse_budget(case["input"]) == pytest.approx(case["seconds"])


def test_the_table_holds_both_kinds_of_case() -> None:
    assert any(c["seconds"] is None for c in CASES)
    assert any(c["seconds"] is not None for c in CASES)
