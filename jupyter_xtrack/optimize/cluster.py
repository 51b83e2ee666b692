"""Dask clusters for sweeps and AutoML: `workers=` as users give it, turned into a client.

    client, close = dask_client(4)                      # a local cluster of 4 processes
    client, close = dask_client("tcp://scheduler:8786")  # a running cluster
    client, close = dask_client(existing_client)         # as it is
    ...
    close()  # shuts down only what dask_client started

`distributed` is imported only here and only when workers are asked for (the `teams` extra).
"""

from __future__ import annotations

from collections.abc import Callable
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


def dask_client(workers: Workers) -> tuple[Any, Callable[[], None]]:
    """A `distributed.Client` for `workers` and a function that releases what was started
    here: an int N starts a local cluster of N single-threaded worker processes; a string is
    a scheduler address to connect to; a Client is used as it is (and never closed)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise WorkersError(
            "running on Dask workers needs the teams extra: pip install 'jupyter_xtrack[teams]'"
        ) from exc
    if isinstance(workers, Client):
        return workers, lambda: None
    if isinstance(workers, bool) or not isinstance(workers, int | str):
        raise WorkersError(
            f"workers={workers!r}: give a number of local processes, a scheduler address "
            "or a distributed.Client"
        )
    if isinstance(workers, str):
        workers = parse_workers(workers)
    if isinstance(workers, int):
        if workers < 1:
            raise WorkersError("workers=N needs N >= 1")
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
        )
        client = Client(cluster)

        def close_local() -> None:
            client.close()
            cluster.close()

        return client, close_local
    try:
        client = Client(workers, timeout=30)
    except OSError as exc:
        raise WorkersError(f"cannot reach the Dask scheduler at {workers}: {exc}") from exc
    return client, client.close
