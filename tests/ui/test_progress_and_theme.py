"""The sweep progress view in JupyterLab (live trial table, best-so-far chart, Stop) and
the views under the dark theme."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from .conftest import JupyterServer, screenshot
from .notebook_page import cell, open_notebook, run_cell, wait_cell_done

# A background sweep (like `%%track --sweep ... --background`): trials report from a
# thread, so the kernel is free to hear the Stop button.
SWEEP = """\
import threading, time, random
from jupyter_xtrack.views import SweepProgress
progress = SweepProgress('lr sweep', 'val_acc', 'maximize').display()
def sweep():
    trials, rng = [], random.Random(0)
    for n in range(600):
        state = 'pruned' if n % 5 == 4 else 'complete'
        trials.append({'number': n, 'state': state, 'value': rng.random(),
                       'params': {'lr': round(rng.uniform(1e-4, 1e-1), 5), 'depth': n % 7},
                       'duration_s': rng.uniform(0.1, 3)})
        progress.update(trials)
        if progress.stop_requested:
            break
        time.sleep(0.05)
    progress.finish()
    global stopped_at
    stopped_at = n
worker = threading.Thread(target=sweep)
worker.start()
"""


def test_sweep_progress_live_then_stop(page: Any, lab_server: JupyterServer) -> None:
    server = lab_server
    server.write_notebook("sweep.ipynb", "%load_ext jupyter_xtrack", SWEEP,
                          "worker.join(60); print('stopped at', stopped_at)")
    open_notebook(page, server, "sweep.ipynb")
    run_cell(page, 0)
    wait_cell_done(page, 0)
    run_cell(page, 1)
    wait_cell_done(page, 1)
    view = cell(page, 1).locator(".xt-progress")
    view.wait_for()
    time.sleep(1.5)
    rows_before = view.locator("tbody tr").count()
    assert rows_before > 3
    assert view.locator(".xt-best-line").inner_text().startswith("best val_acc = ")
    # The chart module draws every trial as a dot (pruned ones hollow, a series of their
    # own) and the best-so-far step line over the completed ones; table and chart come from
    # one render, so they are read together.
    shown, complete, series, points = view.evaluate(
        """v => { const c = v.querySelector('.xt-progress-chart .xt-uchart');
        return [v.querySelectorAll('tbody tr').length, v.querySelectorAll('tbody tr.xt-complete').length,
                Number(c.dataset.series), Number(c.dataset.points)]; }"""
    )
    assert series == 3, series
    assert points >= shown + complete, (points, shown, complete)
    screenshot(page, "lab-progress-1-running")
    view.locator("button.xt-stop").click()
    run_cell(page, 2)
    wait_cell_done(page, 2)
    printed = cell(page, 2).locator(".jp-OutputArea-output").inner_text()
    stopped_at = int(printed.split()[-1])
    assert stopped_at < 599, "Stop ended the sweep early"
    # finish(): the live view became a static chart and table.
    out = cell(page, 1).locator(".jp-OutputArea-output")
    out.locator("img").first.wait_for()
    assert cell(page, 1).locator(".xt-progress").count() == 0
    assert "trials" in out.first.inner_text()
    screenshot(page, "lab-progress-2-finished")


def set_theme(server: JupyterServer, theme: str) -> None:
    """Save JupyterLab's theme setting through its REST API (what Settings > Theme does)."""
    body = json.dumps({"raw": json.dumps({"theme": theme})}).encode()
    request = urllib.request.Request(
        server.url("lab/api/settings/@jupyterlab/apputils-extension:themes"), data=body,
        method="PUT", headers={"Authorization": f"token {server.token}",
                               "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status in (200, 204)


def luminance(rgb: str) -> float:
    parts = [float(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    return (0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]) / 255


def test_views_follow_the_dark_theme(page: Any, lab_server: JupyterServer) -> None:
    server = lab_server
    server.write_notebook("theme.ipynb", "%load_ext jupyter_xtrack",
                          "%%track --name themed\nfor i in range(30):\n    xt.log(step=i, loss=1 / (i + 1))",
                          "%xtrack runs name = 'themed'")
    set_theme(server, "JupyterLab Dark")
    try:
        open_notebook(page, server, "theme.ipynb")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        for i in range(3):
            run_cell(page, i)
            wait_cell_done(page, i)
        summary = cell(page, 1).locator(".xt-card .xt-summary")
        summary.wait_for()
        header = cell(page, 2).locator(".xt-runs th").nth(1)
        header.wait_for()
        # Light text on the dark background, from JupyterLab's theme variables.
        assert luminance(summary.evaluate("e => getComputedStyle(e).color")) > 0.6
        assert luminance(header.evaluate("e => getComputedStyle(e).color")) > 0.6
        screenshot(page, "lab-dark-theme")
    finally:
        set_theme(server, "JupyterLab Light")  # the other tests share this server
