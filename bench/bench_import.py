"""`import jupyter_xtrack` and `%load_ext jupyter_xtrack` wall time, each in a fresh process
(median of 9); anchor: `import mlflow` the same way.

    .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median  # noqa: E402

TIMED_IMPORT = "import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)"
TIMED_LOAD = (
    "from IPython.core.interactiveshell import InteractiveShell; import time; "
    "s = InteractiveShell.instance(); t=time.perf_counter(); "
    "s.run_line_magic('load_ext', 'jupyter_xtrack'); print(time.perf_counter()-t)"
)


def timed(code: str, n: int = 9) -> float:
    values = []
    for _ in range(n):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        values.append(float(out.stdout.strip().splitlines()[-1]))
    return median(values)


def main() -> None:
    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    print("| what | median | goal |")
    print("|---|---|---|")
    print(f"| `import jupyter_xtrack` | {ms(timed(TIMED_IMPORT.format(mod='jupyter_xtrack')))} | < 150 ms |")
    print(f"| `%load_ext jupyter_xtrack` (IPython already running) | {ms(timed(TIMED_LOAD))} | < 300 ms |")
    print(f"| anchor: `import mlflow` | {ms(timed(TIMED_IMPORT.format(mod='mlflow')))} | |")


if __name__ == "__main__":
    main()
