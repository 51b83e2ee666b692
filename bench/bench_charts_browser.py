"""Chart render time in a real browser (Debian's Chromium, headless, through Playwright):
100 runs x 10,000 points of one metric overlaid in one chart, 800 x 300 px.

- uPlot: the shared chart module (labextension/src/chartcore.ts, bundled by the npm build
  into jupyter_xtrack/views/static/chartcore.js), as the sidebar's Compare and the
  in-notebook views draw it: from the call to the next frame painted.
- anchor: the hand-drawn SVG chart it replaces (views.js's `chart()` at git ref
  --before, default `main`), the same data, the same measure.

Each repetition draws into a fresh page. The figure is the median of --repeat runs.

    .venv/bin/python bench/bench_charts_browser.py [--runs 100] [--points 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "jupyter_xtrack" / "views" / "static" / "chartcore.js"
CHROMIUM = "/usr/bin/chromium"

# 100 noisy 1/step losses: the data that made the old chart collapse onto its axis.
DATA_JS = """
window.makeSeries = (runs, points) => {
  const out = [];
  for (let r = 0; r < runs; r++) {
    const step = new Float64Array(points), value = new Float64Array(points);
    let seed = r + 1;
    for (let i = 0; i < points; i++) {
      seed = (seed * 16807) % 2147483647;
      step[i] = i;
      value[i] = (1 + r / runs) / (i + 1) + (seed / 2147483647) * 0.01;
    }
    out.push({ label: `run ${r}`, step, value });
  }
  return out;
};
window.nextPaint = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
"""

UPLOT_JS = """async ([runs, points]) => {
  const series = makeSeries(runs, points);
  const el = document.createElement('div');
  document.body.append(el);
  const t0 = performance.now();
  XtrackChart.createChart(el, series, { title: 'loss', width: 800, height: 300, logY: true });
  await nextPaint();
  return performance.now() - t0;
}"""

SVG_JS = """async ([runs, points]) => {
  const series = makeSeries(runs, points);
  const t0 = performance.now();
  const svg = chart(series.map(s => ({ label: s.label, xs: s.step, ys: s.value })), { width: 800, height: 300 });
  document.body.append(svg);
  await nextPaint();
  return performance.now() - t0;
}"""


def old_chart_source(ref: str) -> str:
    """views.js's hand-drawn `chart()` and its helpers at `ref`, as a classic script."""
    text = subprocess.run(
        ["git", "show", f"{ref}:jupyter_xtrack/views/static/views.js"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    start = text.index("const SVG_NS")
    end = text.index("// Re-render at most once per animation frame")
    return text[start:end].replace("export function", "function") + "\nwindow.chart = chart;"


def measure(browser: Any, scripts: list[str], fn: str, runs: int, points: int) -> float:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(content=DATA_JS)
        for script in scripts:
            page.add_script_tag(content=script)
        return float(page.evaluate(fn, [runs, points]))
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default="main", help="git ref of the SVG chart to compare with")
    parser.add_argument("--no-anchor", action="store_true")
    args = parser.parse_args()
    if not BUNDLE.is_file():
        sys.exit(f"{BUNDLE} is missing: run the npm build (npm run build:prod in labextension/)")
    from playwright.sync_api import sync_playwright

    bundle = BUNDLE.read_text(encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        rows = [("uPlot (chartcore)", [bundle], UPLOT_JS)]
        if not args.no_anchor:
            rows.append(
                (f"hand-drawn SVG ({args.before})", [old_chart_source(args.before)], SVG_JS)
            )
        print(f"{args.runs} runs x {args.points:,} points, median of {args.repeat}:")
        for name, scripts, fn in rows:
            times = [
                measure(browser, scripts, fn, args.runs, args.points) for _ in range(args.repeat)
            ]
            print(
                f"  {name:32s} {statistics.median(times):8.0f} ms  (runs: {', '.join(f'{t:.0f}' for t in times)})"
            )
        browser.close()


if __name__ == "__main__":
    main()
