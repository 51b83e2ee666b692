"""A scikit-learn cell tracked and plain, in an IPython shell without a kernel: what the
tracker's hooks and threads cost a cell of real work when no front end, card widget or
IOPub thread is involved. Each pair runs the plain cell, then the tracked one (as Run All
sends them: no pause); printed are the plain cell's median wall time and the medians of the
per-pair differences in wall time and in process CPU (all threads).

    PYTHONPATH=<folder holding jupyter_xtrack> .venv/bin/python bench/bench_shell_cell.py [--pairs 16]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

SETUP = (
    "from sklearn.datasets import load_digits\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = load_digits(return_X_y=True)"
)
BODY = "m = LogisticRegression(max_iter=200).fit(X[:600], y[:600])\nacc = m.score(X[600:], y[600:])"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=16)
    args = parser.parse_args()
    work = scratch("shell-cell")
    os.environ["XTRACK_STORE"] = str(work / "store")
    os.chdir(Path(__file__).resolve().parent / "gallery_overhead")  # in this git repository
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext jupyter_xtrack")
    shell.run_cell(SETUP)
    wall: dict[str, list[float]] = {"plain": [], "tracked": []}
    cpu: dict[str, list[float]] = {"plain": [], "tracked": []}
    for _ in range(args.pairs):
        for kind, code in (("plain", BODY), ("tracked", "%%track\n" + BODY)):
            w0, c0 = time.perf_counter(), time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):
                shell.run_cell(code)
            wall[kind].append((time.perf_counter() - w0) * 1000)
            cpu[kind].append((time.process_time() - c0) * 1000)
    d_wall = [t - p for t, p in zip(wall["tracked"], wall["plain"], strict=True)]
    d_cpu = [t - p for t, p in zip(cpu["tracked"], cpu["plain"], strict=True)]
    import jupyter_xtrack

    print(f"{Path(jupyter_xtrack.__file__).parent.parent}: plain cell {median(wall['plain']):.1f} ms; "
          f"tracked - plain, paired medians: wall {median(d_wall):.1f} ms, "
          f"process CPU {median(d_cpu):.1f} ms ({args.pairs} pairs)")


if __name__ == "__main__":
    main()
