"""CPU a cell's git and environment capture costs, in the kernel process and in git's processes.

In a git repository of `--files` committed files (bench/common.make_repo): `git_state` (with
the notebooks' stripping, as the recorder calls it) on a clean tree, with a file git ignores
(the store's database) written before each call, on a dirty tree that does not change
between calls, and on one that changes before each call (a tracked file rewritten with a
new size), each without and with the work tree watch (`XTRACK_GIT_WATCH`,
capture/tree_watch.py); and the environment's per-cell part (`installed_distributions`
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
from common import git, make_repo, median, scratch  # noqa: E402


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


def git_rows(
    root: Path, state: Callable[[], object], calls: int, label: str
) -> list[tuple[str, tuple[float, float]]]:
    """git_state's CPU on a clean tree, a dirty one left alone, one changed before each
    call, and (the store's writes) a file git ignores written before each call; with the
    work tree watch, also its first build."""
    target = root / "pkg001" / "mod1.py"
    git(root, "checkout", "-q", "--", ".")
    rows = []
    if label == "watched":
        rows.append((f"{label}: the first call (builds the watch)", per_call(state, 1)))
    state()
    rows.append((f"{label}: clean tree", per_call(state, calls)))
    ignored = root / ".xtrack"
    ignored.mkdir(exist_ok=True)
    (ignored / ".gitignore").write_text("*\n")
    n = [0]

    def store_write() -> None:
        n[0] += 1
        (ignored / "xtrack.db").write_text(str(n[0]))

    state()
    rows.append(
        (
            f"{label}: a file git ignores written before each call",
            per_call(state, calls, store_write),
        )
    )
    target.write_text("VALUE = 'changed'\n")
    old = time.time() - 3600  # older than the racy window: a reused diff is trusted
    os.utime(target, (old, old))
    time.sleep(2.5)
    state()
    rows.append((f"{label}: dirty, unchanged between calls", per_call(state, calls)))

    def edit() -> None:
        n[0] += 1
        target.write_text("VALUE = '" + "x" * n[0] + "'\n")

    rows.append((f"{label}: dirty, a file changed before each call", per_call(state, calls, edit)))
    return rows


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
    rows = []
    for watched in (False, True):
        os.environ["XTRACK_GIT_WATCH"] = "1" if watched else "0"
        rows += git_rows(root, state, args.calls, "watched" if watched else "not watched")
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
