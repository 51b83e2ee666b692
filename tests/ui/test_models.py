"""The sidebar's Models tab and the run detail's Register model form, in a real JupyterLab
and Chromium: registered models and their aliases listed, a model's versions linked to the
runs that made them (with their metrics and data), an alias moved with a reason (the
history grows, and the store says so), an alias removed with a reason, a version's links to
its run's evaluation and data, a run's model registered from its detail. Light and
dark screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .jobs_page import SIDEBAR, api_get, show_tab
from .sidebar_page import row, use_theme, wait_for

SCRIPT = textwrap.dedent("""\
    import pickle
    import jupyter_xtrack as xt
    open("train.csv", "w").write("x,y\\n1,0\\n2,1\\n")
    for i, (name, acc) in enumerate([("fit", 0.81), ("fit2", 0.86), ("fit3", 0.9)]):
        with xt.start_run(name=name):
            data = open("train.csv").read()
            xt.log(acc=acc, loss=1 - acc)
            xt.log_artifact(pickle.dumps({"weights": [i]}), name="model.pkl")
            if name == "fit2":  # its evaluation report, which the Models tab links to
                from sklearn.linear_model import LogisticRegression
                X, y = [[0.0], [1.0], [2.0], [3.0]] * 10, [0, 0, 1, 1] * 10
                xt.evaluate(LogisticRegression().fit(X, y), X, y, importance=False)
    xt.register_model("#1", "churn", aliases=["champion"], tags={"team": "risk"})
    xt.register_model("#2", "churn", aliases=["candidate"])
    xt.set_alias("churn", "champion", 2, reason="acc +0.05 on the holdout")
    """)
MODELS = f"{SIDEBAR} #jp-xtrack-tabpanel-models"
DETAIL = f"{SIDEBAR} .jp-xtrack-detail"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """A lab server whose store holds runs #1-#3 (each with a model.pkl), #1 and #2
    registered as churn v1 and v2, champion moved from v1 to v2."""
    with running_server("lab", tmp_path_factory.mktemp("models")) as srv:
        (srv.root / "train.py").write_text(SCRIPT)
        subprocess.run(
            [sys.executable, "train.py"],
            cwd=srv.root,
            check=True,
            timeout=120,
            env={**os.environ, "XTRACK_STORE": str(srv.root.parent / "store")},
        )
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser) as pg:
        pg.goto(server.url("lab?reset"))
        show_tab(pg, "models")
        yield pg


def _open_model(page: Any, name: str) -> Any:
    show_tab(page, "models")
    back = page.locator(f"{MODELS} button", has_text="← Models")
    if back.count():
        back.click()
    page.locator(f"{MODELS} .jp-xtrack-model-list li[data-model='{name}'] button").click()
    detail = page.locator(f"{MODELS} .jp-xtrack-model-detail[data-model='{name}']")
    detail.locator(".jp-xtrack-version").first.wait_for()
    return detail


def test_the_models_tab_lists_models_versions_runs_and_history(lab: Any) -> None:
    page = lab
    item = page.locator(f"{MODELS} .jp-xtrack-model-list li[data-model='churn']")
    item.wait_for()
    assert "2 versions · latest v2" in item.inner_text()
    assert [b.inner_text() for b in item.locator(".jp-xtrack-alias").all()] == [
        "candidate v2",
        "champion v2",
    ]
    screenshot(page, "models-1-list-light")
    detail = _open_model(page, "churn")
    versions = detail.locator(".jp-xtrack-version")
    assert [v.get_attribute("data-version") for v in versions.all()] == ["2", "1"]
    v1 = detail.locator(".jp-xtrack-version[data-version='1']")
    assert "run #1 fit" in v1.inner_text()
    assert "acc 0.81" in v1.locator(".jp-xtrack-version-metrics").inner_text()
    assert "train.csv" in v1.locator(".jp-xtrack-version-data").inner_text()
    history = [li.inner_text() for li in detail.locator(".jp-xtrack-alias-history li").all()]
    assert "new → v1" in history[-1] and "champion" in history[-1]
    assert "v1 → v2" in history[0] and "acc +0.05 on the holdout" in history[0]
    screenshot(page, "models-2-detail-light")


def test_moving_an_alias_records_it_with_the_reason(lab: Any, server: JupyterServer) -> None:
    page = lab
    detail = _open_model(page, "churn")
    form = detail.locator(".jp-xtrack-alias-form")
    form.locator("input[aria-label=Alias]").fill("champion")
    form.locator("select[aria-label=Version]").select_option("1")
    form.locator("input[aria-label=Reason]").fill("v2 drifted in production")
    form.locator("button", has_text="Move alias").click()
    first = detail.locator(".jp-xtrack-alias-history li").first
    wait_for(lambda: "v2 drifted in production" in first.inner_text(), what="history updated")
    assert "v2 → v1" in first.inner_text()
    stored = api_get(server, "models/churn")
    assert stored["model"]["aliases"]["champion"] == 1
    assert stored["history"][-1]["reason"] == "v2 drifted in production"


def test_a_version_opens_the_run_that_made_it(lab: Any) -> None:
    page = lab
    detail = _open_model(page, "churn")
    detail.locator(".jp-xtrack-version[data-version='2'] .jp-xtrack-version-run").click()
    title = page.locator(f"{DETAIL} .jp-xtrack-title")
    wait_for(lambda: title.inner_text().startswith("#2 fit2"), what="run #2 opened")


def test_a_version_leads_to_its_evaluation_and_its_data(lab: Any) -> None:
    """The evaluation link shows only for a run with a report, and opens the run's detail
    scrolled to its Evaluation section; the data link to its Data section."""
    page = lab
    detail = _open_model(page, "churn")
    assert (
        detail.locator(
            ".jp-xtrack-version[data-version='1'] .jp-xtrack-version-evaluation-link"
        ).count()
        == 0
    )
    detail.locator(
        ".jp-xtrack-version[data-version='2'] .jp-xtrack-version-evaluation-link"
    ).click()
    section = page.locator(f"{DETAIL}[data-run-id] [data-section='evaluation']")
    section.wait_for()
    wait_for(lambda: _in_view(page, section), what="the Evaluation section scrolled into view")
    assert section.get_attribute("open") is not None
    screenshot(page, "models-6-version-evaluation-light")
    detail = _open_model(page, "churn")
    detail.locator(".jp-xtrack-version[data-version='1'] .jp-xtrack-version-data-link").click()
    title = page.locator(f"{DETAIL} .jp-xtrack-title")
    wait_for(lambda: title.inner_text().startswith("#1 fit"), what="run #1 opened")
    data = page.locator(f"{DETAIL} [data-section='data']")
    wait_for(lambda: _in_view(page, data), what="the Data section scrolled into view")
    assert "train.csv" in data.inner_text()


def _in_view(page: Any, locator: Any) -> bool:
    """The element's top is inside the sidebar's scrolling view (not below its fold)."""
    return bool(
        locator.evaluate(
            """el => {
                const r = el.getBoundingClientRect();
                let p = el.parentElement;
                while (p && p.scrollHeight <= p.clientHeight) p = p.parentElement;
                const v = p ? p.getBoundingClientRect() : {top: 0, bottom: innerHeight};
                return r.top >= v.top - 1 && r.top < v.bottom;
            }"""
        )
    )


def test_removing_an_alias_keeps_the_reason_in_the_history(lab: Any, server: JupyterServer) -> None:
    page = lab
    detail = _open_model(page, "churn")
    form = detail.locator(".jp-xtrack-alias-form")
    remove = form.locator("button", has_text="Delete alias")
    form.locator("input[aria-label=Alias]").fill("nosuch")
    assert remove.is_disabled()  # only an alias the model has can be removed
    form.locator("input[aria-label=Alias]").fill("candidate")
    form.locator("input[aria-label=Reason]").fill("superseded by v3 tests")
    remove.click()
    first = detail.locator(".jp-xtrack-alias-history li").first
    wait_for(lambda: "superseded by v3 tests" in first.inner_text(), what="history updated")
    assert "candidate" in first.inner_text() and "v2 → removed" in first.inner_text()
    screenshot(page, "models-7-alias-removed-light")
    stored = api_get(server, "models/churn")
    assert "candidate" not in stored["model"]["aliases"]
    assert (stored["history"][-1]["to_version"], stored["history"][-1]["reason"]) == (
        None,
        "superseded by v3 tests",
    )


def test_register_model_from_a_run_detail(lab: Any, server: JupyterServer) -> None:
    page = lab
    show_tab(page, "runs")
    back = page.locator(f"{DETAIL} button", has_text="← Runs")
    if back.count():
        back.click()
    row(page, 3).locator(".jp-xtrack-col-value").first.click()
    section = page.locator(f"{DETAIL} [data-section='register-model']")
    section.wait_for()
    section.locator("input[aria-label='Model name']").fill("fraud")
    section.locator("input[aria-label=Alias]").fill("candidate")
    section.locator("button", has_text="Register model").click()
    status = section.locator("[role=status]")
    wait_for(lambda: "Registered fraud v1" in status.inner_text(), what="registered")
    wait_for(lambda: "fraud v1 (candidate)" in section.inner_text(), what="listed on the run")
    screenshot(page, "models-3-register-light")
    assert [m["name"] for m in api_get(server, "models")["models"]] == ["churn", "fraud"]
    show_tab(page, "models")
    page.locator(f"{MODELS} button", has_text="← Models").click()
    page.locator(f"{MODELS} .jp-xtrack-model-list li[data-model='fraud']").wait_for()


def test_the_models_tab_under_the_dark_theme(lab: Any) -> None:
    page = lab
    use_theme(page, "JupyterLab Dark")
    wait_for(
        lambda: page.evaluate("document.body.dataset.jpThemeLight") == "false", what="dark theme"
    )
    _open_model(page, "churn")
    screenshot(page, "models-4-detail-dark")
    show_tab(page, "runs")
    page.locator(f"{DETAIL} [data-section='register-model']").wait_for()
    screenshot(page, "models-5-register-dark")
    use_theme(page, "JupyterLab Light")
