"""CPU a cell's git and environment capture costs, in the kernel process and in git's processes.

In a git repository of `--files` committed files (bench/common.make_repo): `git_state` (with
the notebooks' stripping, as the recorder calls it) on a clean tree, on a dirty tree that
does not change between calls, and on one that changes before each call (a tracked file
rewritten with a new size); and the environment's per-cell part (`installed_distributions`
plus `imported_distributions(sys.modules)` after importing pandas and scikit-learn). CPU is
the process's own (all threads) plus its waited-for children's (git), per call, median of
`--calls`; CPU, not wall time, so the machine's load hardly moves it.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_git_env_reuse.py [--files 10000] [--calls 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_repo, median, scratch  # noqa: E402


def cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def per_call(
    fn: Callable[[], object], calls: int, before: Callable[[], None] = lambda: None
) -> tuple[float, float]:
    """Median (own CPU, children's CPU) in ms of `calls` calls, `before` untimed."""
    own: list[float] = []
    kids: list[float] = []
    for _ in range(calls):
        before()
        a = cpu()
        fn()
        b = cpu()
        own.append((b[0] - a[0]) * 1000)
        kids.append((b[1] - a[1]) * 1000)
    return median(own), median(kids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    root = make_repo(scratch("git-env-reuse"), args.files)
    from jupyter_xtrack.capture.env import imported_distributions, installed_distributions
    from jupyter_xtrack.capture.git import git_state
    from jupyter_xtrack.notebook.gitdiff import strip_for_git_diff

    state = lambda: git_state(str(root), strip_notebooks=strip_for_git_diff)  # noqa: E731
    target = root / "pkg001" / "mod1.py"
    rows = []
    state()
    rows.append(("git_state, clean tree", per_call(state, args.calls)))
    target.write_text("VALUE = 'changed'\n")
    old = time.time() - 3600  # older than the racy window: a reused diff is trusted
    os.utime(target, (old, old))
    time.sleep(2.5)
    state()
    rows.append(("git_state, dirty, unchanged between calls", per_call(state, args.calls)))
    n = [0]

    def edit() -> None:
        n[0] += 1
        target.write_text("VALUE = '" + "x" * n[0] + "'\n")

    rows.append(
        ("git_state, dirty, a file changed before each call", per_call(state, args.calls, edit))
    )
    import pandas  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    def env() -> None:
        installed_distributions()
        imported_distributions(list(sys.modules))

    env()
    rows.append(("environment: installed + imported distributions", per_call(env, args.calls)))
    print(f"repository: {args.files} files; {args.calls} calls each; load {os.getloadavg()[0]:.1f}")
    print("| per call, median | kernel process CPU | git processes' CPU |")
    print("|---|---:|---:|")
    for label, (own, kids) in rows:
        print(f"| {label} | {own:.2f} ms | {kids:.2f} ms |")


if __name__ == "__main__":
    main()
