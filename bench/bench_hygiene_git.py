"""Notebook stripping and the git filter, timed against nbstripout side by side.

    python bench/bench_hygiene_git.py [--notebooks 300] [--status-notebooks 500] [--runs 5]
                                      [--nbstripout-runs 1]

Builds repositories of generated notebooks (30 cells, about a third with a PNG figure, some
text outputs; ~250 kB each) under bench/.work/, then measures, each as the median of several runs:

1. in-process stripping of one ~3 MB notebook (`strip_bytes`, parse + strip + write);
2. `git add` of N notebooks with the xtrack process filter vs nbstripout's per-file clean filter
   (`nbstripout --install` semantics: `filter.nbstripout.clean = python -m nbstripout`);
3. `git status` in a repository of M committed notebooks with the filter vs without, both when
   nothing changed and after touching every notebook (git must re-filter each one).

Archiving is on (as installed); the spool is ingested in the background after git returns.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work" / "hygiene"


def make_notebook(seed: int, figure_bytes: int = 20_000, cells: int = 30) -> bytes:
    rng = random.Random(seed)
    out_cells = []
    for i in range(cells):
        outputs: list[dict] = []
        if i % 3 == 1:
            png = base64.b64encode(rng.randbytes(figure_bytes)).decode()
            outputs.append(
                {
                    "data": {"image/png": png, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                    "metadata": {},
                    "output_type": "display_data",
                }
            )
        elif i % 3 == 2:
            outputs.append(
                {
                    "name": "stdout",
                    "output_type": "stream",
                    "text": [f"loss {rng.random():.4f}\n"] * 5,
                }
            )
        out_cells.append(
            {
                "cell_type": "code",
                "execution_count": i + 1,
                "id": f"{seed:04x}{i:04x}",
                "metadata": {"scrolled": True} if i % 5 == 0 else {},
                "outputs": outputs,
                "source": [f"x{i} = compute({i})\n", f"plot(x{i})"],
            }
        )
    nb = {
        "cells": out_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.4"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def fresh_repo(path: Path, count: int) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "bench")
    git(path, "config", "user.email", "bench@example.com")
    for i in range(count):
        (path / f"nb{i:04d}.ipynb").write_bytes(make_notebook(i))
    return path


def install_xtrack(repo: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "jupyter_xtrack.cli", "hooks", "install"],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def install_nbstripout(repo: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "nbstripout", "--install"], cwd=repo, check=True, capture_output=True
    )


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_strip_in_process(runs: int) -> dict[str, float]:
    from jupyter_xtrack.notebook.strip import StripOptions, strip_bytes

    data = make_notebook(7, figure_bytes=220_000)
    options = StripOptions()
    strip_bytes(data, options)  # warm
    times = [timed(lambda: strip_bytes(data, options)) for _ in range(max(runs, 20))]
    compat = [
        timed(lambda: strip_bytes(data, StripOptions(nbstripout_compat=True)))
        for _ in range(max(runs, 20))
    ]
    return {
        "size_mb": len(data) / 1e6,
        "strip_ms": statistics.median(times) * 1e3,
        "strip_compat_ms": statistics.median(compat) * 1e3,
    }


def bench_add(count: int, runs: int, nbstripout_runs: int) -> dict[str, float]:
    env = {**os.environ}
    results: dict[str, list[float]] = {"xtrack": [], "nbstripout": []}
    for tool, installer, n in (
        ("xtrack", install_xtrack, runs),
        ("nbstripout", install_nbstripout, nbstripout_runs),
    ):
        for _ in range(n):
            repo = fresh_repo(WORK / f"add-{tool}", count)
            installer(repo)
            results[tool].append(timed(lambda repo=repo: git(repo, "add", ".", env=env)))
            if tool == "xtrack":
                wait_for_ingest(repo)
    return {
        "xtrack_s": statistics.median(results["xtrack"]),
        "nbstripout_s": statistics.median(results["nbstripout"]),
        "xtrack_runs": len(results["xtrack"]),
        "nbstripout_runs": len(results["nbstripout"]),
    }


def wait_for_ingest(repo: Path) -> None:
    spool = repo / ".git" / "xtrack-spool"
    deadline = time.monotonic() + 300
    while spool.exists() and any(p.suffix in (".spool", ".claimed") for p in spool.iterdir()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)


def bench_status(count: int, runs: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, with_filter in (("plain", False), ("filter", True)):
        repo = fresh_repo(WORK / f"status-{label}", count)
        if with_filter:
            install_xtrack(repo)
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "notebooks")
        wait_for_ingest(repo)
        git(repo, "status")  # settle the index (racy entries)
        out[f"{label}_clean_s"] = statistics.median(
            timed(lambda repo=repo: git(repo, "status")) for _ in range(runs)
        )
        touched = []
        for r in range(runs):
            stamp = time.time() + 10 + r
            for p in repo.glob("*.ipynb"):
                os.utime(p, (stamp, stamp))
            # --no-optional-locks: measure the re-filtering every run, not a refreshed index
            touched.append(timed(lambda repo=repo: git(repo, "--no-optional-locks", "status")))
        out[f"{label}_touched_s"] = statistics.median(touched)
        wait_for_ingest(repo)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=int, default=300)
    ap.add_argument("--status-notebooks", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--nbstripout-runs", type=int, default=1)
    ap.add_argument("--skip-add", action="store_true", help="only the strip and status parts")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    strip = bench_strip_in_process(args.runs)
    print(
        f"strip one {strip['size_mb']:.1f} MB notebook in process: "
        f"{strip['strip_ms']:.2f} ms (compat mode {strip['strip_compat_ms']:.2f} ms)"
    )
    size = len(make_notebook(0)) / 1e3
    if args.skip_add:
        add = None
    else:
        add = bench_add(args.notebooks, args.runs, args.nbstripout_runs)
    if add:
        print(
            f"git add of {args.notebooks} notebooks (~{size:.0f} kB each): xtrack "
            f"{add['xtrack_s']:.2f} s (median of {add['xtrack_runs']}), nbstripout "
            f"{add['nbstripout_s']:.2f} s (median of {add['nbstripout_runs']}): "
            f"{add['nbstripout_s'] / add['xtrack_s']:.0f}x faster (goal >= 100x)"
        )
    st = bench_status(args.status_notebooks, args.runs)
    print(
        f"git status, {args.status_notebooks} notebooks, nothing changed: without filter "
        f"{st['plain_clean_s'] * 1e3:.0f} ms, with {st['filter_clean_s'] * 1e3:.0f} ms "
        f"({st['filter_clean_s'] / st['plain_clean_s']:.2f}x, goal <= 2x)"
    )
    print(
        f"git status, {args.status_notebooks} notebooks, all touched: without filter "
        f"{st['plain_touched_s'] * 1e3:.0f} ms, with {st['filter_touched_s'] * 1e3:.0f} ms "
        f"({st['filter_touched_s'] / st['plain_touched_s']:.2f}x, goal <= 2x)"
    )


if __name__ == "__main__":
    main()
