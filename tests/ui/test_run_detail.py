"""The sidebar's run detail shows every fact the store keeps (issue 13, defects 2-6 and 10):
data with in-memory fingerprints, resources, hardware, environment search, the full
traceback, a search's children and leaderboard, artifact previews, the git diff by file
with notebooks as their cell sources, bookkeeping apart; Escape goes back; "Open in
sidebar" on a real run card opens the run; Jobs lists foreground searches; the in-notebook
compare view's differing rows are readable in the dark theme."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import JupyterServer, browser_page, running_server, screenshot
from .jobs_page import JOBS, show_tab
from .notebook_page import cell, open_notebook, run_cell, wait_cell_done
from .sidebar_page import (
    SIDEBAR,
    _rgb,
    back_to_runs,
    contrast,
    open_from_tab,
    row,
    run_numbers,
    use_theme,
    wait_for,
)

NB_DIFF = (
    "diff --git a/explore.ipynb b/explore.ipynb\n--- a/explore.ipynb\n+++ b/explore.ipynb\n"
    '@@ -10,7 +10,7 @@\n    "source": [\n-    "lr = 0.1\\n",\n+    "lr = 0.01\\n",\n'
    '     "fit(lr)"\n    ]\n@@ -40,2 +40,2 @@\n'
    '-      "image/png": "iVBORw0KGgoAAAA",\n+      "image/png": "iVBORw0KGgoBBBB",\n'
    "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
)
TRACEBACK = 'Traceback (most recent call last):\n  File "<cell>", line 3, in <module>\n    fit(x)\n  File "<cell>", line 1, in fit\nValueError: bad shape (3, 4)'


def fill(store_dir: Path) -> dict[str, str]:
    """A trained run with every fact, a failed run, and a foreground sweep of 3 trials."""
    from jupyter_xtrack.store import open_store

    t0 = time.time() - 600
    ids: dict[str, str] = {}
    with open_store(store_dir) as s:
        rid, _ = s.create_run(
            name="trained",
            experiment="iris",
            started_at=t0,
            tags={"team": "ml", "xtrack.launch.cell_id": "c-1"},
        )
        ids["trained"] = rid
        s.set_params(rid, {"lr": 0.01, "depth": 4})
        s.log_metrics(
            [(rid, "acc", 0.5 + s_ / 40, s_, t0 + s_) for s_ in range(10)]
            + [(rid, "f1", 0.8, None, t0), (rid, "job_progress", 1.0, None, t0)]
        )
        env = {
            "python": {"version": "3.11.9"},
            "platform": {"system": "Linux"},
            "imported": {"numpy": "2.1.0"},
            "packages": {"numpy": "2.1.0", "pandas": "2.2.3"},
            "env_vars": {"OMP_NUM_THREADS": "4"},
            "hardware": {
                "cpu_model": "Test CPU 9000",
                "cores_logical": 8,
                "cores_physical": 4,
                "memory_bytes": 16 << 30,
                "gpus": [],
            },
        }
        s.set_facts(
            rid,
            code={"hash": s.put_blob(b"lr = 0.01\nfit(lr)\n"), "kind": "cell", "lines": 2},
            env={"hash": s.put_blob(json.dumps(env).encode()), "python": "3.11.9"},
            git={
                "commit": "a" * 40,
                "branch": "main",
                "dirty": True,
                "diff_hash": s.put_blob(NB_DIFF.encode()),
                "diff_bytes": len(NB_DIFF),
            },
            resources={
                "wall_s": 4.2,
                "cpu_s": 3.5,
                "peak_rss_bytes": 512 << 20,
                "peak_rss_scope": "process",
            },
            datasets=[
                {
                    "name": "df",
                    "kind": "DataFrame",
                    "shape": [150, 5],
                    "hash": "xxh3_128:" + "7" * 32,
                }
            ],
        )
        for name, data in [
            ("table.csv", b"lr,acc\n0.1,0.5\n0.01,0.9\n"),
            ("scores.json", b'{"acc": 0.9}'),
            ("report.html", b"<h1>Report</h1><script>document.title='x'</script>"),
        ]:
            s.add_artifact(rid, name, blob=s.put_blob(data), size=len(data), media_type=None)
        s.finish_run(rid, status="finished", ended_at=t0 + 5)

        bad, _ = s.create_run(name="broken", experiment="iris", started_at=t0 + 10)
        ids["broken"] = bad
        s.set_facts(
            bad, error={"type": "ValueError", "message": "bad shape (3, 4)", "traceback": TRACEBACK}
        )
        s.finish_run(bad, status="failed", ended_at=t0 + 11)

        sweep, _ = s.create_run(
            name="fg-sweep", experiment="iris", kind="sweep", started_at=t0 + 20
        )
        ids["sweep"] = sweep
        s.set_params(sweep, {"sweep.metric": "loss"})
        trials = []
        for i, loss in enumerate([0.4, 0.1, 0.3]):
            child, _ = s.create_run(
                name=f"trial {i}",
                parent_id=sweep,
                kind="trial",
                experiment="iris",
                started_at=t0 + 21 + i,
            )
            s.log_metrics([(child, "loss", loss, None, t0 + 21 + i)])
            s.finish_run(child, status="finished", ended_at=t0 + 22 + i)
            trials.append(child)
        ids["best_trial"] = trials[1]
        s.set_tags(
            sweep,
            {
                "xtrack.sweep.state": "finished",
                "xtrack.sweep.progress": "3/3",
                "xtrack.sweep.direction": "minimize",
                "xtrack.sweep.best_run": trials[1],
            },
        )
        s.log_metrics([(sweep, "best_value", 0.1, 2, t0 + 25)])
        s.finish_run(sweep, status="finished", ended_at=t0 + 26)
    return ids


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> Iterator[tuple[JupyterServer, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("detail")
    ids = fill(tmp / "store")
    with running_server("lab", tmp) as srv:
        yield srv, ids


@pytest.fixture(scope="module")
def lab(browser: Any, env: tuple[JupyterServer, dict[str, str]]) -> Iterator[Any]:
    server, _ = env
    with browser_page(browser, 20_000) as pg:
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        wait_for(lambda: len(run_numbers(pg)) >= 3, what="runs listed")
        yield pg


def open_run(page: Any, number: int) -> Any:
    back_to_runs(page)
    row(page, number).locator(".jp-xtrack-col-value").first.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    detail.wait_for()
    return detail


def section(detail: Any, name: str) -> Any:
    """A section of the run detail, opened."""
    sec = detail.locator(f"details[data-section='{name}']")
    if sec.get_attribute("open") is None:
        sec.locator("summary").first.click()
    return sec


def test_run_detail_shows_every_fact(lab: Any) -> None:
    page = lab
    detail = open_run(page, 1)
    wait_for(lambda: "trained" in detail.locator(".jp-xtrack-title").inner_text(), what="title")
    # Data: the in-memory DataFrame's fingerprint, not "0 in, 0 out".
    data = section(detail, "data")
    assert "1 in memory" in data.locator("summary").inner_text()
    assert "df" in data.inner_text() and "150 × 5" in data.inner_text()
    res = section(detail, "resources").inner_text()
    assert "CPU time" in res and "3.5" in res and "peak memory" in res
    assert "Test CPU 9000" in section(detail, "hardware").inner_text()
    envsec = section(detail, "environment")
    envsec.locator("input.jp-xtrack-env-search").fill("pandas")
    wait_for(lambda: envsec.locator("table.jp-xtrack-env tr").count() == 1, what="env filtered")
    assert "2.2.3" in envsec.locator("table.jp-xtrack-env").inner_text()
    # Bookkeeping apart: job_progress and xtrack.* tags only in the System section.
    metrics = section(detail, "metrics").inner_text()
    assert "acc" in metrics and "job_progress" not in metrics
    assert "xtrack.launch" not in section(detail, "tags").inner_text()
    system = section(detail, "system").inner_text()
    assert "job_progress" in system and "xtrack.launch.cell_id" in system
    # A metric logged once (f1) has no chart and no red "has no metric" box.
    section(detail, "metrics").locator("figure[data-metric='acc']").wait_for()
    assert detail.locator(".jp-xtrack-error").count() == 0
    # Artifacts previewed: CSV as a table, JSON, HTML in a sandboxed frame.
    arts = section(detail, "artifacts")
    arts.locator("[data-artifact='table.csv'] table td", has_text="0.01").wait_for()
    arts.locator("[data-artifact='scores.json'] pre", has_text='"acc": 0.9').wait_for()
    frame = arts.locator("[data-artifact='report.html'] iframe")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""
    # Git: one entry per file; the notebook as its cell sources, no base64 output.
    git = section(detail, "git")
    nb = git.locator("details.jp-xtrack-filediff[data-path='explore.ipynb']")
    assert "lr = 0.01" in nb.inner_text() and "iVBOR" not in nb.inner_text()
    assert git.locator("details.jp-xtrack-filediff[data-path='train.py']").count() == 1
    screenshot(page, "run-detail-light")
    use_theme(page, "JupyterLab Dark")
    try:
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        time.sleep(0.5)
        screenshot(page, "run-detail-dark")
    finally:
        use_theme(page, "JupyterLab Light")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")
    # Escape goes back to the table.
    detail.locator(".jp-xtrack-title").click()
    page.keyboard.press("Escape")
    page.locator(f"{SIDEBAR} .jp-xtrack-runs").wait_for(state="visible")
    assert page.locator(f"{SIDEBAR} .jp-xtrack-detail").count() == 0


def test_full_traceback(lab: Any) -> None:
    detail = open_run(lab, 2)
    tb = section(detail, "error").locator("pre.jp-xtrack-traceback")
    assert "line 3, in <module>" in tb.inner_text() and "fit(x)" in tb.inner_text()


def test_children_leaderboard_and_best_run_link(
    lab: Any, env: tuple[JupyterServer, dict[str, str]]
) -> None:
    _, ids = env
    detail = open_run(lab, 3)
    board = section(detail, "children").locator("table.jp-xtrack-leaderboard")
    board.locator("tbody tr").nth(2).wait_for()
    order = [r.get_attribute("data-run-id") for r in board.locator("tbody tr").all()]
    assert order[0] == ids["best_trial"]  # loss 0.1 first: the sweep minimises
    assert "best" in board.locator("tbody tr").first.inner_text()
    screenshot(lab, "run-detail-children")
    # The sweep's best_run tag is a link to that run.
    section(detail, "system").locator("button", has_text="open run").click()
    wait_for(
        lambda: (
            lab.locator(f"{SIDEBAR} .jp-xtrack-detail").get_attribute("data-run-id")
            == ids["best_trial"]
        ),
        what="the best trial opened",
    )


def test_jobs_lists_a_foreground_sweep(lab: Any, env: tuple[JupyterServer, dict[str, str]]) -> None:
    _, ids = env
    page = lab
    show_tab(page, "jobs")
    job = page.locator(f"{JOBS} .jp-xtrack-job[data-run-id='{ids['sweep']}']")
    job.wait_for()
    text = job.inner_text()
    assert "3 / 3" in text and "3 trials" in text and "loss 0.1 ↓" in text
    assert "foreground" in text and job.locator("button.jp-xtrack-job-cancel").count() == 0
    screenshot(page, "jobs-foreground-light")
    use_theme(page, "JupyterLab Dark")
    try:
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        time.sleep(0.5)
        screenshot(page, "jobs-foreground-dark")
    finally:
        use_theme(page, "JupyterLab Light")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")
    show_tab(page, "runs")


def _blend(colour: str, under: str) -> str:
    """`colour` (maybe translucent) painted over opaque `under`, as rgb()."""
    inner = (
        colour[colour.index("(") + 1 : colour.rindex(")")]
        .replace(",", " ")
        .replace("/", " ")
        .split()
    )
    alpha = (
        float(inner[-1])
        if (colour.startswith("color(") and len(inner) == 5)
        or (colour.startswith("rgba") and len(inner) == 4)
        else 1.0
    )
    top, bottom = _rgb(colour), _rgb(under)
    mixed = [alpha * t + (1 - alpha) * b for t, b in zip(top, bottom, strict=True)]
    return "rgb({})".format(", ".join(str(round(c * 255)) for c in mixed))


def test_open_in_sidebar_and_dark_compare(
    page: Any, env: tuple[JupyterServer, dict[str, str]]
) -> None:
    """A real tracked cell's card offers "Open in sidebar" (the lab extension sets the flag
    and listens: before, the button never appeared) and it opens that run; the compare
    view's differing rows keep readable text in the dark theme (before: light text on a
    light peach background)."""
    server, _ = env
    server.write_notebook(
        "card.ipynb",
        "%load_ext jupyter_xtrack",
        "%%track --name nb-a\nlr = 0.1\nxt.log(acc=0.5)",
        "%%track --name nb-b\nlr = 0.2\nxt.log(acc=0.7)",
        "r = xt.runs(filter=\"name in ('nb-a', 'nb-b')\")\nxt.compare(*r.id)",
    )
    open_notebook(page, server, "card.ipynb")
    for i in range(4):
        run_cell(page, i)
        wait_cell_done(page, i)
    button = cell(page, 2).locator(".xt-card .xt-open-sidebar")
    button.wait_for()
    button.click()
    detail = page.locator(f"{SIDEBAR} .jp-xtrack-detail")
    detail.wait_for()
    wait_for(lambda: "nb-b" in detail.locator(".jp-xtrack-title").inner_text(), what="nb-b opened")
    page.keyboard.press("Escape")
    page.locator(f"{SIDEBAR} .jp-xtrack-runs").wait_for(state="visible")
    differs = cell(page, 3).locator("tr.xt-differs td").first
    differs.wait_for()
    use_theme(page, "JupyterLab Dark")
    try:
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        time.sleep(0.5)
        fg, bg = differs.evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        )
        under = page.evaluate(
            "() => getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor"
        )
        assert contrast(fg, _blend(bg, under)) >= 4.5, (fg, bg, under)
        differs.scroll_into_view_if_needed()
        screenshot(page, "notebook-compare-dark")
    finally:
        use_theme(page, "JupyterLab Light")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")
    fg, bg = differs.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    under = page.evaluate(
        "() => getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor"
    )
    assert contrast(fg, _blend(bg, under)) >= 4.5, (fg, bg, under)
    screenshot(page, "notebook-compare-light")
