"""Bench: `xtrack import mlflow` of 10,000 MLflow runs x 100 metric points from a local SQLite
MLflow store (issue 17; goal: under 60 s), with an anchor measured on the same data in the
same process run: mlflow-export-import's `export-experiments` when it can be imported, else
the time MlflowClient alone takes to read every run and metric history.

    python bench/bench_mlflow_import.py [--runs 10000] [--points 100] [--repeat 3]

The source database would take an hour to create through MLflow on a busy machine: --seed runs
(default 2,000) are made through MlflowClient, then copied row for row in SQL (new run ids,
shifted times) up to --runs; both are cached under /tmp. Each timed import writes into a
fresh xtrack store.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


CACHE = Path("/tmp/xtrack-bench-mlflow")
from bench.common import median, scratch  # noqa: E402

T0_MS = 1_700_000_000_000


def seed_db(seed: int, points: int) -> Path:
    """An MLflow SQLite store of `seed` runs created through MlflowClient (log_batch with
    explicit timestamps and steps), cached: MLflow takes about 0.3 s a run on a busy machine."""
    path = CACHE / f"mlflow-seed-{seed}x{points}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{partial}")
    exp = client.create_experiment("bench", artifact_location=str(CACHE / "artifacts"))
    for i in range(seed):
        run = client.create_run(exp, start_time=T0_MS + i * 1000, run_name=f"run-{i}")
        rid = run.info.run_id
        client.log_batch(
            rid,
            metrics=[
                Metric("loss", 1.0 / (s + 1 + i), T0_MS + i * 1000 + s, s) for s in range(points)
            ],
            params=[Param("lr", str(0.001 * (i % 10 + 1))), Param("seed", str(i))],
            tags=[RunTag("team", "bench")],
        )
        client.set_terminated(rid, "FINISHED", end_time=T0_MS + i * 1000 + points)
        if i % 500 == 0:
            print(f"built {i}/{seed} runs", file=sys.stderr, flush=True)
    partial.rename(path)
    return path


def source_db(runs: int, points: int, seed: int) -> Path:
    """The cached source store: the seed runs, then copies of them (new run ids, times
    shifted, every row of runs/metrics/latest_metrics/params/tags copied) up to `runs`."""
    path = CACHE / f"mlflow-{runs}x{points}.db"
    if path.exists():
        return path
    seeded = seed_db(min(seed, runs), points)
    partial = path.with_suffix(".partial.db")
    shutil.copyfile(seeded, partial)
    conn = sqlite3.connect(partial)
    seeds = [r[0] for r in conn.execute("SELECT run_uuid FROM runs ORDER BY start_time")]
    conn.execute("CREATE TEMP TABLE copies(old TEXT, new TEXT, shift INTEGER)")
    conn.executemany(
        "INSERT INTO copies VALUES (?, ?, ?)",
        [
            (seeds[i % len(seeds)], uuid.uuid4().hex, (i // len(seeds)) * 10_000_000)
            for i in range(len(seeds), runs)
        ],
    )
    conn.executescript("""
        INSERT INTO runs SELECT c.new, r.name || '-' || c.shift, source_type, source_name,
            entry_point_name, user_id, status, start_time + c.shift, end_time + c.shift,
            source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time
            FROM runs r JOIN copies c ON r.run_uuid = c.old;
        INSERT INTO metrics SELECT key, value, timestamp + c.shift, c.new, step, is_nan
            FROM metrics m JOIN copies c ON m.run_uuid = c.old;
        INSERT INTO latest_metrics SELECT key, value, timestamp + c.shift, step, is_nan, c.new
            FROM latest_metrics m JOIN copies c ON m.run_uuid = c.old;
        INSERT INTO params SELECT key, value, c.new FROM params p JOIN copies c ON p.run_uuid = c.old;
        INSERT INTO tags SELECT key, value, c.new FROM tags t JOIN copies c ON t.run_uuid = c.old;
    """)
    conn.commit()
    conn.close()
    partial.rename(path)
    return path


PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
MEI_SITE = CACHE / "mlflow-export-import-site"  # pip install --target: kept out of the venv


def timed(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> float:
    """Seconds the command took (its CPU seconds printed too: the machine is shared, so
    wall time moves with the load); it must succeed."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"  {took:.2f} s wall, {used:.2f} s CPU, load average {os.getloadavg()[0]:.1f}")
    if done.returncode != 0:
        raise SystemExit(
            f"{cmd[:4]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return took


def xtrack_import(db: Path, store: Path) -> list[str]:
    return [
        PY,
        "-m",
        "jupyter_xtrack.cli",
        "import",
        "mlflow",
        f"sqlite:///{db}",
        "--store",
        str(store),
        "--no-progress",
    ]


def anchor(db: Path, out: Path, cap: float) -> str:
    """mlflow-export-import's export-experiments on the same store when it is installed
    under MEI_SITE (stopped after `cap` seconds, its rate then measured from the runs it
    wrote), else MlflowClient reading every run and its metric histories."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
    if (MEI_SITE / "mlflow_export_import").is_dir():
        env["PYTHONPATH"] = str(MEI_SITE)
        cmd = [
            PY,
            "-m",
            "mlflow_export_import.bulk.export_experiments",
            "--experiments",
            "bench",
            "--output-dir",
            str(out),
        ]
        name = "mlflow-export-import export-experiments"
    else:
        code = (
            "from mlflow.tracking import MlflowClient\n"
            "c = MlflowClient()\n"
            "e = c.get_experiment_by_name('bench').experiment_id\n"
            "runs = c.search_runs([e], max_results=50000)\n"
            "n = sum(len(c.get_metric_history(r.info.run_id, k)) "
            "for r in runs for k in r.data.metrics)\n"
        )
        cmd, name = [PY, "-c", code], "MlflowClient: search_runs + get_metric_history"
    start = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=ROOT, env=env, timeout=cap, capture_output=True, check=True)
    except subprocess.TimeoutExpired:
        took = time.perf_counter() - start
        done = len(list(out.rglob("run.json")))
        return (
            f"{name}: stopped after {took:.0f} s with {done:,} runs written "
            f"({done / took:.2f} runs/s)"
        )
    return f"{name}: {time.perf_counter() - start:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2000, help="runs made through MLflow")
    parser.add_argument(
        "--anchor-cap",
        type=float,
        default=300,
        help="seconds the anchor may run before its rate is taken",
    )
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    db = source_db(args.runs, args.points, args.seed)
    if args.build_only:
        print(db)
        return
    env = {"PYTHONPATH": str(ROOT)}
    fresh = []
    for i in range(args.repeat):
        store = scratch(f"mlflow-import-{i}")
        fresh.append(timed(xtrack_import(db, store), env))
        print(f"xtrack import, fresh store: {fresh[-1]:.2f} s", flush=True)
    again = timed(xtrack_import(db, store), env)
    print(f"xtrack import again (nothing new): {again:.2f} s", flush=True)
    measured = anchor(db, scratch("mlflow-export"), args.anchor_cap)
    print(f"anchor, once: {measured}", flush=True)
    print(
        f"\n{args.runs:,} runs x {args.points} points: xtrack import median "
        f"{median(fresh):.2f} s of {args.repeat} (goal 60 s: "
        f"{'met' if median(fresh) < 60 else 'MISSED'}); again {again:.2f} s; "
        f"anchor {measured}"
    )


if __name__ == "__main__":
    main()
