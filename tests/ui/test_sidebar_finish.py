"""The last parts of the sidebar (issue 13) in a real JupyterLab and Chromium: the run that
produced each in-memory dataset, Compare's best value when a metric's name says no
direction, the run detail's panel list, and trials nested under their parent with a filter.

Each failed before: the Data section had no producer, a metric such as `score` or `mystery`
got no best mark, the run detail charted every metric with no chooser, and a filter listed
matched trials flat (marked ↳) without their sweep."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .sidebar_page import (
    SIDEBAR,
    back_to_runs,
    open_from_tab,
    row,
    run_numbers,
    select_runs,
    set_filter,
    sidebar_width,
    use_theme,
    wait_for,
)

DF = "xxh3_128:" + "ab" * 16
Y = "xxh3_128:" + "cd" * 16
SCORES = (0.3, 0.4, 0.9)  # the sweep minimises score: trial #2 is best
MYSTERY = (5.0, 7.0, 6.0)  # nothing says which way is better


def _frame(name: str, digest: str) -> dict[str, Any]:
    return {"name": name, "kind": "DataFrame", "shape": [100, 4], "hash": digest, "bytes": 3200}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """#1 a sweep minimising `score` (as loop.py records it) with trials #2-#4, each with a
    `loss` and an `acc` history; #5 loads `df`; #6 reads it unchanged and makes `y`."""
    from jupyter_xtrack.store import open_store

    tmp = tmp_path_factory.mktemp("finish")
    t0 = time.time() - 3600
    with open_store(tmp / "store") as store:
        parent, _ = store.create_run(name="search", experiment="tune", kind="sweep", started_at=t0)
        store.set_params(parent, {"sweep.metric": "score", "sweep.direction": "minimize"})
        store.set_tags(parent, {"xtrack.sweep.direction": "minimize"})
        store.finish_run(parent, status="finished", ended_at=t0 + 50)
        for i, (score, mystery) in enumerate(zip(SCORES, MYSTERY, strict=True)):
            rid, _ = store.create_run(
                name=f"trial-{i}",
                experiment="tune",
                kind="trial",
                parent_id=parent,
                started_at=t0 + 60 * i,
            )
            store.log_metrics(
                [(rid, "loss", (1 + i) / (s + 1), s, t0 + 60 * i + s) for s in range(20)]
                + [(rid, "acc", 0.5 + s / 40, s, t0 + 60 * i + s) for s in range(20)]
                + [(rid, "score", score, None, t0), (rid, "mystery", mystery, None, t0)]
            )
            store.finish_run(rid, status="finished", ended_at=t0 + 60 * i + 30)
        for name, frames in (
            ("load", [_frame("df", DF)]),
            ("features", [_frame("y", Y), _frame("df", DF)]),
        ):
            rid, _ = store.create_run(name=name, experiment="data", started_at=time.time())
            store.set_facts(rid, datasets=frames)
            store.finish_run(rid, status="finished", ended_at=time.time())
    with running_server("lab", tmp) as srv:
        yield srv


@pytest.fixture
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 20_000) as pg:
        pg.set_viewport_size({"width": 1300, "height": 950})
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        sidebar_width(pg, 640)  # room for the Data table's producer column in screenshots
        wait_for(lambda: run_numbers(pg) == [6, 5, 1], what="the roots listed")
        yield pg


def _themes(page: Any, name: str) -> None:
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        use_theme(page, theme)
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        page.wait_for_timeout(400)
        screenshot(page, f"{name}-{'dark' if 'Dark' in theme else 'light'}")
    use_theme(page, "JupyterLab Light")


def _settings_text(server: JupyterServer) -> str:
    path = server.root.parent / "settings" / "jupyter-xtrack" / "plugin.jupyterlab-settings"
    return path.read_text() if path.exists() else ""


def test_a_dataset_links_to_the_run_that_produced_it(lab: Any) -> None:
    row(lab, 6).click()
    data = lab.locator(f"{SIDEBAR} details[data-section='data']")
    df = data.locator("tr[data-dataset='df']")
    df.wait_for()
    link = df.locator("button", has_text="produced by #5 load")
    assert link.count() == 1
    # y was made by #6 itself: no producer to link
    assert data.locator("tr[data-dataset='y'] button").count() == 0
    _themes(lab, "finish-1-dataset-producer")
    link.click()
    title = lab.locator(f"{SIDEBAR} .jp-xtrack-detail .jp-xtrack-title")
    wait_for(lambda: title.inner_text() == "#5 load", what="run #5 opened")


def _compare_trials(page: Any) -> Any:
    page.locator(f"{SIDEBAR} .jp-xtrack-row[data-run='1'] button.jp-xtrack-twisty").click()
    wait_for(lambda: run_numbers(page) == [6, 5, 1, 2, 3, 4], what="trials under the sweep")
    select_runs(page, [2, 3, 4])
    page.locator(f"{SIDEBAR} button", has_text="Compare (3)").click()
    metrics = page.locator(f"{SIDEBAR} table.jp-xtrack-compare[data-section='metrics']")
    metrics.wait_for()
    return metrics


def _best(metrics: Any, key: str) -> list[bool]:
    cells = metrics.locator(f"tr[data-key='{key}'] td")
    return ["jp-xtrack-best" in (c.get_attribute("class") or "") for c in cells.all()]


