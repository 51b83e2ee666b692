"""R4: when the disk fills while a cell runs, the points that could not be stored are
counted exactly, recorded on the run (a `not_stored` fact and a `capture_problems` entry),
and every view says so; the card's last value is the stored one; the next cell's run is
stored as it ended."""

from __future__ import annotations

from typing import Any

import pytest

from tests.disk_full import LOGGED, run_disk_full_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_disk_full_scenario(tmp_path_factory.mktemp("disk-full"))


@pytest.mark.slow
def test_dropped_points_are_counted_exactly_and_recorded(scenario: dict[str, Any]) -> None:
    full = scenario["r1"]
    stored, lost = full["points"]["x"], full["not_stored"]
    assert lost is not None and lost["points"] > 0, full
    assert stored + lost["points"] == LOGGED
    assert "is full" in lost["reason"]
    assert full["status"] == "finished"
    problem = f"{lost['points']:,} metric points"
    assert any(p.startswith(problem) for p in full["problems"]), full["problems"]


@pytest.mark.slow
def test_the_card_shows_what_was_stored_and_what_was_not(scenario: dict[str, Any]) -> None:
    full = scenario["r1"]
    card, lost = full["card"], full["not_stored"]
    shown = dict(card["metrics"])
    assert shown["x"] == f"{full['metrics']['x']:,.0f}", "the stored last value"
    assert full["metrics"]["x"] == full["points"]["x"] - 1
    assert card["not_stored"]["points"] == lost["points"]
    rows = dict(card["facts"])
    assert rows["not stored"].startswith(f"{lost['points']:,} metric points not stored")
    assert f"⚠ {lost['points']:,} metric points not stored" in card["summary"]
    assert f"⚠ {lost['points']:,} metric points not stored" in full["summary"]


@pytest.mark.slow
def test_the_next_cell_is_stored_as_it_ended(scenario: dict[str, Any]) -> None:
    nxt = scenario["r2"]
    assert nxt["status"] == "finished" and nxt["card"]["status"] == "finished"
    assert nxt["points"] == {"y": 1} and nxt["not_stored"] is None
    assert "not_stored" not in nxt["card"] or nxt["card"]["not_stored"] is None


@pytest.mark.slow
def test_cli_and_rest_mark_the_incomplete_run(scenario: dict[str, Any]) -> None:
    full, nxt = scenario["r1"], scenario["r2"]
    lost = full["not_stored"]["points"]
    assert f"incomplete: {lost:,} metric points not stored" in full["detail"]
    assert "incomplete" not in nxt["detail"]
    ls_rows = {line.split()[0]: line for line in scenario["ls"].splitlines()[1:]}
    assert "finished ⚠" in ls_rows["1"] and "⚠" not in ls_rows["2"]
    assert "1 run is missing data" in scenario["ls"]
    assert full["rest_row"]["incomplete"] is True and nxt["rest_row"]["incomplete"] is False
    assert full["rest_run"]["incomplete"] is True
    assert full["rest_run"]["not_stored"]["points"] == lost
    assert nxt["rest_run"]["incomplete"] is False
