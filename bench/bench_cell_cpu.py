"""The kernel CPU a tracked trivial cell costs, by thread, without a profiler.

In a real ipykernel, in a git repository of `--files` files: `--cells` untracked cells sent
at once (as JupyterLab's Run All sends them), then as many `%%track` cells; after each batch
the kernel waits for the tracker's background work (`xt.flush`) and then `--quiet` seconds (the
work that waits for a quiet kernel: the cards' widgets). Each thread's CPU is read from its
own clock (threads grouped by name, numbers stripped) before and after each batch; the
figure per thread is (tracked batch - untracked batch) / cells. Also printed: the wall
overhead per cell (the kernel's busy status to its reply, tracked minus the untracked
median), p50 and p99, as `bench_track_overhead.py --kernel` measures it.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_cell_cpu.py [--cells 200] [--files 100] [--writes 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_track_overhead import run_all  # noqa: E402
from common import make_repo, median, percentile, scratch  # noqa: E402

CLOCKS = """
import json as _j, os as _o, re as _r, threading as _t, time as _tm
def _xt_clocks():
    out = {}
    for th in _t.enumerate():
        try:
            c = _tm.clock_gettime(_tm.pthread_getcpuclockid(th.ident))
        except Exception:
            continue
        g = _r.sub(r"[-_]?\\d+(_\\d+)?( \\(.*\\))?$", "", th.name)
        out[g] = out.get(g, 0.0) + c
    tm = _o.times()
    out["(process)"] = tm.user + tm.system
    out["(child processes)"] = tm.children_user + tm.children_system
    return out
"""


def settle_and_read(kc: Any, quiet: float) -> dict[str, float]:
    """Wait for the tracker's background work and `quiet` seconds; the kernel's clocks."""
    code = f"import jupyter_xtrack as _xt\n_xt.flush()\n_tm.sleep({quiet})\nprint(_j.dumps(_xt_clocks()))"
    out: list[str] = []
    kc.execute_interactive(
        code,
        timeout=300,
        output_hook=lambda m: (
            out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
        ),
    )
    clocks: dict[str, float] = json.loads("".join(out))
    return clocks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--quiet", type=float, default=2.0, help="seconds of quiet after each batch")
    ap.add_argument(
        "--writes",
        type=int,
        metavar="N",
        help="N data files (git-ignored) in the notebook's folder, and each cell writes one more",
    )
    args = ap.parse_args()
    from jupyter_client.manager import start_new_kernel

    root = make_repo(scratch("cell-cpu-repo"), args.files)
    cell = "x = 1\n"
    if args.writes is not None:  # the kernel's folder is on sys.path: a cell saving there
        (root / ".gitignore").write_text("*.csv\n")
        for i in range(args.writes):
            (root / f"data{i}.csv").write_text("a\n")
        cell = "open(f'out-{time.time_ns()}.csv', 'w').close()\n"
    env = {**os.environ, "XTRACK_STORE": str(root / ".xtrack")}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(root), env=env)
    try:
        kc.execute_interactive(
            "%load_ext jupyter_xtrack\nimport time\ntime.sleep(5)\n" + CLOCKS, timeout=120
        )
        run_all(kc, "%%track\n" + cell, 20)  # warm: widgets, store, environment
        start = settle_and_read(kc, args.quiet)
        plain = run_all(kc, cell, args.cells)
        mid = settle_and_read(kc, args.quiet)
        tracked = run_all(kc, "%%track\n" + cell, args.cells)
        end = settle_and_read(kc, args.quiet)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    base = median(plain)
    over = [t - base for t in tracked]
    print(
        f"ipykernel, Run All of {args.cells} cells, {args.files}-file repository; untracked "
        f"cell median {base * 1000:.2f} ms; wall overhead p50 {percentile(over, 50) * 1000:.2f} "
        f"ms, p99 {percentile(over, 99) * 1000:.2f} ms"
    )
    print("| thread | CPU per untracked cell | per tracked cell | tracked - untracked |")
    print("|---|---:|---:|---:|")
    rows = []
    for name in sorted({*mid, *end}):
        a = (mid.get(name, 0.0) - start.get(name, 0.0)) / args.cells * 1000
        b = (end.get(name, 0.0) - mid.get(name, 0.0)) / args.cells * 1000
        rows.append((b - a, name, a, b))
    for diff, name, a, b in sorted(rows, key=lambda r: (r[1].startswith("("), -r[0])):
        if abs(a) >= 0.005 or abs(b) >= 0.005:
            print(f"| {name} | {a:.2f} ms | {b:.2f} ms | {diff:.2f} ms |")


if __name__ == "__main__":
    main()
