"""The runs sidebar's speed in a real browser (Debian's Chromium driven by Playwright)
against a store of 100,000 runs (20 params and 20 metrics each, as bench_store_query.py
builds it; the newest 100 runs also get a 1,000-point `loss` history):

- open: from the click on the sidebar's icon to the first page of the runs table painted
  (rows in the DOM and a frame drawn after them); goal < 1 s.
- sort, scroll: a click sorting by a metric, and a jump half-way down the table, to the rows
  painted; goal < 1 s.
- compare 100: from the click on "Compare (100)" to the compare view painted with its
  params and metrics tables and 100 overlaid `loss` lines; goal < 2 s.

Every repetition loads a fresh JupyterLab page (the sidebar closed, nothing cached in the
page), so each open is a first open.

    .venv/bin/python bench/bench_sidebar_browser.py [--runs 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store_query import build, fingerprint  # noqa: E402

from jupyter_xtrack.store import open_store  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
GOAL_OPEN_S = 1.0
GOAL_COMPARE_S = 2.0
N_COMPARE = 100
N_RUNS = [100_000]  # set from --runs: the newest run's number
HISTORY_POINTS = 1000
WORK = Path(__file__).resolve().parent / ".work"

# Start watching (the promise is kept on window, so evaluate does not wait for it): resolves
# once rows are in the sidebar's table and a frame has been drawn with them.
PAINTED_ROWS = """() => { window.__xtPainted = new Promise(resolve => {
  const poll = () => {
    const row = document.querySelector('#jupyter-xtrack-sidebar .jp-xtrack-row[data-run]');
    if (row && row.offsetParent !== null && row.dataset.run !== window.__xtFirstRun) {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
    } else { requestAnimationFrame(poll); }
  };
  poll();
}); }"""

# Runs in a page from its first moment: when the first rows reach the DOM (hidden or not).
ROWS_ARRIVE = """(() => {
  const poll = () => {
    if (document.querySelector('#jupyter-xtrack-sidebar .jp-xtrack-row[data-run]')) {
      window.__xtRowsAt = performance.now();
    } else { requestAnimationFrame(poll); }
  };
  requestAnimationFrame(poll);
})()"""

# The start of the sidebar's first GET runs request (resource timing).
FIRST_RUNS_REQUEST = """() => Math.min(...performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/xtrack/api/runs?')).map(e => e.startTime))"""

# Resolves once row `i` (by its place in the table) has its run in the DOM, and a frame drawn.
PAINTED_ROW_AT = """(i) => { window.__xtPainted = new Promise(resolve => {
  const poll = () => {
    if (document.querySelector(`#jupyter-xtrack-sidebar .jp-xtrack-row[data-run][data-index="${i}"]`)) {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
    } else { requestAnimationFrame(poll); }
  };
  poll();
}); }"""

SCROLL_TO_ROW = """(i) => { const b = document.querySelector('#jupyter-xtrack-sidebar .jp-xtrack-body');
  b.scrollTop = i * 26; }"""

PAINTED_COMPARE = """(n) => { window.__xtPainted = new Promise(resolve => {
  const poll = () => {
    const view = document.querySelector('#jupyter-xtrack-sidebar .jp-xtrack-detail');
    const chart = view && view.querySelector(".jp-xtrack-panel[data-metric='loss'] .xt-uchart");
    const tables = view && view.querySelectorAll('table.jp-xtrack-compare');
    if (chart && Number(chart.dataset.series) >= n && tables.length >= 2) {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
    } else { requestAnimationFrame(poll); }
  };
  poll();
}); }"""


def store_for(n_runs: int) -> Path:
    """The benchmark store, cached under bench/.work/: bench_store_query.py's runs (its cached
    store copied when it is current) plus a `loss` history on the newest N_COMPARE runs."""
    path = WORK / f"sidebar-store-{n_runs}"
    marker = path / "built-sidebar"
    wanted = f"{fingerprint(n_runs)} loss{N_COMPARE}x{HISTORY_POINTS}"
    if marker.exists() and marker.read_text() == wanted:
        return path
    shutil.rmtree(path, ignore_errors=True)
    source = WORK / f"query-store-{n_runs}"
    start = time.perf_counter()
    if (source / "built").exists() and (source / "built").read_text() == fingerprint(n_runs):
        shutil.copytree(source, path)
    else:
        build(path, n_runs)
    store = open_store(path)
    t0 = 1.79e9
    points: list[tuple[str, str, float, int | None, float]] = []
    for number in range(n_runs - N_COMPARE + 1, n_runs + 1):
        run_id = store.resolve_ref(number)
        points.extend(
            (run_id, "loss", (1 + number % 10) / (s + 1), s, t0 + s) for s in range(HISTORY_POINTS)
        )
    store.log_metrics(points)
    store.close()
    marker.write_text(wanted)
    print(f"prepared {n_runs:,} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def lab_server(store: Path) -> Iterator[str]:
    """A `jupyter lab` reading `store`; yields its base URL with the token."""
    tmp = Path(tempfile.mkdtemp(prefix="xtrack-sidebar-bench-"))
    (tmp / "root").mkdir()
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws")}
    log = (tmp / "lab.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp / 'root'}", f"--XTrack.store={store}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield f"{base}/lab?reset&token={token}"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def measure_once(browser: Any, url: str) -> dict[str, float]:
    """Seconds for: the first page's request to its rows in the DOM while JupyterLab starts
    ("first page"); the click on the icon to the rows painted ("open"); a click sorting by a
    metric to the new first page painted ("sort"); a jump half-way down to its rows painted
    ("scroll"); the click on Compare to the painted 100-run comparison ("compare")."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(ROWS_ARRIVE)
    page = context.new_page()
    page.set_default_timeout(int(os.environ.get("BENCH_TIMEOUT_MS", "120000")))
    out: dict[str, float] = {}
    try:
        page.goto(url)
        tab = page.locator(".jp-SideBar.jp-mod-left li[data-id='jupyter-xtrack-sidebar']")
        tab.wait_for()
        page.wait_for_function("window.__xtRowsAt !== undefined")
        out["first page"] = (page.evaluate("window.__xtRowsAt")
                             - page.evaluate(FIRST_RUNS_REQUEST)) / 1000
        page.wait_for_selector(".jp-LauncherCard", state="visible")  # the lab has settled
        page.wait_for_timeout(500)

        page.evaluate(PAINTED_ROWS)
        t0 = page.evaluate("performance.now()")
        tab.click()
        out["open"] = (page.evaluate("window.__xtPainted") - t0) / 1000

        sort = page.locator("#jupyter-xtrack-sidebar .jp-xtrack-sort[data-col='metrics.acc']")
        sort.scroll_into_view_if_needed()
        page.evaluate("window.__xtFirstRun = document.querySelector("
                      "'#jupyter-xtrack-sidebar .jp-xtrack-row[data-index=\"0\"]').dataset.run")
        page.evaluate(PAINTED_ROWS)
        t0 = page.evaluate("performance.now()")
        sort.click()
        out["sort"] = (page.evaluate("window.__xtPainted") - t0) / 1000
        sort.click()  # ascending
        sort.click()  # back to the default order (newest first), whose runs have histories
        page.wait_for_selector("#jupyter-xtrack-sidebar .jp-xtrack-row[data-index='0']"
                               f"[data-run='{N_RUNS[0]}']")

        # Half-way down the table in one jump (the scrollbar dragged): a page never loaded.
        middle = N_RUNS[0] // 2
        page.evaluate(PAINTED_ROW_AT, middle)
        t0 = page.evaluate("performance.now()")
        page.evaluate(SCROLL_TO_ROW, middle)
        out["scroll"] = (page.evaluate("window.__xtPainted") - t0) / 1000
        page.evaluate(SCROLL_TO_ROW, 0)
        page.wait_for_selector("#jupyter-xtrack-sidebar .jp-xtrack-row[data-index='0']"
                               f"[data-run='{N_RUNS[0]}']")

        for i in range(N_COMPARE):
            page.locator(f"#jupyter-xtrack-sidebar .jp-xtrack-row[data-index='{i}'] "
                         "input[type=checkbox]").check()
        button = page.locator("#jupyter-xtrack-sidebar button", has_text=f"Compare ({N_COMPARE})")
        button.wait_for()
        page.evaluate(PAINTED_COMPARE, N_COMPARE)
        t0 = page.evaluate("performance.now()")
        button.click()
        out["compare"] = (page.evaluate("window.__xtPainted") - t0) / 1000
        return out
    finally:
        context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    N_RUNS[0] = args.runs
    store = store_for(args.runs)
    results: dict[str, list[float]] = {}
    with lab_server(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        measure_once(browser, url)  # warm the server's and the OS's caches
        for _ in range(args.repeat):
            once = measure_once(browser, url)
            for key, value in once.items():
                results.setdefault(key, []).append(value)
            print(", ".join(f"{k} {v * 1000:.0f} ms" for k, v in once.items()), file=sys.stderr)
        browser.close()
    print(f"{args.runs:,} runs, Chromium headless, median of {args.repeat} (first run discarded)")
    print()
    print("| what | median | min..max | goal | status |")
    print("|---|---:|---:|---:|---|")
    for label, values, goal in (
        ("first page while JupyterLab starts: GET runs sent -> rows in the DOM",
         results["first page"], GOAL_OPEN_S),
        ("open the sidebar: click on its icon -> first page painted", results["open"],
         GOAL_OPEN_S),
        (f"sort {args.runs:,} runs by metrics.acc: click -> new first page painted", results["sort"],
         GOAL_OPEN_S),
        (f"scroll to row {args.runs // 2:,} in one jump -> its rows painted", results["scroll"],
         GOAL_OPEN_S),
        (f"compare {N_COMPARE} runs: click -> tables + {N_COMPARE} overlaid histories painted",
         results["compare"], GOAL_COMPARE_S),
    ):
        med = statistics.median(values)
        print(f"| {label} | {med * 1000:.0f} ms | {min(values) * 1000:.0f}..{max(values) * 1000:.0f}"
              f" ms | < {goal:.0f} s | {'met' if med < goal else 'MISSED'} |")


if __name__ == "__main__":
    main()
