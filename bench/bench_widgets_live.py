"""Cost of the live metrics chart on an `xt.log` loop: 1,000,000 calls in a `%%track`
cell of a real kernel, with the chart shown (widgets on) and without it
(XTRACK_WIDGETS=0: no views at all), alternating, median of --repeat runs each.

    .venv/bin/python bench/bench_widgets_live.py [--points 1000000] [--repeat 5]

Three figures per variant: the loop alone (timed inside the cell), the cell until the
kernel is idle again (what the user waits for: includes freezing the chart into a PNG and
showing the card), and until every point is in SQLite (`xt.flush()` after the cell).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

CELL = (
    "%%track --name bench-live\n"
    "import time as _t\n"
    "_log = xt.log\n"
    "_t0 = _t.perf_counter()\n"
    "for i in range({points}):\n"
    "    _log(step=i, loss=1.0 / (i + 1))\n"
    "_loop_s = _t.perf_counter() - _t0\n"
)


def run(kc: Any, code: str, timeout: float = 600) -> tuple[float, list[dict[str, Any]]]:
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    msgs = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        msgs.append(msg)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    elapsed = time.perf_counter() - t0
    reply = kc.get_shell_msg(timeout=timeout)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(reply["content"])
    return elapsed, msgs


def value_of(kc: Any, expr: str) -> str:
    _, msgs = run(kc, expr)
    for m in msgs:
        if m["msg_type"] == "execute_result":
            return str(m["content"]["data"]["text/plain"])
    raise RuntimeError(f"no value for {expr}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from jupyter_client.manager import start_new_kernel

    work = scratch("widgets_live")
    env = {**os.environ, "XTRACK_STORE": str(work / "store")}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(work), env=env)
    results: dict[str, dict[str, list[float]]] = {
        v: {"loop": [], "cell": [], "stored": [], "frames": [], "listener": []} for v in ("chart", "none")
    }
    try:
        run(kc, "%load_ext jupyter_xtrack")
        # Warm up both paths once (imports of anywidget, matplotlib).
        run(kc, CELL.format(points=10_000))
        run(kc, "xt.flush()")
        for _ in range(args.repeat):
            for variant in ("chart", "none"):
                run(kc, f"%env XTRACK_WIDGETS={'1' if variant == 'chart' else '0'}")
                cell_s, msgs = run(kc, CELL.format(points=args.points))
                flush_s, _ = run(kc, "xt.flush()")
                res = results[variant]
                res["loop"].append(float(value_of(kc, "_loop_s")))
                res["cell"].append(cell_s)
                res["stored"].append(cell_s + flush_s)
                res["frames"].append(sum(1 for m in msgs if m["msg_type"] == "comm_msg"))
                busy = value_of(kc, "getattr(getattr(__import__('jupyter_xtrack.views.cell', "
                                    "fromlist=['LAST']).LAST, 'live', None), 'busy_s', 0.0)")
                res["listener"].append(float(busy) if variant == "chart" else 0.0)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    def row(what: str, key: str) -> str:
        with_chart, without = median(results["chart"][key]), median(results["none"][key])
        extra = (with_chart / without - 1) * 100
        verdict = "meets" if extra <= 10 else "MISSES"
        return (f"| {what} | {with_chart:.3f} s | {without:.3f} s | {extra:+.1f} % | "
                f"≤ +10 % ({verdict}) |")

    n = f"{args.points:,}"
    print(f"| {n} `xt.log` calls in a `%%track` cell (median of {args.repeat}) | chart shown | "
          "no views (`XTRACK_WIDGETS=0`) | cost | goal |")
    print("|---|---|---|---|---|")
    print(row("the loop (timed inside the cell)", "loop"))
    print(row("the cell, until the kernel is idle", "cell"))
    print(row("until every point is in SQLite", "stored"))
    chart = results["chart"]
    print(f"| the live chart's own work (writer-thread listener, per run) | "
          f"{median(chart['listener']):.3f} s | — | "
          f"{median(chart['listener']) / median(results['none']['loop']) * 100:+.1f} % of the loop | |")
    print(f"\nframes pushed to the page per run (median): {median(chart['frames']):.0f}; "
          f"min of loop: chart {min(chart['loop']):.3f} s, none {min(results['none']['loop']):.3f} s")
    for variant, res in results.items():
        print(f"raw {variant}: " + ", ".join(f"{k}=" + "/".join(f"{v:.2f}" for v in vals)
                                               for k, vals in res.items()))


if __name__ == "__main__":
    main()
