"""Redaction speed: 1 MB of adversarial and of ordinary text through ``redact_text``.

Adversarial inputs repeat a fragment that makes a backtracking redactor work hard
("token_____", "a" * 1e6, many "sk-" and "://" prefixes, long base64-ish runs, ...). Each is
timed at 1 MB (median of --runs) with the current pass, and, as the anchor, with the redactor
of commit 4687c6d (read from git, the one before the linear pass) at the largest size it can
finish: 8 KB, 32 KB, ... up to 1 MB, stopping before a size that, growing quadratically,
would take longer than --old-budget seconds.

Run: .venv/bin/python bench/bench_redact.py
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median  # noqa: E402

from jupyter_xtrack.capture.redact import redact_notebook_json, redact_text  # noqa: E402

OLD_REV = "4687c6d"
MB = 1_000_000

ADVERSARIAL: dict[str, str] = {
    '"token_____" repeated': "token_____",
    '"a" * 1e6': "a",
    '"sk-" prefixes': " sk-ab",
    '"://" without "@"': "://",
    '"://user" without "@"': "://" + "u" * 40 + " ",
    "base64-ish run": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/",
    '"-eyJ" repeated': "-eyJ",
    '"password=" repeated': "password=",
    '"password=\\"" unclosed': 'password="',
    '"-----BEGIN " repeated': "-----BEGIN ",
    '"AKIA" repeated': "AKIA",
    '"auth=(\\"" repeated': 'auth=("',
    '"Bearer " repeated': "Bearer ",
}

ORDINARY: dict[str, str] = {
    "Python code": "x = compute(a, b)  # some ordinary code\nmax_tokens = 512\n",
    "git diff lines": "+    password = compute(x)  # ordinary changed line\n",
    "training log": "Epoch 3/10 - loss: 0.4312 - acc: 0.9100 - val_loss: 0.5120 - lr: 1e-3\n",
    "log with a secret per line": 'INFO connect token="ghp_' + "a1B2" * 9 + '" ok\n',
}


def fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def old_redactor() -> Callable[[str], str] | None:
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(
            ["git", "show", f"{OLD_REV}:jupyter_xtrack/capture/redact.py"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("redact_old")
    exec(compile(source, f"{OLD_REV}:redact.py", "exec"), module.__dict__)  # noqa: S102
    return module.redact  # type: ignore[no-any-return]


def notebook(size: int) -> bytes:
    """A notebook of ~size bytes: code cells with stdout and a PNG-sized base64 output."""
    png = base64.b64encode(os.urandom(30_000)).decode()
    cells = []
    total = 0
    i = 0
    while total < size:
        src = [f"x{i} = model.fit(data, epochs={i})\n", f"print('loss', x{i})\n"]
        out = [f"loss {i * 0.01:.3f}\n"] * 20
        cells.append({
            "cell_type": "code", "execution_count": i, "id": f"c{i}", "metadata": {},
            "source": src,
            "outputs": [
                {"name": "stdout", "output_type": "stream", "text": out},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": png, "text/plain": ["<Figure>"]}},
            ],
        })
        total += len(png) + 400
        i += 1
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=MB)
    parser.add_argument("--old-budget", type=float, default=20.0,
                        help="largest predicted time of one anchor call (s)")
    parser.add_argument("--no-old", action="store_true")
    args = parser.parse_args()
    old = None if args.no_old else old_redactor()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs}, "
          f"input {args.size:,} characters; anchor: redact() of {OLD_REV}"
          f"{'' if old else ' (not available)'}")
    print()
    print("| input | this pass, 1 MB | anchor at the largest size it reached "
          "| this pass, same size | speed-up |")
    print("|---|---:|---:|---:|---:|")
    worst = 0.0
    for label, unit in ADVERSARIAL.items():
        text = fill(unit, args.size)
        new = timed(lambda t=text: redact_text(t), args.runs)
        worst = max(worst, new)
        row = f"| {label} | {new * 1e3:.1f} ms "
        if old is None:
            print(row + "| - | - | - |")
            continue
        size, anchor = 0, 0.0
        for next_size in (8_000, 32_000, 64_000, 128_000, 256_000, 512_000, args.size):
            predicted = anchor * (next_size / size) ** 2 if size else 0.0
            if next_size > args.size or predicted > args.old_budget:
                break  # growing quadratically, the next size would take longer than the budget
            size = next_size
            sample = fill(unit, size)
            anchor = timed(lambda s=sample: old(s), args.runs if anchor < 1 else 1)
        sample = fill(unit, size)
        same = new if size == args.size else timed(lambda s=sample: redact_text(s), args.runs)
        print(row + f"| {anchor * 1e3:,.1f} ms at {size // 1000:,} KB | {same * 1e3:.1f} ms "
              f"| {anchor / same:,.1f}x |")
    print()
    print("| ordinary input, 1 MB | this pass | anchor |")
    print("|---|---:|---:|")
    for label, unit in ORDINARY.items():
        text = fill(unit, args.size)
        new = timed(lambda t=text: redact_text(t), args.runs)
        anchor = "-"
        if old is not None:
            anchor = f"{timed(lambda t=text: old(t), args.runs) * 1e3:.1f} ms"
        print(f"| {label} | {new * 1e3:.1f} ms | {anchor} |")
    nb = notebook(10 * args.size)
    t_nb = timed(lambda: redact_notebook_json(nb), args.runs)
    print(f"| `redact_notebook_json`, {len(nb) / MB:.1f} MB notebook with PNG outputs "
          f"| {t_nb * 1e3:.1f} ms | - |")
    print()
    print(f"worst adversarial 1 MB input: {worst:.3f} s (goal: well under 1 s)")


if __name__ == "__main__":
    main()
