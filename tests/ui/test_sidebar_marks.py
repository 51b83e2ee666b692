"""Runs the store holds only in part, and params that are not plain settings, are marked
in the sidebar (issue 12, R4; issue 11, params): the runs table's status reads
"finished ⚠" with a tooltip, the run detail has a warning line with what was not stored
and why; params a loop varied, or kept as a repr or a digest, carry "↻ varies", "(repr)",
"(digest)" (with what that means on hover) in the run detail and in Compare.

Before this, the table showed "finished", the detail said nothing of the lost points, and
params showed no mark anywhere: every assertion on a mark or the warning failed. The store
is filled through the store API (these tests are not about tracking)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_xtrack.facts import NOT_STORED_TAG, Fact

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .sidebar_page import (
    SIDEBAR,
    back_to_runs,
    open_from_tab,
    row,
    run_numbers,
    select_runs,
    use_theme,
    wait_for,
)

LOST = {"points": 1200, "writes": 2, "reason": "the disk holding the store is full"}
DIGEST = "<13559 chars xxh3:0123456789abcdef> [[0.1, 0.2, 0.3"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """Run #1 "lossy": points lost to a full disk, lr varied by a loop, fn a repr; run #2
    "plain": nothing lost, init kept by digest."""
    from jupyter_xtrack.store import open_store

    tmp = tmp_path_factory.mktemp("marks")
    store = open_store(tmp / "store")
    t0 = time.time() - 600
    try:
        lossy, _ = store.create_run(name="lossy", experiment="marks", started_at=t0)
        store.set_params(lossy, {"lr": 0.0125, "fn": "<built-in function len>", "depth": 3})
        store.log_metrics([(lossy, "loss", 1 / (s + 1), s, t0 + s) for s in range(20)])
        store.set_facts(
            lossy,
            **{
                Fact.NOT_STORED: LOST,
                Fact.PARAMS_VARYING: {"lr": "varies"},
                Fact.PARAMS_FLAGGED: ["fn"],
            },
        )
        store.set_tags(lossy, {NOT_STORED_TAG: "1,200 metric points and 2 writes not stored"})
        store.finish_run(lossy, status="finished", ended_at=t0 + 30)
        plain, _ = store.create_run(name="plain", experiment="marks", started_at=t0 + 60)
        store.set_params(
            plain, {"lr": 0.1, "fn": "<built-in function len>", "depth": 4, "init": DIGEST}
        )
        store.log_metrics([(plain, "loss", 2 / (s + 1), s, t0 + 60 + s) for s in range(20)])
        store.set_facts(plain, **{Fact.PARAMS_FLAGGED: ["fn", "init"]})
        store.finish_run(plain, status="finished", ended_at=t0 + 90)
    finally:
        store.close()
    with running_server("lab", tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 20_000) as pg:
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        wait_for(lambda: run_numbers(pg) == [2, 1], what="both runs listed")
        yield pg


def both_themes(page: Any, name: str) -> None:
    """Screenshots of what is on screen in the dark theme and the light one."""
    for theme, tag in (("JupyterLab Dark", "dark"), ("JupyterLab Light", "light")):
        use_theme(page, theme)
        page.wait_for_timeout(300)
        screenshot(page, f"{name}-{tag}")


def test_the_table_marks_an_incomplete_run(lab: Any) -> None:
    page = lab
    status = row(page, 1).locator(".jp-xtrack-col-status")
    assert status.inner_text() == "finished ⚠"
    assert "could not be stored" in (status.get_attribute("title") or "")
    assert row(page, 2).locator(".jp-xtrack-col-status").inner_text() == "finished"
    both_themes(page, "marks-1-table")


def test_the_detail_says_what_was_not_stored_and_marks_params(lab: Any) -> None:
    page = lab
    row(page, 1).locator(".jp-xtrack-col-value").first.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    warning = detail.locator(".jp-xtrack-warning")
    warning.wait_for()
    assert warning.inner_text() == (
        "⚠ Incomplete: 1,200 metric points and 2 writes not stored "
        "(the disk holding the store is full)"
    )
    params = detail.locator("details[data-section='params']")
    marks = {
        (tr.locator("th").inner_text()): tr.locator(".jp-xtrack-mark")
        for tr in params.locator("tr").all()
    }
    assert marks["lr"].inner_text().strip() == "↻ varies"
    assert "the value it ended with" in (marks["lr"].get_attribute("title") or "")
    assert marks["fn"].inner_text().strip() == "(repr)"
    assert marks["depth"].count() == 0
    both_themes(page, "marks-2-detail")
    back_to_runs(page)
    row(page, 2).locator(".jp-xtrack-col-value").first.click()
    wait_for(lambda: "plain" in detail.locator(".jp-xtrack-title").inner_text(), what="run 2")
    assert detail.locator(".jp-xtrack-warning").count() == 0


def test_compare_marks_each_runs_params(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    select_runs(page, [1, 2])
    page.locator(f"{SIDEBAR} button", has_text="Compare (2)").click()
    table = page.locator(f"{SIDEBAR} table.jp-xtrack-compare[data-section='params']")
    lr = table.locator("tr[data-key='lr'] td")
    wait_for(lambda: lr.count() == 2, what="the lr row")
    assert lr.nth(0).locator(".jp-xtrack-mark").inner_text().strip() == "↻ varies"
    assert lr.nth(1).locator(".jp-xtrack-mark").count() == 0
    init = table.locator("tr[data-key='init'] td")
    assert init.nth(1).locator(".jp-xtrack-mark").inner_text().strip() == "(digest)"
    assert "digest" in (init.nth(1).locator(".jp-xtrack-mark").get_attribute("title") or "")
    table.scroll_into_view_if_needed()
    both_themes(page, "marks-3-compare")
