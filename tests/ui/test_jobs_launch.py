"""The sidebar's Jobs and Launch tabs in a real JupyterLab and Chromium: a background AutoML
job started in a cell is listed with progress and best score and cancelled from the sidebar;
the Launch form lists the kernel's DataFrames, refuses a bad budget before anything runs and
starts an AutoML job that finishes; a tracked cell is swept with the suggested space after a
broken one is refused; the Jobs tab under the dark theme.

The tests share one server (its own store, so job counts are exact) and one page, and build
on each other in file order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .jobs_page import (
    JOBS,
    LAUNCH,
    SIDEBAR,
    api_get,
    api_jobs,
    field,
    field_error,
    job_row,
    job_rows,
    pick_mode,
    row_text,
    show_tab,
)
from .notebook_page import cell, open_notebook, run_cell, wait_cell_done
from .sidebar_page import wait_for
from .test_progress_and_theme import luminance, set_theme

NOTEBOOK = "jobs.ipynb"
SETUP = (
    "%load_ext jupyter_xtrack\n"
    "import jupyter_xtrack as xt\n"
    "from sklearn.datasets import load_breast_cancer\n"
    "data = load_breast_cancer(as_frame=True).frame\n"
    "df = data.iloc[:300, [0, 1, 2, 3, 4, 5, 30]].rename(columns={'target': 'y'})\n"
    "other = df.head(10)"
)
BACKGROUND = "job = xt.automl(df, target='y', time_budget='30s', background=True)"
TRACKED = (
    "%%track --name tune-me\n"
    "lr = 0.1\n"
    "depth = 3\n"
    "score = 1 - (lr - 0.05) ** 2 - 0.01 * depth\n"
    "xt.log(score=score)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server of its own: its store holds only the jobs these tests start."""
    with running_server("lab", tmp_path_factory.mktemp("jobs")) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    """One page for the whole file, the notebook open and its setup cell run."""
    with browser_page(browser) as pg:
        server.write_notebook(NOTEBOOK, SETUP, BACKGROUND, TRACKED)
        open_notebook(pg, server, NOTEBOOK)
        run_cell(pg, 0)
        wait_cell_done(pg, 0)
        yield pg


def _trials(page: Any, run_id: str) -> int:
    text = row_text(page, run_id, "trials")
    return int(text.split()[0]) if text else -1


def test_tabs_are_keyboard_usable(lab: Any) -> None:
    page = lab
    show_tab(page, "runs")
    tabs = page.locator(f"{SIDEBAR} [role=tablist] [role=tab]")
    assert tabs.all_inner_texts() == ["Runs", "Models", "Jobs", "Launch"]
    runs = tabs.nth(0)
    assert runs.get_attribute("aria-selected") == "true"
    runs.focus()
    page.keyboard.press("ArrowRight")
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowRight")
    assert tabs.nth(2).get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.dataset.tab") == "jobs"
    page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-jobs").wait_for(state="visible")
    assert page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-runs").is_hidden()
    # The empty state says how to start a job.
    empty = page.locator(f"{JOBS} .jp-xtrack-jobs-empty")
    empty.wait_for()
    assert "background=True" in empty.inner_text() and "Launch" in empty.inner_text()
    page.keyboard.press("End")
    assert tabs.nth(3).get_attribute("aria-selected") == "true"
    page.keyboard.press("Home")
    assert tabs.nth(0).get_attribute("aria-selected") == "true"


