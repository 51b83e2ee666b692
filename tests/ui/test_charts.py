"""Compare's charts in a real JupyterLab and Chromium (issue 13, defects 7 and 8): metric
panels drawn by the shared chart module (uPlot) with hover values across runs, zoom and
reset, log y for a 1/step loss, smoothing, x as step or time, groups as a band, a panel list
remembered per experiment, single-step metrics as dots on a run axis; parallel coordinates
and a scatter with brushing, axis choice and order, log axes for a log-uniform `lr`;
deltas against a reference run and the best value marked.

Each assertion reads what the user sees or the chart's data attributes (the canvas has no
DOM); the old SVG charts had none of these controls, so every test here failed before."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .sidebar_page import (
    SIDEBAR,
    open_from_tab,
    run_numbers,
    select_runs,
    sidebar_width,
    use_theme,
    wait_for,
)

LRS = (1e-4, 1e-3, 1e-2, 1e-1)
ACCS = (0.62, 0.71, 0.93, 0.80)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A store with a sweep (space: lr log-uniform) and four trials, each a 200-step 1/step
    loss and one final acc."""
    from jupyter_xtrack.store import open_store

    tmp = tmp_path_factory.mktemp("charts")
    store = open_store(tmp / "store")
    t0 = time.time() - 3600
    try:
        parent, _ = store.create_run(name="search", experiment="tune", kind="sweep", started_at=t0)
        store.set_params(parent, {"sweep.space": "lr=loguniform(1e-4, 1e-1); depth=int(2, 8)"})
        store.finish_run(parent, status="finished", ended_at=t0 + 50)
        for i, (lr, acc) in enumerate(zip(LRS, ACCS, strict=True)):
            rid, _ = store.create_run(
                name=f"trial-{i}",
                experiment="tune",
                kind="trial",
                parent_id=parent,
                started_at=t0 + 60 * i,
            )
            store.set_params(rid, {"lr": lr, "depth": 2 + i})
            store.log_metrics(
                [(rid, "loss", (1 + i) / (s + 1), s, t0 + 60 * i + s) for s in range(200)]
                + [(rid, "acc", acc, None, t0 + 60 * i + 200)]
            )
            store.finish_run(rid, status="finished", ended_at=t0 + 60 * i + 201)
    finally:
        store.close()
    with running_server("lab", tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def narrow(browser: Any, server: JupyterServer) -> Iterator[Any]:
    """The sidebar comparing the four trials, at JupyterLab's default sidebar width."""
    with browser_page(browser, 20_000) as pg:
        pg.set_viewport_size({"width": 1400, "height": 1000})
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        # The trials are nested under their sweep (#1): opened to pick them.
        wait_for(lambda: run_numbers(pg) == [1], what="the sweep listed")
        pg.locator(f"{SIDEBAR} .jp-xtrack-row[data-run='1'] button.jp-xtrack-twisty").click()
        wait_for(lambda: len(run_numbers(pg)) == 5, what="every run listed")
        select_runs(pg, [2, 3, 4, 5])
        pg.locator(f"{SIDEBAR} button", has_text="Compare (4)").click()
        pg.locator(f"{SIDEBAR} .jp-xtrack-panel[data-metric='loss'] .xt-uchart").wait_for()
        yield pg


@pytest.fixture(scope="module")
def compare(narrow: Any) -> Any:
    """The same page, the sidebar widened for the charts as a user drags its edge."""
    sidebar_width(narrow, 720)
    wait_for(lambda: narrow.locator(SIDEBAR).bounding_box()["width"] > 600, what="widened")
    return narrow


# Elements of the Compare view reaching past the sidebar's right edge, outside the boxes
# that scroll sideways on their own (wide tables, parallel coordinates).
OVERFLOW_JS = """() => {
  const scroll = document.querySelector('#jupyter-xtrack-sidebar .jp-xtrack-detail .jp-xtrack-scroll');
  const right = scroll.getBoundingClientRect().left + scroll.clientWidth;
  const out = [...scroll.querySelectorAll('*')]
    .filter(el => !el.closest('.jp-xtrack-hscroll') && el.getBoundingClientRect().right > right + 1)
    .map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${Math.round(el.getBoundingClientRect().right - right)}px`);
  return {scrollWidth: scroll.scrollWidth, clientWidth: scroll.clientWidth, out: out.slice(0, 12)};
}"""


def test_compare_fits_the_default_width_sidebar(narrow: Any) -> None:
    """At the default width nothing in Compare pushes the view sideways: the panels'
    toolbar wraps, the charts take the box's width, the scatter scales down; only wide
    tables and the parallel coordinates scroll, each in its own box."""
    page = narrow
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        use_theme(page, theme)
        page.locator(f"{SIDEBAR} svg[aria-label='scatter']").wait_for()
        page.wait_for_timeout(300)
        got = page.evaluate(OVERFLOW_JS)
        assert got["scrollWidth"] <= got["clientWidth"] + 1 and not got["out"], got
        dark = "dark" if "Dark" in theme else "light"
        screenshot(page, f"charts-0-default-width-{dark}")
    use_theme(page, "JupyterLab Light")


def panel(page: Any, metric: str) -> Any:
    return page.locator(f"{SIDEBAR} .jp-xtrack-panel[data-metric='{metric}'] .xt-uchart")


def settled(page: Any, element: Any) -> None:
    """Wait until `element` stays put: a theme switch redraws the charts above it, which
    moves it for a moment (a drag or hover started meanwhile lands elsewhere)."""
    last: Any = None

    def still() -> bool:
        nonlocal last
        box = element.bounding_box()
        same = box == last
        last = box
        page.wait_for_timeout(150)
        return bool(same)

    wait_for(still, what="the layout settled")


def hover_at(page: Any, chart: Any, fraction: float) -> str:
    """Move the mouse over the plot at `fraction` of its width; the hover box's text. The
    move is repeated until the box shows: a chart redrawn meanwhile (a theme switch)
    never saw the first one."""
    tip = chart.locator(".xt-uchart-tip")

    def shown() -> bool:
        box = chart.locator(".u-over").bounding_box()
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        return bool(tip.is_visible())

    wait_for(shown, what="hover values")
    return str(tip.inner_text())


def test_loss_panel_hover_log_zoom_and_reset(compare: Any) -> None:
    page = compare
    chart = panel(page, "loss")
    # Four runs, every point drawn, on a log y (a 1/step loss spans two decades).
    wait_for(lambda: chart.get_attribute("data-series") == "4", what="4 runs charted")
    assert chart.get_attribute("data-points") == str(4 * 200)
    assert chart.get_attribute("data-log") == "y"
    assert chart.get_attribute("data-x") == "step"
    # Hover lists every run's value at that step, highest first.
    text = hover_at(page, chart, 0.5)
    head, *rows = text.strip().splitlines()
    assert head.startswith("step ")
    assert [r.split()[0] for r in rows] == ["#5", "#4", "#3", "#2"], rows
    # Drag to zoom on x; the left edge is then past step 0; reset zoom brings it back.
    over = chart.locator(".u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.9, y, steps=5)
    page.mouse.up()
    left = int(hover_at(page, chart, 0.01).splitlines()[0].split()[1].replace(",", ""))
    assert left >= 90, left
    page.locator(f"{SIDEBAR} .jp-xtrack-metric-panels button", has_text="reset zoom").click()
    assert hover_at(page, chart, 0.0).splitlines()[0] == "step 0"
    screenshot(page, "charts-1-loss-panel-hover")


def test_toolbar_smoothing_time_axis_and_groups(compare: Any) -> None:
    page = compare
    chart = panel(page, "loss")
    bar = page.locator(f"{SIDEBAR} .jp-xtrack-metric-panels > .jp-xtrack-chart-toolbar")
    bar.locator("input[aria-label='smoothing']").fill("0.9")
    wait_for(
        lambda: "smoothed 0.9" in chart.locator(".xt-uchart-note").inner_text(), what="smoothed"
    )
    bar.locator("select[aria-label='x axis']").select_option("relative")
    wait_for(lambda: chart.get_attribute("data-x") == "relative", what="time since start")
    bar.locator("select[aria-label='log y']").select_option("false")
    wait_for(lambda: chart.get_attribute("data-log") == "", what="linear y")
    # Grouped by experiment: one mean line with a min-max band.
    bar.locator("select[aria-label='group runs by']").select_option("experiment")
    wait_for(lambda: chart.get_attribute("data-series") == "1", what="one group")
    assert chart.get_attribute("data-bands") == "1"
    screenshot(page, "charts-2-grouped-band")
    bar.locator("select[aria-label='group runs by']").select_option("")
    bar.locator("input[aria-label='smoothing']").fill("0")
    bar.locator("select[aria-label='x axis']").select_option("step")
    bar.locator("select[aria-label='log y']").select_option("auto")
    wait_for(lambda: chart.get_attribute("data-series") == "4", what="runs again")


def test_every_metric_is_a_panel_choice_remembered_per_experiment(
    compare: Any, server: JupyterServer
) -> None:
    page = compare
    chooser = page.locator(f"{SIDEBAR} details.jp-xtrack-panels").first
    chooser.locator("summary").click()
    chooser.locator("input[aria-label='search metrics']").fill("ac")
    labels = chooser.locator(".jp-xtrack-panel-list label")
    assert [t.strip() for t in labels.all_inner_texts()] == ["acc"]
    labels.first.locator("input").check()
    acc = panel(page, "acc")
    acc.wait_for()
    # Logged once per run: one dot per run along a run axis, on a real y axis.
    wait_for(lambda: acc.get_attribute("data-x") == "run", what="runs along x")
    assert acc.get_attribute("data-points") == "4"
    settings = server.root.parent / "settings" / "jupyter-xtrack" / "plugin.jupyterlab-settings"
    wait_for(
        lambda: (
            settings.exists()
            and re.search(r'"tune":\s*\[\s*"loss",\s*"acc"\s*\]', settings.read_text()) is not None
        ),
        what="panels remembered for experiment tune",
    )
    chooser.locator("summary").click()
    screenshot(page, "charts-3-acc-dots")


def test_best_value_and_deltas_against_a_reference(compare: Any) -> None:
    page = compare
    metrics = page.locator(f"{SIDEBAR} table.jp-xtrack-compare[data-section='metrics']")
    acc = metrics.locator("tr[data-key='acc'] td")
    # acc is maximized: trial-2 (0.93) is the best; deltas are against the first run.
    wait_for(lambda: acc.count() == 4, what="acc row")
    best = [i for i in range(4) if "jp-xtrack-best" in (acc.nth(i).get_attribute("class") or "")]
    assert best == [2]
    assert acc.nth(2).locator(".jp-xtrack-delta").inner_text().strip() == "+0.31"
    # Another reference: the deltas follow it.
    metrics.locator("thead th button").nth(2).click()
    wait_for(
        lambda: "(ref)" in metrics.locator("thead th").nth(3).inner_text(), what="new reference"
    )
    assert acc.nth(0).locator(".jp-xtrack-delta").inner_text().strip() == "−0.31"
    loss = metrics.locator("tr[data-key='loss'] td")
    best_loss = [
        i for i in range(4) if "jp-xtrack-best" in (loss.nth(i).get_attribute("class") or "")
    ]
    assert best_loss == [0]  # the smallest final loss, minimized
    metrics.locator("thead th button").nth(0).click()


def brush_top_of_axis(page: Any, pc: Any, axis: str) -> None:
    """Drag along a parallel-coordinates axis from just under its middle past its top."""
    pc.scroll_into_view_if_needed()
    hit = pc.locator(f"g[data-axis='{axis}'] .jp-xtrack-pc-hit").bounding_box()
    x = hit["x"] + hit["width"] / 2
    page.mouse.move(x, hit["y"] + hit["height"] * 0.45)
    page.mouse.down()
    page.mouse.move(x, hit["y"] - 20, steps=5)  # past the top: up to the axis' maximum
    page.mouse.up()


def test_parallel_coordinates_log_axis_reorder_and_brush(compare: Any) -> None:
    page = compare
    pc = page.locator(f"{SIDEBAR} svg[aria-label='parallel coordinates']")
    pc.wait_for()
    # The colour metric first (always on screen), then the params; lr on a log axis.
    assert pc.get_attribute("data-axes") == "loss,depth,lr"
    assert " log" in (pc.locator("g[data-axis='lr'] .jp-xtrack-pc-title").text_content() or "")
    pc.locator("g[data-axis='depth'] [aria-label='move depth right']").click()
    wait_for(lambda: pc.get_attribute("data-axes") == "loss,lr,depth", what="depth moved right")
    # Brush the top half of lr (1e-2 and 1e-1 on a log axis): two runs kept, and Compare's
    # tables narrow to them (the reference run stays).
    brush_top_of_axis(page, pc, "lr")
    wait_for(
        lambda: pc.get_attribute("data-kept") == "2",
        what=f"two runs brushed, kept {pc.get_attribute('data-kept')}",
        timeout_s=5,
    )
    banner = page.locator(f"{SIDEBAR} .jp-xtrack-brushed")
    assert "2 runs kept by the parallel coordinates brush" in banner.inner_text()
    params = page.locator(f"{SIDEBAR} table.jp-xtrack-compare[data-section='params'] thead th")
    wait_for(lambda: params.count() == 1 + 3, what="two brushed runs and the reference")
    screenshot(page, "charts-4-parallel-coordinates-brushed")
    banner.locator("button", has_text="show all").click()
    page.locator(f"{SIDEBAR} .jp-xtrack-pc button", has_text="clear brush").click()
    wait_for(lambda: params.count() == 1 + 4, what="all runs again")


def test_scatter_param_against_metric(compare: Any) -> None:
    page = compare
    sc = page.locator(f"{SIDEBAR} svg[aria-label='scatter']")
    sc.scroll_into_view_if_needed()
    page.locator(f"{SIDEBAR} select[aria-label='scatter x']").select_option("lr")
    page.locator(f"{SIDEBAR} select[aria-label='scatter y']").select_option("acc")
    wait_for(lambda: sc.get_attribute("data-logx") == "true", what="lr on a log axis")
    assert sc.get_attribute("data-logy") == "false"
    assert sc.locator("circle").count() == 4
    box = sc.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] * 0.8, steps=5)
    page.mouse.up()
    wait_for(
        lambda: sc.get_attribute("data-kept") == "2",
        what=f"two dots brushed, kept {sc.get_attribute('data-kept')}, box {box}, "
        f"dots {[c.bounding_box() for c in sc.locator('circle').all()]}",
        timeout_s=5,
    )
    screenshot(page, "charts-5-scatter")
    page.locator(f"{SIDEBAR} .jp-xtrack-scatter button", has_text="clear brush").click()


