"""The runs sidebar's other views in a real JupyterLab and Chromium: grouping by experiment
and by notebook, columns remembered across a reload, parallel coordinates in the compare
view, opening a run's notebook at its cell, the keyboard, the dark theme, and the error
states (no store, a damaged store, a server error) with their recovery.

Stores are filled through the Python API (these tests are not about tracking). The views
tests share one server and one page and run in file order; the error tests have a server
of their own, since they break its store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .sidebar_page import (
    ROWS,
    SIDEBAR,
    STORE_RUNS,
    back_to_runs,
    choose_columns,
    colours_of,
    column_choices,
    computed_colours,
    contrast,
    fill_store,
    group_headers,
    header_texts,
    luminance,
    open_from_tab,
    row,
    run_numbers,
    select_runs,
    set_group_by,
    use_theme,
    wait_for,
)

NUMBER = {name: i + 1 for i, (name, *_rest) in enumerate(STORE_RUNS)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server whose store holds STORE_RUNS, and the notebooks they came from."""
    tmp = tmp_path_factory.mktemp("views")
    fill_store(tmp / "store", tmp / "lab-root")
    with running_server("lab", tmp) as srv:
        srv.write_notebook(
            "explore.ipynb",
            *[f"# cell of {name}\nacc = 0.{i}" for i, (name, *_r) in enumerate(STORE_RUNS[:2])],
            "print('the end')",
        )
        nb = srv.read_notebook("explore.ipynb")
        # The ids the runs recorded, so "open at its cell" has a cell to find.
        for cell, (name, *_r) in zip(nb["cells"], STORE_RUNS[:2], strict=False):
            cell["id"] = f"cell-{name}"
        (srv.root / "explore.ipynb").write_text(json.dumps(nb))
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    """One page for the views tests, JupyterLab loaded and the sidebar shown."""
    with browser_page(browser, 20_000) as pg:
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        wait_for(lambda: len(run_numbers(pg)) == len(STORE_RUNS), what="every run listed")
        yield pg


def test_group_by_experiment_and_by_notebook(lab: Any) -> None:
    page = lab
    set_group_by(page, "by experiment")
    # One heading per experiment, with its run count, in the order the groups come.
    wait_for(lambda: group_headers(page) == [("baseline", 2), ("default", 1), ("sweep", 4)],
             what=f"experiment headings, got {group_headers(page)}")
    # The runs sit under their heading: the table is ordered by experiment.
    assert run_numbers(page)[:3] == [NUMBER["base-b"], NUMBER["base-a"], NUMBER["scratch"]]
    assert sorted(run_numbers(page)[3:]) == [3, 4, 5, 6]
    screenshot(page, "views-1-group-experiment")
    set_group_by(page, "by notebook")
    wait_for(lambda: [("", 0), *group_headers(page)][-1][0] == "(none)",
             what=f"notebook headings, got {group_headers(page)}")
    headings = group_headers(page)
    assert [(Path(label).name, n) for label, n in headings[:2]] == [
        ("explore.ipynb", 2), ("sweep.ipynb", 4)]
    assert headings[2] == ("(none)", 1)
    screenshot(page, "views-2-group-notebook")
    set_group_by(page, "no grouping")
    wait_for(lambda: "notebook" not in header_texts(page), what="the group column gone")
    assert group_headers(page) == []
    # The ungrouped rows come with the next page of the query: wait for them (on a busy
    # machine the column goes before the rows are drawn again).
    newest_first = list(range(len(STORE_RUNS), 0, -1))
    wait_for(lambda: run_numbers(page) == newest_first,
             what=f"every run, newest first, got {run_numbers(page)}")


