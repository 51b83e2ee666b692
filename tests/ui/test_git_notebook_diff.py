"""The run detail's git diff opens a changed notebook in nbdime's view (issue 13, defect 6):
each notebook of the diff (taken between output-stripped versions by the real git capture)
has "Open notebook diff", which opens a main-area tab with nbdime's diff of its HEAD and
working versions; other files keep their collapsible text diff. Compare's git rows list the
changed files and open each dirty run's diff. Before this, the detail showed only the JSON
diff's cell sources and Compare only `diff_bytes`: there was no button and no tab to find."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.test_git_notebook_diff import NB, dirty_notebook_state, store_git_run

from .conftest import SCREENSHOTS, JupyterServer, browser_page, running_server, screenshot
from .sidebar_page import (
    MAIN_DOCK,
    SIDEBAR,
    back_to_runs,
    main_tabs,
    open_from_tab,
    row,
    run_numbers,
    select_runs,
    use_theme,
    wait_for,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    tmp = tmp_path_factory.mktemp("gitnb")
    for i, source in enumerate(("plot(2)\nsave('fig.png')", "plot(3)")):
        store_git_run(tmp / "store", dirty_notebook_state(tmp / f"repo{i}", source), f"dirty-{i}")
    with running_server("lab", tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, env: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 30_000) as pg:
        pg.set_viewport_size({"width": 1400, "height": 900})
        pg.goto(env.url("lab?reset"))
        pg.locator(MAIN_DOCK).wait_for()
        open_from_tab(pg)
        wait_for(lambda: len(run_numbers(pg)) == 2, what="runs listed")
        yield pg


def sidebar_shot(page: Any, name: str) -> None:
    """A screenshot of the sidebar alone (the full page makes its text too small to read)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator(SIDEBAR).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def git_section(page: Any, number: int) -> Any:
    back_to_runs(page)
    row(page, number).locator(".jp-xtrack-col-value").first.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    sec = detail.locator("details[data-section='git']")
    sec.wait_for()
    if sec.get_attribute("open") is None:
        sec.locator("summary").first.click()
    return sec


def test_a_notebook_of_the_git_diff_opens_in_nbdime(lab: Any) -> None:
    page = lab
    git = git_section(page, 1)
    nb = git.locator(f"details.jp-xtrack-filediff[data-path='{NB}']")
    py = git.locator("details.jp-xtrack-filediff[data-path='train.py']")
    nb.wait_for()
    assert "+lr = 0.2" in py.inner_text()  # other files: git's text diff
    assert py.locator("button", has_text="Open notebook diff").count() == 0
    assert "save('fig.png')" in nb.inner_text()  # the cell sources, in the sidebar
    assert "image/png" not in git.inner_text()  # the stored diff has no outputs at all

    nb.locator("button", has_text="Open notebook diff").click()

    title = "#1 analysis.ipynb (git diff)"
    tab = main_tabs(page, title)
    tab.wait_for()
    panel = page.locator(f"{MAIN_DOCK} .jp-xtrack-diff-tab:visible")
    head = panel.locator(".jp-xtrack-diff-head")
    wait_for(lambda: "HEAD → working tree" in head.inner_text(), what="the tab's heading")
    assert "1 cell: 1 changed" in head.inner_text()
    diff = panel.locator(".jp-xtrack-nbdime")
    diff.locator(".jp-Diff-twoway").first.wait_for()  # nbdime's view of a changed cell
    wait_for(lambda: "save('fig.png')" in diff.inner_text(), what="nbdime's source diff")
    assert "Analysis" in diff.inner_text()  # the unchanged markdown cell, rendered by nbdime
    screenshot(page, "git-notebook-diff-light")
    use_theme(page, "JupyterLab Dark")
    wait_for(
        lambda: page.evaluate("() => document.body.dataset.jpThemeLight") == "false",
        what="the dark theme",
    )
    diff.locator(".jp-Diff-twoway").first.scroll_into_view_if_needed()
    screenshot(page, "git-notebook-diff-dark")
    # The sidebar's git section, dark, with its per-file entries and the button.
    git.locator("summary").first.scroll_into_view_if_needed()
    sidebar_shot(page, "git-section-dark")
    use_theme(page, "JupyterLab Light")
    wait_for(
        lambda: page.evaluate("() => document.body.dataset.jpThemeLight") == "true",
        what="the light theme",
    )
    sidebar_shot(page, "git-section-light")
    # The same notebook again brings its tab forward; another run's opens its own.
    nb.locator("button", has_text="Open notebook diff").click()
    wait_for(lambda: main_tabs(page, title).count() == 1, what="still one tab")


def test_compare_lists_changed_files_and_opens_each_runs_diff(lab: Any) -> None:
    page = lab
    back_to_runs(page)
    select_runs(page, [1, 2])
    page.locator(f"{SIDEBAR} button", has_text="Compare").click()
    view = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    view.locator(".jp-xtrack-title", has_text="Compare 2 runs").wait_for()
    # Both runs changed the same files: show equal rows too.
    view.locator("label", has_text="only differences").locator("input").uncheck()
    changed = view.locator("tr", has=page.locator("th", has_text="changed files"))
    changed.first.wait_for()
    assert changed.first.inner_text().count(NB) == 2  # both runs' changed files
    diffs = view.locator("details.jp-xtrack-compare-gitdiffs")
    diffs.locator("summary").first.click()
    run2 = diffs.locator("details[data-run]").nth(1)
    run2.locator("summary").first.click()
    nb = run2.locator(f"details.jp-xtrack-filediff[data-path='{NB}']")
    nb.wait_for()
    assert "plot(3)" in nb.inner_text()
    nb.locator("button", has_text="Open notebook diff").click()
    panel_title = "#2 analysis.ipynb (git diff)"
    main_tabs(page, panel_title).wait_for()
    panel = page.locator(f"{MAIN_DOCK} .jp-xtrack-diff-tab:visible")
    wait_for(
        lambda: "plot(3)" in panel.locator(".jp-xtrack-nbdime").inner_text(),
        what="run 2's notebook diff",
    )
    nb.scroll_into_view_if_needed()
    sidebar_shot(page, "git-compare-light")
    screenshot(page, "git-compare-tab-light")
