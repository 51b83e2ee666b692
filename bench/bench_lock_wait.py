"""A run started while another process holds the store's write lock: how long the code
waits before it runs, whether the run is recorded, and how long after the lock frees its
points are in the store.

    .venv/bin/python bench/bench_lock_wait.py [--hold 5] [--repeat 5] [--points 10000]

Each repeat: a helper process takes the lock (BEGIN IMMEDIATE) and holds it `--hold`
seconds; this process then runs `with xt.start_run(): xt.log(...)` `--points` times. "start"
is the time `start_run()` took; "recorded" whether the run ended `finished` with every point;
"stored after release" the time from the lock's release to the points being in the store.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print(time.time(), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hold", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--points", type=int, default=10_000)
    args = ap.parse_args()
    work = scratch("lock-wait")
    os.environ["XTRACK_STORE"] = str(work / "store")
    import jupyter_xtrack as xt

    with xt.start_run(name="warm"):
        xt.log(x=0)
    xt.flush()
    db = str(xt.open_store().root / "xtrack.db")
    starts, recorded, after = [], 0, []
    for _ in range(args.repeat):
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, db, str(args.hold)],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.perf_counter()
        run = xt.start_run(name="locked")
        starts.append(time.perf_counter() - t0)
        with run:
            for i in range(args.points):
                xt.log(x=i)
        released = float(holder.stdout.readline())
        holder.wait()
        xt.flush(timeout=120)
        from jupyter_xtrack.tracking.recorder import wait_pending

        wait_pending()
        after.append(time.time() - released)
        if run.recorded:
            stored = xt.get_run(run.id)
            if stored.status == "finished" and len(stored.history("x")) == args.points:
                recorded += 1
    print(f"lock held {args.hold:g} s, {args.points} points, {args.repeat} repeats")
    print(f"start_run() while locked: median {median(starts) * 1000:.0f} ms "
          f"(max {max(starts) * 1000:.0f} ms)")
    print(f"runs recorded in full: {recorded}/{args.repeat}")
    print(f"stored after the lock freed: median {median(after) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