def test_dark_theme_charts(compare: Any) -> None:
    page = compare
    use_theme(page, "JupyterLab Dark")
    wait_for(
        lambda: page.evaluate("() => document.body.dataset.jpThemeLight") == "false", what="dark"
    )
    panel(page, "loss").scroll_into_view_if_needed()
    hover_at(page, panel(page, "loss"), 0.3)
    screenshot(page, "charts-6-dark-panels")
    page.locator(f"{SIDEBAR} svg[aria-label='parallel coordinates']").scroll_into_view_if_needed()
    screenshot(page, "charts-7-dark-parallel-scatter")
    use_theme(page, "JupyterLab Light")


def test_a_brush_narrows_the_runs_table(compare: Any) -> None:
    """Brushing in Compare narrows the runs table behind it to the brushed runs (a filter
    on their numbers, shown as a chip); the chip's × clears the brush and the filter."""
    page = compare
    pc = page.locator(f"{SIDEBAR} svg[aria-label='parallel coordinates']")
    # The light theme back (the test before switched): its redraw moves the axes a while.
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")
    pc.scroll_into_view_if_needed()
    settled(page, pc)
    brush_top_of_axis(page, pc, "lr")  # trial-2 (#4, lr 1e-2) and trial-3 (#5, lr 1e-1)
    wait_for(lambda: pc.get_attribute("data-kept") == "2", what="two runs brushed")
    page.locator(f"{SIDEBAR} button", has_text="← Runs").click()
    chip = page.locator(f"{SIDEBAR} .jp-xtrack-chip")
    # the brushed trials, under their sweep (listed for them as context)
    wait_for(lambda: run_numbers(page) == [1, 4, 5], what=f"the brushed runs, got {run_numbers(page)}")
    assert chip.inner_text().startswith("2 runs brushed in the parallel coordinates")
    assert chip.get_attribute("title") == "number in (4, 5)"
    for theme in ("JupyterLab Dark", "JupyterLab Light"):
        use_theme(page, theme)
        page.wait_for_timeout(300)
        screenshot(page, f"charts-8-table-brushed-{'dark' if 'Dark' in theme else 'light'}")
    chip.locator("button[aria-label='clear this filter']").click()
    wait_for(lambda: run_numbers(page)[:1] == [1] and chip.count() == 0, what="all runs again")
