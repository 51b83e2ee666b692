"""A tracked training cell in JupyterLab and in Notebook 7, in Chromium: the live chart
updates while it runs, becomes a static image when it ends (also in the saved file), and
the run card stays under it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import JupyterServer, screenshot
from .notebook_page import cell, open_notebook, outputs, run_cell, wait_cell_done

TRAIN = (
    "%%track --name train\n"
    "import time\n"
    "lr = 0.1\n"
    "for i in range(50):\n"
    "    xt.log(step=i, loss=1 / (i + 1), acc=i / 50)\n"
    "    time.sleep(0.1)\n"
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(params=["lab", "notebook"])
def server(request: pytest.FixtureRequest) -> JupyterServer:
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


def points_shown(page: Any) -> int:
    text = page.locator(".xt-live .xt-points").inner_text()
    return int(text.split()[0].replace(",", ""))


def test_live_chart_updates_then_freezes_into_an_image(page: Any, server: JupyterServer) -> None:
    name = f"live-{server.app}.ipynb"
    server.write_notebook(name, "%load_ext jupyter_xtrack", TRAIN)
    open_notebook(page, server, name)
    run_cell(page, 0)
    wait_cell_done(page, 0)
    run_cell(page, 1)

    # While the cell runs: the chart shows, and its numbers and curves move.
    page.wait_for_selector(".xt-live .xt-points")
    deadline = time.monotonic() + 30
    while points_shown(page) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    first = points_shown(page)
    chart = page.locator(".xt-live .xt-panel[data-key='loss'] .xt-uchart")
    first_drawn = int(chart.get_attribute("data-points") or 0)
    screenshot(page, f"{server.app}-live-1")
    # A later frame (polled: a loaded machine may take a moment more).
    deadline = time.monotonic() + 6
    time.sleep(0.8)
    while points_shown(page) == first and time.monotonic() < deadline:
        time.sleep(0.2)
    second = points_shown(page)
    second_drawn = int(chart.get_attribute("data-points") or 0)
    screenshot(page, f"{server.app}-live-2")
    assert 0 < first < second < 100, (first, second)
    # The chart module redrew the loss curve in place with the new points.
    assert chart.get_attribute("data-series") == "1"
    assert 2 <= first_drawn < second_drawn, (first_drawn, second_drawn)
    assert page.locator(".xt-live .xt-value[data-key='loss'] b").inner_text() != ""

    # When it ends: a static image in place of the widget, and the card under it.
    wait_cell_done(page, 1)
    out = outputs(page, 1)
    out.locator("img").first.wait_for()
    assert cell(page, 1).locator(".xt-live").count() == 0
    summary = cell(page, 1).locator(".xt-card .xt-summary")
    assert "train" in summary.inner_text() and "finished" in summary.inner_text()
    screenshot(page, f"{server.app}-live-3-frozen")
    summary.click()
    body = cell(page, 1).locator(".xt-card-body")
    body.wait_for()
    assert "lr" in body.inner_text() and "0.1" in body.inner_text()
    screenshot(page, f"{server.app}-live-4-card-open")

    # With the sidebar installed (it sets data-xtrack-sidebar on <body>), the card offers
    # "Open in sidebar", which tells it the run through a window event.
    page.evaluate("""() => {
        document.body.dataset.xtrackSidebar = "1";
        window.__opened = null;
        window.addEventListener("xtrack:open-run", (e) => { window.__opened = e.detail; });
    }""")
    summary.click()  # collapse and expand: the card draws itself again
    summary.click()
    cell(page, 1).locator(".xt-card .xt-open-sidebar").click()
    opened = page.evaluate("() => window.__opened")
    assert opened["number"] >= 1 and len(opened["runId"]) == 32

    # Saved, the chart is a PNG: it shows without a kernel and without widget state.
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        saved = server.read_notebook(name)["cells"][1]["outputs"]
        if saved and "image/png" in saved[0].get("data", {}):
            break
        time.sleep(0.5)
    first_output = saved[0]["data"]
    assert "image/png" in first_output and WIDGET_MIME not in first_output
    assert len(first_output["image/png"]) < 200_000