def test_best_value_follows_the_search_or_the_users_direction(
    lab: Any, server: JupyterServer
) -> None:
    metrics = _compare_trials(lab)
    # score: the sweep recorded "minimize", so the lowest (trial-0, #2) is best
    wait_for(lambda: _best(metrics, "score") == [True, False, False], what="score marked")
    assert metrics.locator("tr[data-key='score'] button.jp-xtrack-direction").count() == 0
    # mystery: no direction known, no mark until the user says lower is better
    assert _best(metrics, "mystery") == [False, False, False]
    lower = metrics.locator("tr[data-key='mystery'] button[aria-label='mystery: lower is better']")
    lower.click()
    wait_for(lambda: _best(metrics, "mystery") == [True, False, False], what="mystery marked")
    assert lower.get_attribute("aria-pressed") == "true"
    wait_for(
        lambda: re.search(r'"mystery":\s*"minimize"', _settings_text(server)) is not None,
        what="direction remembered",
    )
    _themes(lab, "finish-2-compare-direction")
    # remembered: a new page (the settings registry) marks it again at once
    lab.reload()
    lab.locator("#jp-main-dock-panel").wait_for()
    open_from_tab(lab)
    wait_for(lambda: 1 in run_numbers(lab), what="table again")
    metrics = _compare_trials(lab)
    wait_for(lambda: _best(metrics, "mystery") == [True, False, False], what="still marked")
    # pressed again, the choice is removed
    metrics.locator("tr[data-key='mystery'] button[aria-label='mystery: lower is better']").click()
    wait_for(lambda: _best(metrics, "mystery") == [False, False, False], what="mark removed")


def test_run_detail_charts_have_the_panel_list(lab: Any, server: JupyterServer) -> None:
    lab.locator(f"{SIDEBAR} .jp-xtrack-row[data-run='1'] button.jp-xtrack-twisty").click()
    wait_for(lambda: 2 in run_numbers(lab), what="trials listed")
    row(lab, 3).click()
    section = lab.locator(f"{SIDEBAR} details[data-section='metrics']")
    panels = section.locator(".jp-xtrack-panel[data-metric]")
    wait_for(lambda: panels.count() == 2, what="both histories charted")
    section.locator(".jp-xtrack-panel[data-metric='loss'] .xt-uchart").wait_for()
    chooser = section.locator("details.jp-xtrack-panels")
    chooser.locator("summary").click()
    # score and mystery have one value each: offered, not charted until picked
    assert "2 of 4 metrics" in chooser.locator("summary").inner_text()
    chooser.locator("label", has_text="acc").locator("input").uncheck()
    wait_for(
        lambda: [p.get_attribute("data-metric") for p in panels.all()] == ["loss"],
        what="acc's panel removed",
    )
    wait_for(
        lambda: re.search(r'"tune":\s*\[\s*"loss"\s*\]', _settings_text(server)) is not None,
        what="panels remembered for experiment tune",
    )
    _themes(lab, "finish-3-run-detail-panels")
    # another run of the experiment shows the same choice
    back_to_runs(lab)
    row(lab, 4).click()
    section.locator(".jp-xtrack-panel[data-metric='loss'] .xt-uchart").wait_for()
    assert [p.get_attribute("data-metric") for p in panels.all()] == ["loss"]
    # ticked again, it comes back (and the other experiment's runs are left alone)
    chooser.locator("summary").click()
    chooser.locator("label", has_text="acc").locator("input").check()
    wait_for(lambda: panels.count() == 2, what="acc charted again")


def test_a_filter_keeps_matched_trials_under_their_parent(lab: Any) -> None:
    set_filter(lab, "metrics.score < 0.5")
    # the sweep (#1) has no score: listed as context, open onto its matching trials
    wait_for(lambda: run_numbers(lab) == [1, 2, 3], what="trials nested under the sweep")
    parent = row(lab, 1)
    assert "jp-xtrack-context" in (parent.get_attribute("class") or "")
    assert parent.locator(".jp-xtrack-context-mark").count() == 1
    assert parent.get_attribute("aria-expanded") == "true"
    for n in (2, 3):
        assert "jp-xtrack-child" in (row(lab, n).get_attribute("class") or "")
    opacity = parent.locator(".jp-xtrack-col-value").first.evaluate(
        "el => getComputedStyle(el).opacity"
    )
    assert float(opacity) < 1
    footer = lab.locator(f"{SIDEBAR} .jp-xtrack-footer").inner_text()
    assert footer.startswith("2 runs"), footer  # the trials matched, not their sweep
    _themes(lab, "finish-4-filter-nested")
    # collapse and expand as without a filter
    twisty = parent.locator("button.jp-xtrack-twisty")
    twisty.click()
    wait_for(lambda: run_numbers(lab) == [1], what="collapsed")
    twisty.click()
    wait_for(lambda: run_numbers(lab) == [1, 2, 3], what="expanded again")
    # a filter the parent matches too: no context mark, open onto its matching trials
    set_filter(lab, "experiment = 'tune'")
    wait_for(lambda: run_numbers(lab) == [1, 2, 3, 4], what="every trial under the sweep")
    assert row(lab, 1).locator(".jp-xtrack-context-mark").count() == 0
    row(lab, 1).locator("button.jp-xtrack-twisty").click()
    wait_for(lambda: run_numbers(lab) == [1], what="collapsed")
    # no filter: parents start closed again, as before
    set_filter(lab, "")
    wait_for(lambda: run_numbers(lab) == [6, 5, 1], what="the roots, closed")
