"""Driving the sidebar's Jobs and Launch tabs from Playwright, and reading the jobs the
server lists (GET xtrack/api/jobs) to check what the UI shows or did not start."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from .conftest import JupyterServer

SIDEBAR = "#jupyter-xtrack-sidebar"
JOBS = f"{SIDEBAR} #jp-xtrack-tabpanel-jobs"
LAUNCH = f"{SIDEBAR} #jp-xtrack-tabpanel-launch"


def open_sidebar(page: Any) -> None:
    """Show the sidebar by its icon in the left bar (no-op when it is shown)."""
    if not page.locator(SIDEBAR).is_visible():
        page.locator(".jp-SideBar.jp-mod-left li[data-id='jupyter-xtrack-sidebar']").click()
    page.locator(SIDEBAR).wait_for(state="visible")


def show_tab(page: Any, tab: str) -> None:
    """Click the panel's tab `tab` ("runs", "jobs", "launch") and wait for its panel."""
    open_sidebar(page)
    page.locator(f"{SIDEBAR} [role=tab][data-tab='{tab}']").click()
    page.locator(f"{SIDEBAR} #jp-xtrack-tabpanel-{tab}").wait_for(state="visible")


def api_get(server: JupyterServer, path: str) -> Any:
    """The JSON answer of GET xtrack/api/`path`."""
    with urllib.request.urlopen(server.url(f"xtrack/api/{path}"), timeout=10) as resp:
        return json.loads(resp.read())


def api_jobs(server: JupyterServer) -> list[dict[str, Any]]:
    """The jobs the server lists, newest first."""
    return list(api_get(server, "jobs?limit=50")["jobs"])


def job_row(page: Any, run_id: str) -> Any:
    return page.locator(f"{JOBS} .jp-xtrack-job[data-run-id='{run_id}']")


def job_rows(page: Any) -> Any:
    return page.locator(f"{JOBS} .jp-xtrack-job")


def row_text(page: Any, run_id: str, part: str) -> str:
    """The text of one part of a job row: name, state, done, best, trials, elapsed, error."""
    loc = job_row(page, run_id).locator(f".jp-xtrack-job-{part}")
    return str(loc.inner_text()).strip() if loc.count() else ""


def field(page: Any, name: str) -> Any:
    """A Launch form field (label, input and error) by its field name."""
    return page.locator(f"{LAUNCH} .jp-xtrack-field[data-field='{name}']")


def field_error(page: Any, name: str) -> str:
    err = field(page, name).locator(".jp-xtrack-field-error")
    return str(err.inner_text()) if err.count() else ""


def pick_mode(page: Any, label: str) -> None:
    """Launch mode by its button's label ("AutoML on a DataFrame", "Sweep a tracked cell")."""
    page.locator(f"{LAUNCH} button.jp-xtrack-mode", has_text=label).click()
