"""MLflow's client logging into xtrack's server (the MLflow API under /xtrack/mlflow) against
the same client logging into a real `mlflow server` (SQLite backend) on the same machine.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_mlflow_api.py [--calls 300] [--batches 30]
        [--repeat 5]

Both servers are started here on 127.0.0.1, one after the other idle while the other is
measured: Jupyter with the xtrack extension over a fresh store, and `mlflow server
--backend-store-uri sqlite:///...` (one worker, artifacts served). Each repetition opens a
run on each server and measures, alternating servers: `MlflowClient.log_metric` called
`--calls` times (one request each), and `log_batch` with 1,000 metrics `--batches` times.
Figures are medians over the repetitions of the per-call time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

STARTED: list[subprocess.Popen[bytes]] = []


def stop_servers() -> None:
    """End each server this script started with the processes it started (its session)."""
    for proc in STARTED:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, headers: dict[str, str], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before answering {url}")
        try:
            if requests.get(url, headers=headers, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or busy starting
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def start_xtrack(work: Path, token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--allow-root",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            f"--XTrack.store={work / 'store'}",
            "--ServerApp.jpserver_extensions={'jupyter_xtrack.server': True}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
        start_new_session=True,
    )
    STARTED.append(proc)
    uri = f"http://127.0.0.1:{port}/xtrack/mlflow"
    wait_up(
        f"{uri}/api/2.0/mlflow/experiments/search?max_results=1",
        {"Authorization": f"Bearer {token}"},
        proc,
    )
    return proc, uri


def start_mlflow(work: Path) -> tuple[subprocess.Popen[bytes], str]:
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
            f"sqlite:///{work / 'mlflow.db'}",
            "--artifacts-destination",
            str(work / "mlartifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
        start_new_session=True,
        # Tracking only: without the GenAI job runner and its worker processes, which would
        # take CPU from both servers while they are measured.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    STARTED.append(proc)
    uri = f"http://127.0.0.1:{port}"
    wait_up(f"{uri}/api/2.0/mlflow/experiments/search?max_results=1", {}, proc)
    return proc, uri


def per_call(client: object, run_id: str, what: str, n: int) -> float:
    """Seconds per call of `what` (log_metric, or log_batch of 1,000 metrics)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    t0 = time.perf_counter()
    if what == "log_metric":
        for i in range(n):
            client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)  # type: ignore[attr-defined]
    else:
        for b in range(n):
            metrics = [Metric("loss", 1.0 / (i + 1), now, b * 1000 + i) for i in range(1000)]
            client.log_batch(run_id, metrics=metrics)  # type: ignore[attr-defined]
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    work = scratch("mlflow_api")
    token = secrets.token_hex(16)
    os.environ["MLFLOW_TRACKING_TOKEN"] = token  # the mlflow server ignores it
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    from mlflow import MlflowClient

    (work / "x").mkdir()
    (work / "m").mkdir()
    times: dict[tuple[str, str], list[float]] = {}
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    try:
        servers = [
            ("xtrack", *start_xtrack(work / "x", token)),
            ("mlflow server", *start_mlflow(work / "m")),
        ]
        clients = {name: MlflowClient(tracking_uri=uri) for name, _, uri in servers}
        for client in clients.values():  # warm up: experiment, first run, connections
            exp = client.create_experiment("bench")
            run = client.create_run(exp)
            per_call(client, run.info.run_id, "log_metric", 20)
        for _ in range(args.repeat):
            for what, n in (("log_metric", args.calls), ("log_batch", args.batches)):
                for name, client in clients.items():
                    exp = client.get_experiment_by_name("bench").experiment_id
                    run = client.create_run(exp)
                    times.setdefault((what, name), []).append(
                        per_call(client, run.info.run_id, what, n)
                    )
                    client.set_terminated(run.info.run_id)
    finally:
        stop_servers()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"{args.repeat} repetitions; {args.calls} log_metric calls, {args.batches} log_batch "
        "calls of 1,000 metrics each per repetition and server"
    )
    for what in ("log_metric", "log_batch"):
        ours, theirs = median(times[(what, "xtrack")]), median(times[(what, "mlflow server")])
        print(
            f"{what:11s} xtrack {ours * 1000:8.2f} ms/call   mlflow server "
            f"{theirs * 1000:8.2f} ms/call   ratio {theirs / ours:5.2f}x "
            f"({'met' if ours <= theirs else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