def test_chosen_columns_survive_a_reload_in_their_order(lab: Any, server: JupyterServer) -> None:
    page = lab
    back_to_runs(page)
    set_group_by(page, "no grouping")
    offered = column_choices(page)
    assert {"params.lr", "params.depth", "params.opt", "metrics.acc", "metrics.loss",
            "tags.team"} <= set(offered)
    # Chosen in this order: the table shows them in this order, not alphabetically.
    choose_columns(page, ["metrics.acc", "params.opt", "params.depth"])
    assert header_texts(page)[:6] == ["", "#", "name", "status", "started", "duration"]
    wait_for(lambda: header_texts(page)[6:] == ["metrics.acc", "params.opt", "params.depth"],
             what=f"chosen columns shown, got {header_texts(page)}")
    assert row(page, NUMBER["sweep-2"]).locator(".jp-xtrack-cell").nth(6).inner_text() == "0.88"
    page.reload()
    open_from_tab(page)
    wait_for(lambda: len(run_numbers(page)) == len(STORE_RUNS), what="rows after the reload")
    wait_for(lambda: header_texts(page)[6:] == ["metrics.acc", "params.opt", "params.depth"],
             what=f"columns remembered, got {header_texts(page)}")
    # Every column can still be chosen after the reload, not only the remembered ones.
    assert set(column_choices(page)) == set(offered)
    body = page.locator(f"{SIDEBAR} .jp-xtrack-body")
    # Scrolled so the chosen columns are in view beside the pinned run number.
    body.evaluate("b => { const acc = [...b.querySelectorAll('.jp-xtrack-sort')]"
                  ".find(h => h.textContent.startsWith('metrics.acc')); b.scrollLeft = acc.offsetLeft - 88; }")
    screenshot(page, "views-3-columns-remembered")
    body.evaluate("b => { b.scrollLeft = 0; }")
    settings = server.root.parent / "settings" / "jupyter-xtrack" / "plugin.jupyterlab-settings"
    assert "params.depth" in settings.read_text()
    # The last chosen column cannot be unticked (no choice means the defaults); a button
    # goes back to the defaults: what differs between the runs (metrics first), never the
    # tag every run has.
    choose_columns(page, ["params.lr"])
    wait_for(lambda: header_texts(page)[6:] == ["params.lr"], what="one column chosen")
    chooser = page.locator(f"{SIDEBAR} details.jp-xtrack-columns")
    chooser.locator("summary").click()
    assert chooser.locator("label", has_text="params.lr").locator("input").is_disabled()
    chooser.locator("button", has_text="default columns").click()
    wait_for(lambda: header_texts(page)[6:] == ["metrics.acc", "metrics.loss", "params.depth",
                                                 "params.lr", "params.opt"],
             what=f"default columns, got {header_texts(page)}")
    chooser.locator("summary").click()
    wait_for(lambda: re.search(r'"columns":\s*\[\s*\]', settings.read_text()) is not None,
             what="defaults remembered")


