"""What a run stores for its git diff while a notebook with plots is dirty, and what the git
capture costs: git's raw diff (the old capture) against the output-stripped one (issue 13,
defect 6).

    .venv/bin/python bench/bench_git_notebooks.py [--plots 4] [--runs 5] [--repeat 7]

A repository whose committed notebook has 30 code cells, `--plots` of them showing a ~130 KB
base64 PNG; the working copy changes two cells' sources and re-renders every plot. Each of
`--runs` "runs" re-renders the plots again (as re-running the notebook does) and captures
the git state; reported: the diff's size per run, the distinct blobs the runs leave (what
the store keeps: the diff, and for the new capture the two stripped notebook sides), and the median `git_state` time over `--repeat` captures. The
anchor is git's own `git diff HEAD` run on the same repository.

Goal (issue 13): the stored diff holds no base64 and does not grow with runs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import git, median, scratch  # noqa: E402

from jupyter_xtrack.capture.git import git_state  # noqa: E402
from jupyter_xtrack.notebook.gitdiff import strip_for_git_diff  # noqa: E402

PNG_BYTES = 100_000  # ~133 KB of base64 each


def notebook(plots: int, edit: str, seed: int) -> str:
    nb = nbformat.v4.new_notebook()
    for i in range(30):
        cell = nbformat.v4.new_code_cell(
            f"step_{i} = {i}{edit if i in (3, 17) else ''}", execution_count=i + 1
        )
        cell["id"] = f"c{i}"
        if i < plots:
            png = base64.b64encode(os.urandom(PNG_BYTES) if seed else b"\0" * PNG_BYTES)
            cell.outputs = [
                nbformat.v4.new_output("display_data", data={"image/png": png.decode()})
            ]
        nb.cells.append(cell)
    return nbformat.writes(nb)


def capture(repo: Path, stripped: bool) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    state = git_state(str(repo), strip_notebooks=strip_for_git_diff if stripped else None)
    return state, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plots", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    repo = scratch("git_notebooks")
    git(repo, "init", "-q", "-b", "main")
    (repo / "analysis.ipynb").write_text(notebook(args.plots, "", 0))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "nb")
    size = (repo / "analysis.ipynb").stat().st_size
    print(f"notebook: 30 cells, {args.plots} plots, {size / 1e3:.0f} KB")
    for stripped in (False, True):
        sizes: list[int] = []
        blobs: dict[str, int] = {}  # what a content-addressed store keeps
        for run in range(args.runs):
            (repo / "analysis.ipynb").write_text(notebook(args.plots, " + 1", run + 1))
            state, _ = capture(repo, stripped)
            sizes.append(len(state["diff"]))
            sides = [state["diff"].encode()]
            for nb in state.get("stripped_notebooks", []):  # kept for nbdime's view
                sides += [side for side in (nb["base"], nb["work"]) if side is not None]
            for side in sides:
                blobs[hashlib.sha256(side).hexdigest()] = len(side)
        times = [capture(repo, stripped)[1] for _ in range(args.repeat)]
        label = "stripped (new)" if stripped else "raw (old)     "
        print(
            f"{label}: diff {median(sizes) / 1e3:8.1f} KB a run, {len(blobs)} distinct blobs "
            f"over {args.runs} runs ({sum(blobs.values()) / 1e3:.1f} KB stored), "
            f"git_state median {median(times) * 1e3:.1f} ms"
        )
    anchor = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run(["git", "diff", "HEAD"], cwd=repo, capture_output=True, check=True)
        anchor.append(time.perf_counter() - start)
    print(f"anchor `git diff HEAD`: median {median(anchor) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