def test_background_automl_is_listed_and_cancelled(lab: Any, server: JupyterServer) -> None:
    page = lab
    run_cell(page, 1)
    wait_cell_done(page, 1)
    show_tab(page, "jobs")
    wait_for(lambda: len(api_jobs(server)) == 1, what="the server lists the job")
    run_id = api_jobs(server)[0]["run_id"]
    row = job_row(page, run_id)
    row.wait_for()
    assert row_text(page, run_id, "state") == "running"
    assert row_text(page, run_id, "kind") == "AutoML"
    # Progress (seconds of the 30 s budget) and a best score arrive while it runs.
    wait_for(lambda: re.fullmatch(r"best \S+ [0-9.e-]+ [↑↓]", row_text(page, run_id, "best")) is not None,
             timeout_s=120, what="a best score with its metric")
    # (Elapsed time to a tenth, as the row's other figures: "12.3 s / 30 s".)
    wait_for(lambda: re.fullmatch(r"[1-9]\d*\.\d s / 30 s", row_text(page, run_id, "done")) is not None,
             what=f"progress in seconds of the budget, got {row_text(page, run_id, 'done')!r}")
    bar = row.locator("[role=progressbar]")
    assert 0 < int(bar.get_attribute("aria-valuenow") or 0) < 100
    screenshot(page, "jobs-1-running")
    cancel = row.locator("button.jp-xtrack-job-cancel")
    cancel.click()
    # The button says so from the click until the job has stopped (it may stop quickly).
    wait_for(lambda: cancel.count() == 0 or cancel.inner_text() == "Cancelling…",
             what="Cancelling… on the button")
    wait_for(lambda: row_text(page, run_id, "state") == "cancelled", timeout_s=60,
             what="the job shown cancelled")
    assert cancel.count() == 0
    job = api_jobs(server)[0]
    assert job["state"] == "cancelled" and job["trials"] >= 1
    # Finished trials are kept: the row counts them like the server does.
    wait_for(lambda: _trials(page, run_id) == api_jobs(server)[0]["trials"], what="trials kept")
    assert row_text(page, run_id, "error") == ""
    screenshot(page, "jobs-2-cancelled")
    # A job opens its parent run's detail in the Runs tab.
    row.locator("button.jp-xtrack-job-name").click()
    page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-runs").wait_for(state="visible")
    title = page.locator(f"{SIDEBAR} .jp-xtrack-detail .jp-xtrack-title")
    title.wait_for()
    assert title.inner_text().startswith(f"#{job['number']}")


def test_launch_automl_validates_then_starts(lab: Any, server: JupyterServer) -> None:
    page = lab
    show_tab(page, "launch")
    assert page.locator(f"{LAUNCH} .jp-xtrack-launch-notebook").inner_text() == NOTEBOOK
    assert "idle" in page.locator(f"{LAUNCH} .jp-xtrack-launch-kernel").inner_text()
    frame = page.locator("#jp-xtrack-launch-frame")
    # The kernel's DataFrames, by name, with their shapes.
    wait_for(lambda: frame.locator("option[value='df']").count() == 1, what="df listed")
    values = frame.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["", "data", "df", "other"]
    assert frame.locator("option[value='df']").inner_text() == "df (300 × 7)"
    frame.select_option("df")
    target = page.locator("#jp-xtrack-launch-target")
    target.select_option("y")
    metric = page.locator("#jp-xtrack-launch-metric")
    wait_for(lambda: metric.is_enabled() and metric.locator("option").count() > 1,
             what="the target's metrics offered")
    assert "binary task on 300 rows" in field(page, "metric").inner_text()
    before = len(api_jobs(server))
    budget = page.locator("#jp-xtrack-launch-time_budget")
    assert budget.input_value() == "1m"
    budget.fill("soon")
    start = page.locator(f"{LAUNCH} button.jp-xtrack-start")
    start.click()
    assert "not a time budget" in field_error(page, "time_budget")
    assert budget.get_attribute("aria-invalid") == "true"
    screenshot(page, "launch-1-automl-bad-budget")
    page.wait_for_timeout(1500)
    assert len(api_jobs(server)) == before, "a bad budget started a job"
    budget.fill("8s")
    assert field_error(page, "time_budget") == ""
    page.locator("#jp-xtrack-launch-name").fill("from-launch")
    start.click()
    # Straight to the Jobs tab, the new job highlighted there.
    page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-jobs").wait_for(state="visible")
    wait_for(lambda: len(api_jobs(server)) == before + 1, what="the job started")
    job = api_jobs(server)[0]
    assert job["name"] == "from-launch" and job["kind"] == "automl"
    row = job_row(page, job["run_id"])
    row.wait_for()
    assert "jp-mod-highlighted" in (row.get_attribute("class") or "")
    wait_for(lambda: row_text(page, job["run_id"], "state") == "finished", timeout_s=120,
             what="the launched job finished")
    assert re.fullmatch(r"best \S+ [0-9.e-]+ [↑↓]", row_text(page, job["run_id"], "best"))
    assert row.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
    screenshot(page, "jobs-3-launched-finished")


