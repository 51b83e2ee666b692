"""`%%track` overhead on a trivial cell, warm, in a git repository of 10,000 files.

Measured in a real InteractiveShell: the wall time of `run_cell` for a tracked trivial cell
minus the median of the same cell untracked. Anchor, in the same process and repository:
MLflow's run start + end (SQLite backend) around the same trivial cell.

With `--kernel`: in a real ipykernel instead (so each tracked cell also shows its run card,
and the card becomes a widget), every cell sent at once as JupyterLab's Run All sends them;
a cell's time is the kernel's own (its busy status to its reply, both stamped by the
kernel), tracked minus the median of the same cell untracked in the same kernel.

    .venv/bin/python bench/bench_track_overhead.py [--cells 300] [--kernel] [--git-watch off]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_repo, median, percentile, scratch  # noqa: E402


def time_cells(shell, source: str, n: int, settle) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        settle()
        t0 = time.perf_counter()
        shell.run_cell(source, store_history=True, silent=False)
        times.append(time.perf_counter() - t0)
    return times


def run_all(kc, source: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Send `source` `n` times at once; each request's kernel time, busy status to reply."""
    from datetime import datetime

    sent = [kc.execute(source) for _ in range(n)]
    replies: dict[str, datetime] = {}
    while len(replies) < n:
        msg = kc.get_shell_msg(timeout=300)
        replies[msg["parent_header"]["msg_id"]] = msg["header"]["date"]
    busy: dict[str, datetime] = {}
    while len(busy) < n:
        msg = kc.get_iopub_msg(timeout=300)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "busy":
            busy[msg["parent_header"].get("msg_id")] = msg["header"]["date"]
    return [(replies[i] - busy[i]).total_seconds() for i in sent]


def kernel_main(root: Path, cells: int) -> None:
    """The `--kernel` measure (see the module docstring)."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "XTRACK_STORE": str(root / ".xtrack")}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(root), env=env)
    try:
        # the extension's imports and environment prefetch finish before anything is timed
        kc.execute_interactive("%load_ext jupyter_xtrack\nimport time\ntime.sleep(5)", timeout=120)
        run_all(kc, "%%track\nx = 1\n", 20)  # warm: the card's widget libraries, the store
        kc.execute_interactive("time.sleep(3)", timeout=120)  # the warm cards become widgets
        plain = run_all(kc, "x = 1\n", cells)
        tracked = run_all(kc, "%%track\nx = 1\n", cells)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    base = median(plain)
    over = [t - base for t in tracked]
    ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
    widgets = os.environ.get("XTRACK_WIDGETS", "1") != "0"
    print(
        f"ipykernel, Run All of {cells} cells; run card widgets {'on' if widgets else 'off'}; "
        f"untracked cell median {ms(base)}"
    )
    print("| what | p50 | p99 | goal |")
    print("|---|---|---|---|")
    print(
        f"| `%%track` overhead, trivial cells, Run All | {ms(percentile(over, 50))} | "
        f"{ms(percentile(over, 99))} | p50 <= 10 ms, p99 <= 50 ms |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=300)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--kernel", action="store_true", help="in an ipykernel, Run All style")
    ap.add_argument(
        "--git-watch",
        choices=["on", "off"],
        default="on",
        help="off: `git status` every cell, as without capture/tree_watch.py",
    )
    args = ap.parse_args()
    os.environ["XTRACK_GIT_WATCH"] = "1" if args.git_watch == "on" else "0"
    root = make_repo(scratch("overhead-repo"), args.files)
    os.chdir(root)
    os.environ.pop("XTRACK_STORE", None)
    if args.kernel:
        kernel_main(root, args.cells)
        return

    import io
    from contextlib import redirect_stdout

    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_xtrack as xt

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_xtrack")
    settle = lambda: xt.flush()  # noqa: E731 - background work of the previous cell is not timed
    with redirect_stdout(io.StringIO()):
        time_cells(shell, "%%track\nx = 1\n", 30, settle)  # warm: env, imports, store
        plain = time_cells(shell, "x = 1\n", args.cells, settle)
        tracked = time_cells(shell, "%%track\nx = 1\n", args.cells, settle)
        back_to_back = time_cells(shell, "%%track\nx = 1\n", args.cells, lambda: None)
    xt.flush()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    shell.user_ns["mlflow"] = mlflow
    mlflow_cell = "with mlflow.start_run():\n    x = 1\n"
    with redirect_stdout(io.StringIO()):
        time_cells(shell, mlflow_cell, 10, lambda: None)
        mlflow_times = time_cells(shell, mlflow_cell, min(args.cells, 200), lambda: None)

    base = median(plain)
    over = [t - base for t in tracked]
    over_b2b = [t - base for t in back_to_back]
    mlf = [t - base for t in mlflow_times]
    ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
    print(f"repository: {args.files} files; cells timed: {args.cells}; untracked cell median {ms(base)}")
    print("| what | p50 | p99 | goal |")
    print("|---|---|---|---|")
    print(f"| `%%track` overhead, trivial cell | {ms(percentile(over, 50))} | {ms(percentile(over, 99))} | p50 <= 10 ms, p99 <= 50 ms |")
    print(f"| `%%track` overhead, cells back to back (background work not drained) | {ms(percentile(over_b2b, 50))} | {ms(percentile(over_b2b, 99))} | (same) |")
    print(f"| anchor: MLflow `start_run()`/end around the same cell (SQLite) | {ms(percentile(mlf, 50))} | {ms(percentile(mlf, 99))} | |")


if __name__ == "__main__":
    main()
