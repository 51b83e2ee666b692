"""Dask clusters for sweeps and AutoML: `workers=` as users give it, turned into a client.

    client, close = dask_client(4)                      # a local cluster of 4 processes
    client, close = dask_client("tcp://scheduler:8786")  # a running cluster
    client, close = dask_client(existing_client)         # as it is
    ...
    close()  # shuts down only what dask_client started

`distributed` is imported only here and only when workers are asked for (the `teams` extra).
"""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Workers = Any  # int | str | distributed.Client


class WorkersError(ValueError):
    """`workers=` names no cluster this can use; the message says what it accepts."""


def parse_workers(text: str) -> int | str:
    """`--workers` as typed: a count ("4") or a scheduler address ("tcp://host:8786")."""
    text = text.strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise WorkersError("--workers N needs N >= 1")
        return count
    if "://" not in text and ":" not in text:
        raise WorkersError(
            f"--workers {text!r}: give a number of local worker processes (--workers 4) or a "
            "Dask scheduler address (--workers tcp://scheduler:8786)"
        )
    return text


def check_workers(workers: Workers) -> Workers:
    """`workers` as `dask_client` takes it (an int N >= 1, a scheduler address, a Client),
    checked before anything starts; WorkersError says what is wrong (or that `distributed`
    is missing)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise WorkersError(
            "running on Dask workers needs the teams extra: pip install 'jupyter_xtrack[teams]'"
        ) from exc
    if isinstance(workers, Client):
        return workers
    if isinstance(workers, bool) or not isinstance(workers, int | str):
        raise WorkersError(
            f"workers={workers!r}: give a number of local processes, a scheduler address "
            "or a distributed.Client"
        )
    if isinstance(workers, str):
        workers = parse_workers(workers)
    if isinstance(workers, int) and workers < 1:
        raise WorkersError("workers=N needs N >= 1")
    return workers


def dask_client(workers: Workers) -> tuple[Any, Callable[[], None]]:
    """A `distributed.Client` for `workers` and a function that releases what was started
    here: an int N starts a local cluster of N single-threaded worker processes; a string is
    a scheduler address to connect to; a Client is used as it is (and never closed)."""
    workers = check_workers(workers)
    from distributed import Client, LocalCluster

    if isinstance(workers, Client):
        return workers, lambda: None
    if isinstance(workers, int):
        with _starting_workers():  # the worker processes start ignoring SIGINT
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None,
            )
        client = Client(cluster)
        client.register_plugin(_ignore_sigint_plugin())  # and those the nanny restarts

        def close_local() -> None:
            client.close()
            cluster.close()

        return client, close_local
    try:
        client = Client(workers, timeout=30)
    except OSError as exc:
        raise WorkersError(f"cannot reach the Dask scheduler at {workers}: {exc}") from exc
    return client, client.close


# A kernel's Ctrl-C (an interrupt) is SIGINT to the kernel's whole process group, which
# holds the local cluster's worker processes: they must ignore it, and let the sweep stop
# its trials at their next report (the sweep run's state), keeping what they finished.
@contextmanager
def _starting_workers() -> Iterator[None]:
    """SIGINT ignored while worker processes are spawned here (they inherit it through
    exec), and the scheduler's note that port 8787 is busy kept out of the user's cell (its
    health/metrics HTTP server moves to another port; nothing of ours uses it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _ignore_sigint_plugin() -> Any:
    """A Dask worker plugin by which the worker process ignores SIGINT (its setup runs in
    the process's main thread, where signal handlers are set)."""
    from distributed import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        name = "xtrack-ignore-sigint"

        def setup(self, worker: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreSigint()
