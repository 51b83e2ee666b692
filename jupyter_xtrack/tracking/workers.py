"""The tracker's thread pools, started on first use: finalisation work (git, hashing,
serialisation) and run creation run off the kernel's hot path."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_executors: dict[str, ThreadPoolExecutor] = {}
_executor_lock = threading.Lock()


def executor(name: str, workers: int) -> ThreadPoolExecutor:
    """The pool called `name` (its threads are named after it), created on first use."""
    pool = _executors.get(name)
    if pool is None:
        with _executor_lock:
            pool = _executors.get(name)
            if pool is None:
                pool = _executors[name] = ThreadPoolExecutor(workers, thread_name_prefix=name)
    return pool


def background() -> ThreadPoolExecutor:
    """The tracker's worker threads (git, hashing, serialisation)."""
    return executor("xtrack", 3)
