"""The Reproduce button and the Reproductions section of a run's detail, in a real
JupyterLab and Chromium: a recorded run is reproduced as a background job (listed in the
Jobs tab until it finishes), its verdict shows in the original's detail, the reproduction's
detail links back to the original, and "compare" opens both side by side. Light and dark
screenshots of the section."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .jobs_page import JOBS, SIDEBAR, api_jobs, show_tab
from .sidebar_page import row, use_theme, wait_for

SCRIPT = textwrap.dedent("""\
    import jupyter_xtrack as xt
    with xt.start_run(name="baseline"):
        xt.log_params(depth=3)
        for step in range(5):
            xt.log(loss=1 / (step + 1), step=step)
        xt.log(acc=0.875)
    """)
DETAIL = f"{SIDEBAR} .jp-xtrack-detail"
SECTION = f"{DETAIL} .jp-xtrack-reproductions"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server of its own whose store holds one run, #1, recorded by a script."""
    with running_server("lab", tmp_path_factory.mktemp("reproduce")) as srv:
        store = srv.root.parent / "store"
        (srv.root / "train.py").write_text(SCRIPT)
        subprocess.run(
            [sys.executable, "train.py"],
            cwd=srv.root,
            check=True,
            timeout=120,
            env={**__import__("os").environ, "XTRACK_STORE": str(store)},
        )
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser) as pg:
        pg.goto(server.url("lab?reset"))
        show_tab(pg, "runs")
        yield pg


def _open_run(page: Any, number: int) -> None:
    show_tab(page, "runs")
    back = page.locator(f"{DETAIL} button", has_text="← Runs")
    if back.count():
        back.click()
    row(page, number).locator(".jp-xtrack-col-value").first.click()
    page.locator(f"{DETAIL} .jp-xtrack-title").wait_for()


def test_reproduce_button_runs_a_job_and_shows_the_verdict(lab: Any, server: JupyterServer) -> None:
    page = lab
    _open_run(page, 1)
    section = page.locator(SECTION)
    assert section.locator("summary").inner_text() == "Reproductions (0)"
    section.locator("button", has_text="Reproduce").click()
    status = section.locator("[role=status]")
    status.wait_for()
    assert "Jobs tab" in status.inner_text()
    # The job is listed in the Jobs tab while it runs, then finishes.
    show_tab(page, "jobs")
    page.locator(f"{JOBS} .jp-xtrack-job", has_text="reproduce #1").first.wait_for()
    wait_for(
        lambda: any(
            j["kind"] == "reproduce" and j["state"] == "finished" for j in api_jobs(server)
        ),
        timeout_s=180,
        what="reproduce job done",
    )
    # Its verdict in the original's detail, refreshed by the store's change feed.
    _open_run(page, 1)
    badge = section.locator(".jp-xtrack-verdict-reproduced")
    badge.wait_for(timeout=60_000)
    assert badge.inner_text() == "reproduced"
    assert section.locator("summary").inner_text() == "Reproductions (1)"
    screenshot(page, "reproduce-1-verdict-light")


def test_a_reproduction_links_back_and_compares(lab: Any) -> None:
    page = lab
    section = page.locator(SECTION)
    number = section.locator(".jp-xtrack-reproduction-list button.jp-xtrack-link").first
    reproduction = number.inner_text()
    number.click()
    title = page.locator(f"{DETAIL} .jp-xtrack-title")
    wait_for(lambda: title.inner_text().startswith(reproduction), what="reproduction opened")
    link = page.locator(f"{SECTION} .jp-xtrack-reproduces")
    link.wait_for()
    assert "Reproduces #1 baseline" in link.inner_text()
    link.locator("button", has_text="compare").click()
    page.locator(f"{DETAIL} .jp-xtrack-title", has_text="Compare 2 runs").wait_for()


def test_the_section_under_the_dark_theme(lab: Any) -> None:
    page = lab
    use_theme(page, "JupyterLab Dark")
    wait_for(
        lambda: page.evaluate("document.body.dataset.jpThemeLight") == "false", what="dark theme"
    )
    _open_run(page, 1)
    page.locator(f"{SECTION} .jp-xtrack-verdict-reproduced").wait_for()
    screenshot(page, "reproduce-2-verdict-dark")
    use_theme(page, "JupyterLab Light")
