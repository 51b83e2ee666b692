"""Per-cell costs of the capture functions that %%track calls on (or just off) the hot path.

Inside a git repository of 10,000 committed files: git_head, git_state, imported_distributions
(warm, all of sys.modules after importing pandas, sklearn and torch; and again after 40 new
module names), allowed_env, codec.dumps of an evaluation's curves, analyze_cell on a
20-line cell, ResourceMeter start+stop, FileAccessRecorder start+stop, redact of a 1 MB diff.
Median (and p95) of many calls each.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_capture_percell.py
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_repo, median, percentile, scratch  # noqa: E402

from jupyter_xtrack.capture import env  # noqa: E402
from jupyter_xtrack.capture.data import FileAccessRecorder  # noqa: E402
from jupyter_xtrack.capture.env import imported_distributions  # noqa: E402
from jupyter_xtrack.capture.git import git_head, git_state  # noqa: E402
from jupyter_xtrack.capture.params import analyze_cell  # noqa: E402
from jupyter_xtrack.capture.redact import allowed_env, redact  # noqa: E402
from jupyter_xtrack.capture.resources import ResourceMeter  # noqa: E402
from jupyter_xtrack.store.codec import dumps  # noqa: E402

CELL = "\n".join(
    ["import numpy as np", "lr = 0.01", "epochs = 10", "layers = [64, 32]"]
    + [f"x{i} = np.arange({i}) * lr + x{i - 1}.sum() if {i} else 0" for i in range(14)]
    + ["val_acc = float(x13.mean())", "val_acc"]
)


def report(label: str, fn: Callable[[], object], n: int) -> None:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    print(f"   {label:44s} median {median(times) * 1e3:8.3f} ms   p95 "
          f"{percentile(times, 95) * 1e3:8.3f} ms   (n={n})")


def main() -> None:
    import pandas  # noqa: F401
    import sklearn  # noqa: F401
    import torch  # noqa: F401

    repo = make_repo(scratch("capture_percell"), 10_000)
    (repo / "pkg000" / "mod0.py").write_text("VALUE = -1\n")  # one dirty file
    os.chdir(repo / "pkg042")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{len(sys.modules)} modules imported, repo of 10,000 files")
    report("git_head (no subprocess)", lambda: git_head("."), 2000)
    report("git_state (status + diff + remote)", lambda: git_state("."), 20)
    report("imported_distributions(sys.modules), warm", lambda: imported_distributions(
        sys.modules), 2000)
    modules = list(sys.modules)

    def grown() -> object:  # a cell imported 40 modules: the set is not in the cache
        env._imported_cache.clear()
        return imported_distributions([*modules, *(f"fresh{i}" for i in range(40))])

    report("imported_distributions, 40 new modules", grown, 500)
    report("allowed_env(os.environ), unchanged", lambda: allowed_env(os.environ), 2000)
    curves = {"fpr": [i / 5000 for i in range(5000)], "tpr": [i / 5000 for i in range(5000)]}
    report("codec.dumps, 10,000 finite floats", lambda: dumps(curves), 500)
    report("analyze_cell, 20-line cell", lambda: analyze_cell(CELL), 2000)
    meter = ResourceMeter()
    report("ResourceMeter start+stop", lambda: (meter.start(), meter.stop()), 2000)
    rec = FileAccessRecorder()
    report("FileAccessRecorder start+stop (no opens)", lambda: (rec.start(), rec.stop()), 2000)
    diff = ("+    password = compute(x)  # ordinary changed line\n" * 20_000)[:1_000_000]
    report("redact, 1 MB diff", lambda: redact(diff), 20)


if __name__ == "__main__":
    main()
