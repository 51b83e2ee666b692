"""`%xtrack runs` and `xt.compare` in JupyterLab, in Chromium: sort, filter in the filter
language (errors inline), select runs and compare them; the compare view highlights
differences and overlays metric histories."""

from __future__ import annotations

import time
from typing import Any

from .conftest import JupyterServer, screenshot
from .notebook_page import cell, open_notebook, run_cell, wait_cell_done

MAKE_RUNS = (
    "for lr in (0.1, 0.2, 0.3):\n"
    "    with xt.start_run(name=f'lr{lr}', params={'lr': lr}):\n"
    "        for i in range(20):\n"
    "            xt.log(step=i, loss=lr / (i + 1))\n"
)


def lr_column(page: Any) -> list[str]:
    table = page.locator(".xt-runs table.xt-table")
    headers = [h.strip(" ▲▼") for h in table.locator("thead th").all_inner_texts()]
    col = headers.index("params.lr")
    return [r.locator("td").nth(col).inner_text() for r in table.locator("tbody tr").all()]


def wait_for(predicate: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.2)


def test_run_table_sort_filter_select_compare(page: Any, lab_server: JupyterServer) -> None:
    server = lab_server
    server.write_notebook(
        "runs.ipynb", "%load_ext jupyter_xtrack", MAKE_RUNS, "%xtrack runs name ~ 'lr*'",
        "xt.compare(*xt.runs(\"name ~ 'lr*'\", order_by='params.lr')['id'][::2])",
    )
    open_notebook(page, server, "runs.ipynb")
    for i in range(3):
        run_cell(page, i)
        wait_cell_done(page, i)
    rows = page.locator(".xt-runs tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3

    # A malformed filter: the error, with its caret, right under the box.
    box = page.locator(".xt-runs input.xt-filter")
    box.fill("metrics.loss >")
    box.press("Enter")
    error = page.locator(".xt-runs .xt-error")
    error.wait_for()
    assert "^" in error.inner_text() and "metrics.loss >" in error.inner_text()
    screenshot(page, "lab-runs-1-filter-error")
    box.fill("params.lr >= 0.2")
    box.press("Enter")
    wait_for(lambda: rows.count() == 2 and page.locator(".xt-runs .xt-error").count() == 0)
    box.fill("name ~ 'lr*'")
    box.press("Enter")
    wait_for(lambda: rows.count() == 3)

    # Sort by a column, then flip.
    page.locator(".xt-runs th[data-col='params.lr']").click()
    wait_for(lambda: lr_column(page) == ["0.1", "0.2", "0.3"])
    page.locator(".xt-runs th[data-col='params.lr']").click()
    wait_for(lambda: lr_column(page) == ["0.3", "0.2", "0.1"])

    # Select two runs and compare them.
    button = page.locator(".xt-runs .xt-compare-btn")
    assert button.is_disabled()
    page.locator(".xt-runs input.xt-select").nth(0).check()
    page.locator(".xt-runs input.xt-select").nth(2).check()
    wait_for(lambda: button.is_enabled())
    button.click()
    compare = page.locator(".xt-runs .xt-compare-table")
    compare.wait_for()
    assert page.locator(".xt-runs tr.xt-differs[data-key='params.lr']").count() == 1
    # The two runs' loss histories overlaid by the chart module: two series.
    chart = page.locator(".xt-runs .xt-compare .xt-panel[data-key='loss'] .xt-uchart")
    chart.wait_for()
    assert chart.get_attribute("data-series") == "2"
    assert chart.get_attribute("data-points") == "40"
    screenshot(page, "lab-runs-2-compare")

    # xt.compare(...) on its own gives the same view.
    run_cell(page, 3)
    wait_cell_done(page, 3)
    view = cell(page, 3).locator(".xt-compare-view")
    view.wait_for()
    assert view.locator("tr.xt-differs[data-key='params.lr']").count() == 1
    view.scroll_into_view_if_needed()
    screenshot(page, "lab-compare")