def test_parallel_coordinates(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    set_group_by(page, "no grouping")
    runs = ["sweep-1", "sweep-2", "sweep-3", "sweep-4", "base-a"]
    select_runs(page, [NUMBER[r] for r in runs])
    page.locator(f"{SIDEBAR} button", has_text="Compare (5)").click()
    view = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    chart = view.locator("svg[aria-label='parallel coordinates']")
    chart.wait_for()
    # The charted metric first (so it is on screen however many params follow), then one
    # axis per numeric param that differs (opt is text).
    wait_for(lambda: chart.get_attribute("data-axes") == "loss,depth,lr",
             what=f"axes loss, depth, lr; got {chart.get_attribute('data-axes')}")
    lines = chart.locator("polyline")
    assert lines.count() == len(runs)
    assert sorted((ln.locator("title").text_content() or "").split(" · ")[0]
                  for ln in lines.all()) == sorted(f"#{NUMBER[r]} {r}" for r in runs)
    # Every line crosses every axis.
    before = [ln.get_attribute("points") or "" for ln in lines.all()]
    assert all(len(p.split()) == 3 for p in before)
    # The metric's axis is in the sidebar's view, not scrolled out of sight.
    first_axis = chart.locator("g[data-axis='loss'] line.jp-xtrack-pc-axis").bounding_box()
    box = view.bounding_box()
    assert box["x"] <= first_axis["x"] <= box["x"] + box["width"] - 10
    assert "coloured by loss" in view.locator(".jp-xtrack-pc-key").inner_text()
    screenshot(page, "views-4-parallel-coordinates")
    # Another axis from the chooser: acc joins at the end, every line crosses it too.
    chooser = view.locator(".jp-xtrack-pc details.jp-xtrack-panels")
    chooser.locator("summary").click()
    chooser.locator("label", has_text="acc").locator("input").check()
    wait_for(lambda: chart.get_attribute("data-axes") == "loss,depth,lr,acc", what="acc axis")
    chooser.locator("summary").click()
    after = [ln.get_attribute("points") or "" for ln in lines.all()]
    assert all(len(p.split()) == 4 for p in after)
    # The best run (sweep-2, acc 0.88) meets the top of the acc axis.
    best = chart.locator("polyline", has=page.locator("title", has_text="sweep-2"))
    top_y = float((best.get_attribute("points") or "").split()[-1].split(",")[1])
    axis_top = float(chart.locator("g[data-axis='acc'] line.jp-xtrack-pc-axis").get_attribute("y1") or -1)
    assert top_y == pytest.approx(axis_top, abs=0.5)
    screenshot(page, "views-5-parallel-coordinates-acc")


def test_open_notebook_at_the_runs_cell(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    row(page, NUMBER["base-b"]).locator(".jp-xtrack-col-value").first.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    link = detail.locator("button", has_text="Open explore.ipynb at its cell")
    link.click()
    notebook = page.locator("#jp-main-dock-panel .jp-NotebookPanel:visible")
    notebook.wait_for()
    active = notebook.locator(".jp-Cell.jp-mod-active")
    wait_for(lambda: "# cell of base-b" in active.inner_text(), what="base-b's cell active")
    assert notebook.locator(".jp-Cell").nth(1).evaluate(
        "c => c.classList.contains('jp-mod-active')")
    screenshot(page, "views-6-notebook-at-cell")


def test_keyboard(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    set_group_by(page, "no grouping")
    select_runs(page, [])
    first = page.locator(f"{ROWS}[data-index='0']")
    first.focus()
    focused = "() => document.activeElement?.getAttribute('data-run')"
    assert page.evaluate(focused) == str(len(STORE_RUNS))
    page.keyboard.press("ArrowDown")
    wait_for(lambda: page.evaluate(focused) == str(len(STORE_RUNS) - 1), what="next row focused")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    wait_for(lambda: page.evaluate(focused) == str(len(STORE_RUNS) - 1), what="back up one")
    page.keyboard.press("Space")
    wait_for(lambda: "jp-mod-selected" in (
        row(page, len(STORE_RUNS) - 1).get_attribute("class") or ""), what="Space selects")
    assert "1 selected" in page.locator(f"{SIDEBAR} .jp-xtrack-footer").inner_text()
    page.keyboard.press("Space")
    wait_for(lambda: "selected" not in page.locator(f"{SIDEBAR} .jp-xtrack-footer").inner_text(),
             what="Space again unselects")
    page.keyboard.press("Enter")
    title = page.locator(f"{SIDEBAR} .jp-xtrack-detail .jp-xtrack-title")
    wait_for(lambda: title.count() == 1 and title.inner_text().startswith(
        f"#{len(STORE_RUNS) - 1} "), what="the focused run opened")
    # Back in the table, the keyboard picks up where it left off.
    page.locator(f"{SIDEBAR} button", has_text="← Runs").press("Enter")
    wait_for(lambda: page.evaluate(focused) == str(len(STORE_RUNS) - 1),
             what="focus back on the opened run")


def _dark(colour: str) -> bool:
    return luminance(colour) < 0.2


def test_dark_theme(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    light = computed_colours(page)
    assert not _dark(light["panel"]["background"]) and _dark(light["panel"]["color"])
    use_theme(page, "JupyterLab Dark")
    wait_for(lambda: page.evaluate("() => document.body.dataset.jpThemeLight") == "false",
             what="dark theme applied")
    page.locator("#jupyterlab-splash").wait_for(state="detached")
    wait_for(lambda: _dark(computed_colours(page)["panel"]["background"]), what="panel dark")
    dark = computed_colours(page)
    # Everything the panel paints follows the theme: backgrounds dark, text light.
    for part in ("panel", "header", "row", "filter"):
        assert _dark(dark[part]["background"]), (part, dark[part])
        assert not _dark(dark[part]["color"]), (part, dark[part])
        assert dark[part] != light[part], part
    # ...and matches the theme's own variables rather than a colour of ours.
    assert dark["panel"]["background"] == dark["theme"]["layout1"]
    # A selected row stays readable (the theme's pale selection shade would not be).
    select_runs(page, [NUMBER["sweep-2"]])
    selected = colours_of(page, f"{ROWS}.jp-mod-selected .jp-xtrack-col-value")
    selected_bg = colours_of(page, f"{ROWS}.jp-mod-selected")["background"]
    assert contrast(selected["color"], selected_bg) >= 4.5, (selected, selected_bg)
    screenshot(page, "views-7-dark-runs")
    row(page, NUMBER["sweep-2"]).locator(".jp-xtrack-col-value").first.click()
    page.locator(f"{SIDEBAR} figure.jp-xtrack-figure").first.wait_for()
    screenshot(page, "views-8-dark-detail")
    back_to_runs(page)
    select_runs(page, [NUMBER["sweep-1"], NUMBER["sweep-2"], NUMBER["sweep-3"], NUMBER["sweep-4"]])
    page.locator(f"{SIDEBAR} button", has_text="Compare (4)").click()
    page.locator(f"{SIDEBAR} svg[aria-label='parallel coordinates']").wait_for()
    # The cells that differ between runs are tinted, and their text still reads.
    differs = colours_of(page, f"{SIDEBAR} tr.jp-xtrack-differs td")
    assert _dark(differs["background"]) and contrast(differs["color"], differs["background"]) >= 4.5
    screenshot(page, "views-9-dark-compare")
    use_theme(page, "JupyterLab Light")
    wait_for(lambda: not _dark(computed_colours(page)["panel"]["background"]), what="light again")


# -- error states: a server of their own -------------------------------------------------
@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server with no store yet."""
    with running_server("lab", tmp_path_factory.mktemp("errors")) as srv:
        yield srv


@pytest.fixture(scope="module")
def bare_lab(browser: Any, bare_server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 20_000) as pg:
        yield pg


def _load(page: Any, server: JupyterServer) -> None:
    page.goto(server.url("lab?reset"))
    page.locator("#jp-main-dock-panel").wait_for()
    open_from_tab(page)


def test_damaged_store_is_reported_and_recovers(bare_lab: Any, bare_server: JupyterServer) -> None:
    page = bare_lab
    store = bare_server.root.parent / "store"
    _load(page, bare_server)
    empty = page.locator(f"{SIDEBAR} .jp-xtrack-empty")
    wait_for(lambda: "No runs yet" in empty.inner_text(), what="the no-store state")
    store.mkdir()
    (store / "xtrack.db").write_bytes(b"not a database at all " * 200)
    _load(page, bare_server)
    alert = page.locator(f"{SIDEBAR} .jp-xtrack-runs [role=alert]")
    alert.wait_for()
    text = alert.inner_text()
    # What is wrong, which file, and what to do about it.
    assert "cannot be read" in text and "damaged or unreadable" in text
    assert str(store / "xtrack.db") in text and "move" in text
    assert empty.count() == 0 and len(run_numbers(page)) == 0
    # The live-updates banner says what failed in one line; the table says the rest.
    banner = page.locator(f"{SIDEBAR} .jp-xtrack-feed-error")
    wait_for(lambda: banner.count() == 1, what="the live-updates banner")
    assert banner.inner_text().startswith("Live updates paused (the run store cannot be read)")
    assert str(store) not in banner.inner_text() and "\n" not in banner.inner_text().strip()
    screenshot(page, "views-10-damaged-store")
    # The user does what the message says; the panel picks the new store up by itself.
    (store / "xtrack.db").rename(store / "xtrack.db.damaged")
    fill_store(store, bare_server.root)
    wait_for(lambda: len(run_numbers(page)) == len(STORE_RUNS), timeout_s=40,
             what="runs of the fresh store listed")
    assert alert.count() == 0
    wait_for(lambda: banner.count() == 0, what="the banner gone once the feed answers")


def test_server_error_is_shown_and_retried(bare_lab: Any, bare_server: JupyterServer) -> None:
    page = bare_lab  # the store the test before left working

    def fail(route: Any) -> None:
        route.fulfill(status=500, content_type="application/json",
                      body=json.dumps({"message": "internal error in the xtrack server "
                                       "extension; see the server log", "reason": "internal"}))

    page.route("**/xtrack/api/runs?*", fail)
    _load(page, bare_server)
    alert = page.locator(f"{SIDEBAR} .jp-xtrack-runs [role=alert]")
    alert.wait_for()
    assert "internal error in the xtrack server extension; see the server log" in alert.inner_text()
    assert "Loading" not in page.locator(f"{SIDEBAR} .jp-xtrack-body").inner_text()
    screenshot(page, "views-11-server-error")
    page.unroute("**/xtrack/api/runs?*", fail)
    alert.locator("button", has_text="Retry").click()
    wait_for(lambda: len(run_numbers(page)) == len(STORE_RUNS), what="rows after the retry")
    assert alert.count() == 0
