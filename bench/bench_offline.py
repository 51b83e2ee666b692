"""What an unreachable team store costs a tracked cell (tracking/team.py).

In a real InteractiveShell with the extension loaded, in a small git repository:

- steady state: the wall time of a trivial `%%track` cell with the local store, and with
  `XTRACK_STORE` at a PostgreSQL URL whose port refuses connections (runs kept locally,
  the team store retried at most once a minute);
- the kernel's first tracked cell (the tracker reset before each): local store, a refused
  port, and a port that accepts and never answers (a hung server or a dropping firewall:
  the first run waits `FIRST_WAIT_S`, then goes local);
- anchor (`--mlflow`): MLflow's `start_run()` with its tracking URI at a refused port, with
  MLflow's default retries; it is measured once (it takes minutes).

    .venv/bin/python bench/bench_offline.py [--cells 200] [--firsts 5] [--mlflow]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git, median, percentile, scratch  # noqa: E402

CELL = "%%track\nx = 1\n"
BLOCK = 20


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cell_times(shell: Any, n: int) -> list[float]:
    import jupyter_xtrack as xt

    times = []
    for _ in range(n):
        xt.flush()  # the previous cell's background work is not timed
        t0 = time.perf_counter()
        shell.run_cell(CELL, store_history=True)
        times.append(time.perf_counter() - t0)
    return times


def first_cell(shell: Any, store: str | None) -> float:
    """The first tracked cell of a fresh tracker whose XTRACK_STORE is `store`."""
    import jupyter_xtrack as xt
    from jupyter_xtrack.tracking.session import CONTEXT

    xt.flush()
    CONTEXT.reset()
    if store is None:
        os.environ.pop("XTRACK_STORE", None)
    else:
        os.environ["XTRACK_STORE"] = store
    t0 = time.perf_counter()
    shell.run_cell(CELL, store_history=True)
    return time.perf_counter() - t0


def mlflow_unreachable() -> float:
    import mlflow

    mlflow.set_tracking_uri(f"http://127.0.0.1:{closed_port()}")
    t0 = time.perf_counter()
    try:
        with mlflow.start_run():
            pass
    except Exception:  # noqa: BLE001 - the failure is what is measured
        pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--firsts", type=int, default=5)
    ap.add_argument("--mlflow", action="store_true", help="also MLflow's client (minutes)")
    args = ap.parse_args()
    root = scratch("offline")
    git(root, "init", "-q", "-b", "main")
    os.chdir(root)
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    refused = f"postgresql://xtrack@127.0.0.1:{closed_port()}/xtrack"
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts into its backlog, never answers
    hung = f"postgresql://xtrack@127.0.0.1:{silent.getsockname()[1]}/xtrack"

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_xtrack")
    quiet = io.StringIO()
    with redirect_stdout(quiet), redirect_stderr(quiet):
        firsts: dict[str, list[float]] = {"local": [], "refused": [], "hung": []}
        for _ in range(args.firsts):
            for label, store in (("local", None), ("refused", refused), ("hung", hung)):
                firsts[label].append(first_cell(shell, store))
        # Steady state, in alternating blocks so that neither series runs on a busier
        # machine or a larger store than the other.
        steady: dict[str | None, list[float]] = {None: [], refused: []}
        for _ in range(max(1, args.cells // BLOCK)):
            for store, times in steady.items():
                first_cell(shell, store)
                cell_times(shell, 3)  # warm
                times.extend(cell_times(shell, BLOCK))
        local, offline = steady[None], steady[refused]
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    print(
        f"trivial `%%track` cell, {len(local)} cells each (alternating blocks of {BLOCK}); "
        f"first cells: {args.firsts} each"
    )
    print("| what | p50 | p99 |")
    print("|---|---|---|")
    print(f"| cell, local store | {ms(percentile(local, 50))} | {ms(percentile(local, 99))} |")
    print(
        f"| cell, team store refused (kept locally) | {ms(percentile(offline, 50))} | "
        f"{ms(percentile(offline, 99))} |"
    )
    for label in firsts:
        print(f"| first cell, {label} | {ms(median(firsts[label]))} (median) | |")
    if args.mlflow:
        print(
            f"| anchor: MLflow start_run(), tracking server refused (once) | "
            f"{mlflow_unreachable():.1f} s, then raises | |"
        )


if __name__ == "__main__":
    main()
