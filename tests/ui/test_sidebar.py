"""The runs sidebar in a real JupyterLab and Chromium: tracked cells executed through the
notebook UI appear in the sidebar live (the change feed, no reload); filtering with an
inline error for a bad filter; a run's detail; comparing two runs; the notebook diff; the
narrow table scrolls sideways with the run number kept in view.

The tests share one server (its own store, so counts are exact) and one page, and build on
each other in file order: the first one tracks the runs the others look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .notebook_page import open_notebook, run_cell, wait_cell_done
from .sidebar_page import (
    MAIN_DOCK,
    SIDEBAR,
    back_to_runs,
    cell_texts,
    close_main_tab,
    header_texts,
    main_tabs,
    open_from_palette,
    row,
    run_numbers,
    set_filter,
    wait_for,
)

NOTEBOOK = "sidebar.ipynb"


def tracked(name: str, lr: float, extra: str = "") -> str:
    return (
        f"%%track --name {name} --experiment sidebar\n"
        f"lr = {lr}\n"
        "import jupyter_xtrack as xt\n"
        f"{extra}"
        "for s in range(20):\n"
        f"    xt.log(step=s, loss=lr * 10 / (s + 1))\n"
        "xt.log(acc=1 - lr)\n"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server of its own: its store holds only the runs these tests track."""
    with running_server("lab", tmp_path_factory.mktemp("sidebar")) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    """One page for the whole file, the notebook open and the sidebar not yet shown."""
    with browser_page(browser) as pg:
        server.write_notebook(
            NOTEBOOK,
            "%load_ext jupyter_xtrack",
            tracked("first", 0.1),
            tracked("second", 0.3, extra="momentum = 0.9\n"),
        )
        open_notebook(pg, server, NOTEBOOK)
        yield pg


def test_tracked_cells_appear_live(lab: Any, server: JupyterServer) -> None:
    page = lab
    open_from_palette(page)
    empty = page.locator(f"{SIDEBAR} .jp-xtrack-empty")
    wait_for(lambda: "No runs yet" in empty.inner_text(), what="the no-store empty state")
    screenshot(page, "sidebar-0-empty")
    for i in range(3):
        run_cell(page, i)
        wait_cell_done(page, i)
    # Nothing reloads the page or the panel: the rows come from the change feed.
    wait_for(lambda: run_numbers(page) == [2, 1], what="both runs listed, newest first")
    # The runs' statuses follow them to the end (each is stored once the kernel is quiet),
    # still without a reload. (A row being re-rendered may briefly have no cells: padded so
    # the poll just retries.)
    wait_for(lambda: [*cell_texts(page, 1), "", "", "", ""][1:4] == ["#1", "first", "finished"],
             what="run 1 shown finished")
    wait_for(lambda: [*cell_texts(page, 2), "", "", "", ""][3] == "finished",
             what="run 2 shown finished")
    assert "2 runs" in page.locator(f"{SIDEBAR} .jp-xtrack-footer").inner_text()
    screenshot(page, "sidebar-1-runs")