def test_launch_sweep_of_a_tracked_cell(lab: Any, server: JupyterServer) -> None:
    page = lab
    run_cell(page, 2)
    wait_cell_done(page, 2)
    show_tab(page, "launch")
    pick_mode(page, "Sweep a tracked cell")
    option = page.locator(f"{LAUNCH} .jp-xtrack-cell-option")
    page.locator(f"{LAUNCH} button.jp-xtrack-refresh").click()
    wait_for(lambda: option.count() == 1, what="the tracked cell listed")
    text = option.inner_text()
    assert "tune-me" in text and "lr=0.1" in text and "depth=3" in text
    # Edited in the notebook but not run again: the sweep must run this text, not the recorded.
    editor = cell(page, 2).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nxt.log(edited=1)")
    page.keyboard.press("Escape")
    option.click()
    space = page.locator("#jp-xtrack-launch-space")
    suggested = space.input_value()
    assert "lr=" in suggested and "depth=" in suggested
    assert page.locator("#jp-xtrack-launch-metric").input_value() == "score"
    # No direction chosen: the sweep takes it from the metric's name (score: maximize).
    direction = page.locator("#jp-xtrack-launch-direction")
    assert direction.input_value() == ""
    assert direction.evaluate("s => s.selectedOptions[0].textContent") == "from the metric's name"
    assert page.locator("#jp-xtrack-launch-trials").input_value() == "20"
    # The cell is open in the notebook: its current source is what runs.
    assert page.locator(f"{LAUNCH} .jp-xtrack-source-note").get_attribute("data-from") == "notebook"
    before = len(api_jobs(server))
    space.fill("lr=loguniform(0.001")
    start = page.locator(f"{LAUNCH} button.jp-xtrack-start")
    start.click()
    wait_for(lambda: field_error(page, "space") != "", what="the kernel's error on the space")
    assert start.inner_text() == "Start sweep"
    screenshot(page, "launch-2-sweep-bad-space")
    assert len(api_jobs(server)) == before, "a broken space started a job"
    space.fill(suggested)
    page.locator("#jp-xtrack-launch-trials").fill("3")
    page.locator("#jp-xtrack-launch-sampler").select_option("random")
    page.locator("#jp-xtrack-launch-pruner").select_option("median")
    start.click()
    page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-jobs").wait_for(state="visible")
    wait_for(lambda: len(api_jobs(server)) == before + 1, what="the sweep started")
    job = api_jobs(server)[0]
    assert job["kind"] == "sweep"
    wait_for(lambda: row_text(page, job["run_id"], "state") == "finished", timeout_s=120,
             what="the sweep finished")
    assert row_text(page, job["run_id"], "trials") == "3 trials"
    assert row_text(page, job["run_id"], "done") == "3 / 3"
    assert api_jobs(server)[0]["trials"] == 3
    assert row_text(page, job["run_id"], "best").startswith("best score ")
    trial_ids = api_get(server, f"runs/{job['run_id']}")["children"]
    assert len(trial_ids) == 3
    params = api_get(server, f"runs/{job['run_id']}")["params"]
    assert params["sweep.sampler"] == "random" and params["sweep.pruner"] == "median"
    assert all("edited" in api_get(server, f"runs/{t}")["metrics"] for t in trial_ids)
    screenshot(page, "jobs-4-sweep-finished")
    # The form as filled, for the screenshot of this mode.
    show_tab(page, "launch")
    screenshot(page, "launch-3-sweep-form")


