"""The team's sidebar (issue 16) in a real JupyterLab and Chromium: a server pointed at a
team store by URL (`XTRACK_STORE=sqlite:///...`) shows every member's runs with a user
column, filters them Mine / Everyone / by the people picked, the run detail says who ran a
run and where, and the Jobs tab says who started a sweep and which machines its trials
ran on.

One server of its own (this server's user is alice), one page, tests in file order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..server.team_scenario import populate_team
from .conftest import JupyterServer, browser_page, running_server, screenshot
from .jobs_page import JOBS, job_row, job_rows, show_tab
from .sidebar_page import (
    ROWS,
    SIDEBAR,
    cell_texts,
    header_texts,
    open_from_tab,
    run_numbers,
    set_filter,
    sidebar_width,
    use_theme,
    wait_for,
)

USERBAR = f"{SIDEBAR} .jp-xtrack-userbar"
# Top-level runs by number: alice's #1 #2, bob's #3, carol's sweep #4 (its trials #5-#7).
ALICE, BOB, CAROL = [1, 2], [3], [4]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    tmp = tmp_path_factory.mktemp("team")
    location = f"sqlite:///{tmp}/team-store"
    populate_team(location)
    with running_server(
        "lab", tmp, env_overrides={"XTRACK_STORE": location, "XTRACK_USER": "alice"}
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 20_000) as pg:
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        wait_for(lambda: len(run_numbers(pg)) == 4, what="the top-level runs listed")
        yield pg


def users_shown(page: Any) -> dict[int, str]:
    """Run number -> the text of its user cell, for the rendered rows."""
    col = header_texts(page).index("user")  # header and rows: the box, then the columns
    return {n: cell_texts(page, n)[col] for n in run_numbers(page)}


def pick(page: Any, name: str) -> None:
    """Tick `name` in the people picker (opened, then closed again)."""
    picker = page.locator(f"{USERBAR} details")
    picker.locator("summary").click()
    picker.locator("label", has_text=name).locator("input").click()
    picker.locator("summary").click()


def test_a_team_store_shows_who_ran_each_run(lab: Any) -> None:
    """Several people's runs: the user column is shown without being chosen."""
    page = lab
    # Right after the name: the first column a scroll sideways brings in.
    assert header_texts(page)[1:4] == ["#", "name", "user"]
    assert users_shown(page) == {4: "carol", 3: "bob", 2: "alice", 1: "alice"}
    assert page.locator(USERBAR).is_visible()
    sidebar_width(page, 560)
    screenshot(page, "team-1-runs-everyone")


def test_mine_everyone_and_picked_people(lab: Any) -> None:
    page = lab
    page.locator(f"{USERBAR} button", has_text="Mine").click()
    wait_for(lambda: sorted(run_numbers(page)) == ALICE, what="alice's runs only")
    assert (
        page.locator(f"{USERBAR} button", has_text="Mine").get_attribute("aria-pressed") == "true"
    )
    screenshot(page, "team-2-runs-mine")
    pick(page, "bob")
    wait_for(lambda: sorted(run_numbers(page)) == ALICE + BOB, what="alice's and bob's runs")
    picker = page.locator(f"{USERBAR} details")
    picker.locator("summary").click()
    counts = picker.locator("label").all_inner_texts()
    assert [t.strip() for t in counts] == ["carol 4", "alice (me) 2", "bob 1"]
    screenshot(page, "team-3-people-picked")
    picker.locator("summary").click()
    # With the filter box: both must match.
    set_filter(page, "experiment = 'other'")
    wait_for(lambda: run_numbers(page) == BOB, what="bob's run in experiment other")
    set_filter(page, "")
    page.locator(f"{USERBAR} button", has_text="Everyone").click()
    wait_for(lambda: sorted(run_numbers(page)) == ALICE + BOB + CAROL, what="everyone again")


def test_trials_of_a_picked_person_nest_under_their_sweep(lab: Any) -> None:
    page = lab
    pick(page, "carol")
    wait_for(
        lambda: run_numbers(page) == [4, 7, 6, 5] or sorted(run_numbers(page)) == [4, 5, 6, 7],
        what="carol's sweep open onto its trials",
    )
    assert page.locator(f"{ROWS}.jp-xtrack-child").count() == 3
    page.locator(f"{USERBAR} button", has_text="Everyone").click()
    wait_for(lambda: sorted(run_numbers(page)) == [1, 2, 3, 4], what="everyone again")


def test_run_detail_says_who_and_where(lab: Any) -> None:
    page = lab
    page.locator(f"{ROWS}[data-run='3']").click()
    who = page.locator(f"{SIDEBAR} .jp-xtrack-run-who")
    who.wait_for()
    assert who.inner_text().startswith("bob @ ")
    screenshot(page, "team-4-run-detail")
    page.locator(f"{SIDEBAR} button", has_text="← Runs").first.click()


def test_jobs_say_who_started_them_and_where_trials_ran(lab: Any) -> None:
    page = lab
    show_tab(page, "jobs")
    first = job_rows(page).first
    first.wait_for()  # the tab shows before the jobs' first answer fills it
    where = job_row(page, first.get_attribute("data-run-id")).locator(".jp-xtrack-job-where")
    where.wait_for()
    assert where.inner_text() == "by carol · on gpu-1 (2), gpu-2 (1)"
    screenshot(page, "team-5-jobs-hosts")


def test_dark_theme(lab: Any) -> None:
    page = lab
    use_theme(page, "JupyterLab Dark")
    wait_for(
        lambda: page.evaluate("document.body.dataset.jpThemeLight") == "false",
        what="the dark theme",
    )
    page.locator(f"{JOBS} .jp-xtrack-job-where").first.wait_for()
    screenshot(page, "team-6-jobs-dark")
    show_tab(page, "runs")
    page.locator(f"{USERBAR} button", has_text="Mine").click()
    wait_for(lambda: sorted(run_numbers(page)) == ALICE, what="alice's runs only")
    screenshot(page, "team-7-runs-mine-dark")
    use_theme(page, "JupyterLab Light")
