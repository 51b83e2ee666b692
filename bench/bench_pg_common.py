"""Shared pieces of the PostgreSQL benchmarks (bench_pg_*.py): a durable throwaway cluster,
MLflow's tracking server on a database of that cluster, and the machine's load average
sampled while the figures are taken (the benchmark machine is shared; a figure is only
read with the load it ran under)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mlflow_api import STARTED, free_port, stop_servers, wait_up  # noqa: E402

from tests.pgserver import PostgresServer, postgres_server  # noqa: E402

__all__ = ["LoadSampler", "PostgresServer", "durable_postgres", "mlflow_on_postgres"]


class LoadSampler:
    """The 1-minute load average, sampled every `every` seconds on a daemon thread from
    `start()` until `stop()`; `summary()` says its mean and maximum (over 2 cores: the
    machine is shared with other work, so a figure taken at load 4 is taken at half speed)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LoadSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._done.wait(self.every):
                return

    def summary(self) -> str:
        if not self.samples:
            return "load average not sampled"
        mean = sum(self.samples) / len(self.samples)
        return (
            f"1-min load average while measuring: mean {mean:.1f}, max {max(self.samples):.1f} "
            f"({len(self.samples)} samples, {os.cpu_count()} cores)"
        )


@contextmanager
def durable_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster with fsync on (as a team runs it), stopped afterwards."""
    with postgres_server(durable=True) as server:
        yield server


@contextmanager
def mlflow_on_postgres(server: PostgresServer, work: Path) -> Iterator[str]:
    """`mlflow server` (one worker, tracking only) on a new database of `server`; yields its
    tracking URI and stops it afterwards."""
    database = server.create_database("mlflow")
    backend = database.replace("postgresql://", "postgresql+psycopg://", 1)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            str(work / "mlartifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "mlflow-server.log", "wb"),  # noqa: SIM115 - lives as long as proc
        cwd=work,
        start_new_session=True,
        # Tracking only: without the GenAI job runner and its worker processes.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    STARTED.append(proc)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{uri}/api/2.0/mlflow/experiments/search?max_results=1", {}, proc)
        yield uri
    finally:
        stop_servers()
        STARTED.clear()