def test_jobs_under_the_dark_theme(lab: Any, server: JupyterServer) -> None:
    page = lab
    set_theme(server, "JupyterLab Dark")
    try:
        open_notebook(page, server, NOTEBOOK)
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        show_tab(page, "jobs")
        wait_for(lambda: job_rows(page).count() == 3, what="the three jobs listed")
        name = job_rows(page).first.locator(".jp-xtrack-job-name")
        assert luminance(name.evaluate("e => getComputedStyle(e).color")) > 0.6
        screenshot(page, "jobs-5-dark")
        show_tab(page, "launch")
        page.locator("#jp-xtrack-launch-frame option[value='df']").wait_for(state="attached")
        screenshot(page, "launch-4-dark")
    finally:
        set_theme(server, "JupyterLab Light")


def test_jobs_show_an_api_failure_and_recover(lab: Any) -> None:
    page = lab
    show_tab(page, "jobs")
    wait_for(lambda: job_rows(page).count() == 3, what="the jobs listed")

    def broken(route: Any) -> None:
        route.fulfill(status=500, content_type="application/json",
                      body='{"message": "store .xtrack/ is locked", "reason": "store_error"}')

    page.route("**/xtrack/api/jobs?*", broken)
    try:
        show_tab(page, "runs")
        show_tab(page, "jobs")  # coming into view reloads the list
        error = page.locator(f"{JOBS} .jp-xtrack-error")
        error.wait_for()
        assert error.inner_text() == "Cannot refresh jobs: store .xtrack/ is locked"
        assert job_rows(page).count() == 3, "the last good list stays shown"
    finally:
        page.unroute("**/xtrack/api/jobs?*", broken)
    show_tab(page, "runs")
    show_tab(page, "jobs")
    wait_for(lambda: page.locator(f"{JOBS} .jp-xtrack-error").count() == 0, what="the error cleared")


def test_restarting_the_kernel_lists_its_dataframes_again(lab: Any) -> None:
    page = lab
    show_tab(page, "launch")
    pick_mode(page, "AutoML on a DataFrame")
    frame = page.locator("#jp-xtrack-launch-frame")
    wait_for(lambda: frame.locator("option[value='df']").count() == 1, what="df listed")
    page.locator(".lm-MenuBar-item", has_text="Kernel").click()
    page.locator(".lm-Menu-item:visible", has_text="Restart Kernel").first.click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    # Nothing is defined in the fresh kernel: the list empties without a Refresh.
    wait_for(lambda: frame.locator("option[value='df']").count() == 0, timeout_s=60,
             what="the restarted kernel's DataFrames listed")
    assert "No DataFrames in the kernel yet" in field(page, "frame").inner_text()


def test_launch_says_when_there_is_no_notebook_or_no_kernel(lab: Any, server: JupyterServer) -> None:
    page = lab
    page.goto(server.url("lab?reset"))
    page.locator(".jp-SideBar.jp-mod-left").wait_for()
    show_tab(page, "launch")
    none = page.locator(f"{LAUNCH} .jp-xtrack-launch-none")
    none.wait_for()
    assert "Open a notebook" in none.inner_text()
    assert page.locator(f"{LAUNCH} form").count() == 0
    open_notebook(page, server, NOTEBOOK)
    show_tab(page, "launch")
    page.locator(f"{LAUNCH} form").wait_for()
    # The kernel shut down (Kernel > Shut Down Kernel): the form gives way to a message.
    page.locator(".lm-MenuBar-item", has_text="Kernel").click()
    page.locator(".lm-Menu-item:visible", has_text="Shut Down Kernel").first.click()
    wait_for(lambda: none.count() == 1 and "has no running kernel" in none.inner_text(),
             what="the no-kernel message")
    assert page.locator(f"{LAUNCH} .jp-xtrack-launch-kernel").inner_text() == "not running"
    screenshot(page, "launch-5-no-kernel")
