"""A progress bar on stderr: tqdm's when it is installed, else a plain counter."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(total: int, what: str, *, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """Yield a function to call once per item done."""
    if not enabled:
        yield lambda: None
        return
    try:
        from tqdm import tqdm  # lazy: optional
    except ImportError:
        yield from _counter(total, what)
        return
    with tqdm(total=total, desc=what, unit="run", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


def _counter(total: int, what: str) -> Iterator[Callable[[], None]]:
    done, last = 0, 0.0

    def tick() -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if now - last >= 0.5 or done == total:
            last = now
            print(f"\r{what}: {done:,}/{total:,} runs", end="", file=sys.stderr, flush=True)

    yield tick
    print(file=sys.stderr)