def test_filter_with_inline_error(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    set_filter(page, "metrics.acc >")
    error = page.locator(f"{SIDEBAR} .jp-xtrack-filter-error")
    error.wait_for()
    text = error.inner_text()
    assert "metrics.acc >" in text and "^" in text
    screenshot(page, "sidebar-2-filter-error")
    set_filter(page, "params.lr > 0.2")
    wait_for(lambda: run_numbers(page) == [2] and error.count() == 0, what="one run matches")
    set_filter(page, "")
    wait_for(lambda: run_numbers(page) == [2, 1], what="filter cleared")


def test_narrow_table_scrolls_sideways_keeping_the_run_number(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    body = page.locator(f"{SIDEBAR} .jp-xtrack-body")
    assert body.evaluate("b => b.scrollWidth > b.clientWidth + 100"), "all columns squeezed in"
    # The default columns after status: the params and metrics whose values differ, with
    # their prefix (params.lr and metrics.lr would be two columns).
    assert header_texts(page)[:6] == ["", "#", "name", "status", "started", "duration"]
    headers = header_texts(page)
    assert {"params.lr", "metrics.acc", "metrics.loss"} <= set(headers), headers
    number = row(page, 1).locator(".jp-xtrack-col-number")
    x_before = number.bounding_box()["x"]
    body.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    wait_for(lambda: body.evaluate("b => b.scrollLeft") > 0, what="scrolled sideways")
    page.wait_for_timeout(200)
    # The run number stays where it was; the last column has come into view.
    assert abs(number.bounding_box()["x"] - x_before) < 1
    assert number.inner_text() == "#1"
    last = page.locator(f"{SIDEBAR} .jp-xtrack-header .jp-xtrack-sort").last
    lbox, bbox = last.bounding_box(), body.bounding_box()
    assert bbox["x"] <= lbox["x"] and lbox["x"] + lbox["width"] <= bbox["x"] + bbox["width"] + 1
    screenshot(page, "sidebar-1b-scrolled")
    body.evaluate("b => { b.scrollLeft = 0; }")


def test_run_detail(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    row(page, 1).locator(".jp-xtrack-col-value").first.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    detail.wait_for()
    assert detail.locator(".jp-xtrack-title").inner_text() == "#1 first"
    assert "lr = 0.1" in detail.locator(".jp-xtrack-code").first.inner_text()
    # The loss history is one line drawn by the chart module, every logged step on it.
    chart = detail.locator("figure.jp-xtrack-figure[data-metric='loss'] .xt-uchart")
    chart.wait_for()
    wait_for(lambda: chart.get_attribute("data-series") == "1", what="one loss line")
    assert chart.get_attribute("data-points") == "20"
    screenshot(page, "sidebar-3-detail")


def test_compare_two_runs(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    compare = page.locator(f"{SIDEBAR} button", has_text="Compare")
    assert compare.is_disabled()
    for n in (1, 2):
        row(page, n).locator("input[type=checkbox]").check()
    wait_for(compare.is_enabled, what="compare enabled with two selected")
    compare.click()
    view = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    view.locator(".jp-xtrack-title", has_text="Compare 2 runs").wait_for()
    lr_row = view.locator("tr.jp-xtrack-differs", has=page.locator("th", has_text="lr"))
    lr_row.first.wait_for()
    # Overlaid histories of the metric logged step by step (not the one-point "acc"): one
    # drawn line per run on the one chart, the panel the server found worth charting.
    chart = view.locator(".jp-xtrack-panel[data-metric='loss'] .xt-uchart")
    chart.wait_for()
    wait_for(lambda: chart.get_attribute("data-series") == "2", what="two lines")
    assert chart.get_attribute("data-x") == "step"
    assert chart.get_attribute("data-points") == "40"
    # The chart fits the sidebar instead of running off its right edge.
    assert chart.bounding_box()["width"] <= view.bounding_box()["width"]
    screenshot(page, "sidebar-4-compare")


def test_notebook_diff(lab: Any) -> None:
    page = lab
    view = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    view.locator("summary", has_text="Notebook diff").click()
    view.locator("button", has_text="executed lineage").click()
    # nbdime's side-by-side diff opens in a main-area tab, where it has room; the sidebar
    # keeps only a one-line summary (the second run's extra cell is the change).
    title = "Diff #1 → #2 (lineage)"
    tab = main_tabs(page, title)
    tab.wait_for()
    assert "lm-mod-current" in (tab.get_attribute("class") or ""), "the diff tab is not in front"
    panel = page.locator(f"{MAIN_DOCK} .jp-xtrack-diff-tab")
    panel.wait_for(state="visible")
    diff = panel.locator(".jp-xtrack-nbdime")
    diff.locator(".jp-Diff-added").first.wait_for()
    wait_for(lambda: "momentum = 0.9" in diff.inner_text(), what="the added cell's source")
    assert diff.bounding_box()["width"] > 2 * page.locator(SIDEBAR).bounding_box()["width"]
    assert page.locator(f"{SIDEBAR} .jp-xtrack-nbdime").count() == 0
    summary = view.locator(".jp-xtrack-nbdiff-summary")
    assert "added" in summary.inner_text()
    diff.locator(".jp-Diff-added").first.scroll_into_view_if_needed()
    screenshot(page, "sidebar-5-notebook-diff")
    # Asking again brings the same tab forward instead of opening a second one.
    summary.locator("button", has_text="open diff tab").click()
    wait_for(lambda: main_tabs(page, title).count() == 1, what="still one diff tab")
    # Its close button removes it; the sidebar's button opens it again.
    close_main_tab(page, title)
    assert panel.count() == 0
    summary.locator("button", has_text="open diff tab").click()
    main_tabs(page, title).wait_for()
    panel.locator(".jp-xtrack-nbdime .jp-Diff-added").first.wait_for()
