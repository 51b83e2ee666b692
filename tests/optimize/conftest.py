"""Fixtures of the optimize tests: a fresh store per test in a temporary folder, and local
Dask clusters of worker processes (loopback only, closed after)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def dask_client(workers: int) -> Iterator[Any]:
    """A Client of a local cluster of `workers` single-threaded worker processes."""
    distributed = pytest.importorskip("distributed", reason="pip install 'jupyter_xtrack[teams]'")
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One local cluster of two worker processes for the module that uses it."""
    with dask_client(2) as two:
        yield two


@pytest.fixture
def store_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh run store (used through the API) in `workdir/.xtrack`."""
    from jupyter_xtrack import api
    from jupyter_xtrack.tracking.session import CONTEXT

    api.flush()
    CONTEXT.reset()
    CONTEXT.start_dir = str(workdir)
    path = workdir / ".xtrack"
    monkeypatch.setenv("XTRACK_STORE", str(path))
    yield path
    api.flush()
    CONTEXT.reset()


def joiner_env() -> dict[str, str]:
    """The joiner's environment: the objectives are the test modules' functions, which a
    machine joining the sweep imports by name, as it would a user's module: the repository
    root goes on its PYTHONPATH (pytest put it on this process's sys.path only)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
