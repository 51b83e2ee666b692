"""`xt.runs()` over 100,000 runs on PostgreSQL: the full read and a selective filter, with
the same data in a SQLite store and in MLflow's own schema on the same cluster side by side.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_pg_runs.py [--runs 100000] [--repeat 5]
        [--mlflow-repeat 2] [--skip-mlflow] [--skip-sqlite]

One durable PostgreSQL 15 cluster (fsync on) is started here. Each run has 3 params (lr,
depth, model), 2 metrics (acc, loss: one point each) and a tag (team), written through the
store contract (`batch()` of 500 runs, one `log_metrics` call per batch) into a PostgreSQL
store and a SQLite store. Measured through the public API, as a user calls it:
`xt.open_store(url)` then `xt.runs()` (every run, as a DataFrame) and
`xt.runs("params.depth = 7 and metrics.acc > 0.99")` (about 80 runs); the first call after
opening is shown apart from the median of the `--repeat` calls that follow.

The anchor is MLflow 3.17.2's `mlflow.search_runs` (a DataFrame too) with its tracking URI
on a second database of the same cluster (`postgresql+psycopg://`, in process, as xtrack
reads: no server in between on either side), same filter in MLflow's syntax. Filling MLflow
through its API would take hours (each run is three requests or transactions), so one
template run is logged through `MlflowClient` and copied 100,000 times by SQL into MLflow's
own tables (`INSERT ... SELECT ... generate_series`), with the same values as xtrack's runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pg_common import LoadSampler, PostgresServer, durable_postgres  # noqa: E402
from common import median, scratch  # noqa: E402

FILTER = "params.depth = 7 and metrics.acc > 0.99"
MLFLOW_FILTER = "params.depth = '7' and metrics.acc > 0.99"
GOALS = {"full read": 1.0, "selective filter": 0.1}
MODELS = ("rf", "gbm", "mlp")
PER_TRANSACTION = 500


def acc_of(i: int) -> float:
    """Run i's accuracy: spread over [0, 1) without order, so the filter's matches are
    scattered through the table."""
    return (i * 7919 % 10007) / 10007


def fill(store: Any, runs: int) -> None:
    """`runs` finished runs through the store contract, 500 per transaction."""
    now = time.time()
    for start in range(0, runs, PER_TRANSACTION):
        with store.batch():
            points = []
            ids = []
            for i in range(start, min(runs, start + PER_TRANSACTION)):
                run_id, _ = store.create_run(name=f"r{i}", experiment="bench", started_at=now - i)
                store.set_params(
                    run_id, {"lr": (i % 1000) / 1000, "depth": i % 12, "model": MODELS[i % 3]}
                )
                store.set_tags(run_id, {"team": ("blue", "red")[i % 2]})
                points += [
                    (run_id, "acc", acc_of(i), 0, now),
                    (run_id, "loss", 1 / (i + 1), 0, now),
                ]
                ids.append(run_id)
            store.log_metrics(points)
            for run_id in ids:
                store.finish_run(run_id, status="finished", ended_at=now)


def fill_mlflow(server: PostgresServer, runs: int) -> str:
    """MLflow's schema on a new database with `runs` runs like xtrack's (see the module's
    docstring); returns its tracking URI."""
    import psycopg
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    url = server.create_database("mlflow")
    uri = url.replace("postgresql://", "postgresql+psycopg://", 1)
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bench")
    template = client.create_run(experiment_id, run_name="template").info.run_id
    client.log_batch(
        template,
        metrics=[Metric("acc", 0.5, 0, 0), Metric("loss", 0.5, 0, 0)],
        params=[Param(k, "x") for k in ("lr", "depth", "model")],
        tags=[RunTag("team", "blue")],
    )
    client.set_terminated(template)
    new_id, g = "md5('r' || g)", "generate_series(0, %(n)s - 1) AS g"
    with psycopg.connect(url, autocommit=False) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'runs' ORDER BY ordinal_position"
            )
        ]
        exprs = {
            "run_uuid": new_id,
            "name": "'r' || g",
            "start_time": "t.start_time - g * 1000",
            "end_time": "t.end_time",
        }
        select = ", ".join(exprs.get(c, f"t.{c}") for c in columns)
        args = {"n": runs, "t": template}
        conn.execute(
            f"INSERT INTO runs ({', '.join(columns)}) SELECT {select} FROM runs AS t, {g} "
            "WHERE t.run_uuid = %(t)s",
            args,
        )
        conn.execute(
            "INSERT INTO tags (key, value, run_uuid) SELECT t.key, CASE t.key "
            "WHEN 'mlflow.runName' THEN 'r' || g WHEN 'team' THEN (ARRAY['blue','red'])[g %% 2 + 1] "
            f"ELSE t.value END, {new_id} FROM tags AS t, {g} WHERE t.run_uuid = %(t)s",
            args,
        )
        conn.execute(
            "INSERT INTO params (key, value, run_uuid) SELECT k, CASE k "
            "WHEN 'lr' THEN ((g %% 1000) / 1000.0)::float8::text "
            "WHEN 'depth' THEN (g %% 12)::text "
            f"ELSE (ARRAY['rf','gbm','mlp'])[g %% 3 + 1] END, {new_id} "
            f"FROM unnest(ARRAY['lr','depth','model']) AS k, {g}",
            args,
        )
        for table in ("metrics", "latest_metrics"):
            conn.execute(
                f"INSERT INTO {table} (key, value, timestamp, step, is_nan, run_uuid) "
                "SELECT k, CASE k WHEN 'acc' THEN (g * 7919 %% 10007) / 10007.0 "
                f"ELSE 1.0 / (g + 1) END, 0, 0, false, {new_id} "
                f"FROM unnest(ARRAY['acc','loss']) AS k, {g}",
                args,
            )
        conn.execute("DELETE FROM latest_metrics WHERE run_uuid = %(t)s", args)
        for table in ("metrics", "params", "tags", "runs"):
            conn.execute(f"DELETE FROM {table} WHERE run_uuid = %(t)s", args)
        conn.commit()
        conn.execute("ANALYZE")
    return uri


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, int]:
    """(first call's seconds, median of the next `repeat`, rows returned)."""
    start = time.perf_counter()
    rows = len(fn())
    first = time.perf_counter() - start
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return first, median(seconds), rows


def measure_xtrack(location: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    import jupyter_xtrack as xt

    start = time.perf_counter()
    xt.open_store(location)
    opened = time.perf_counter() - start
    out = {
        "full read": timed(lambda: xt.runs(), repeat),
        "selective filter": timed(lambda: xt.runs(FILTER), repeat),
    }
    print(f"  xt.open_store({location.split('@')[-1]!r}): {opened:.3f} s")
    return out


def measure_mlflow(uri: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.get_experiment_by_name("bench").experiment_id

    def search(filter_string: str = "") -> Any:
        return mlflow.search_runs(
            [experiment_id], filter_string=filter_string, max_results=1_000_000
        )

    return {
        "full read": timed(search, repeat),
        "selective filter": timed(lambda: search(MLFLOW_FILTER), repeat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mlflow-repeat", type=int, default=2, help="a full read takes a minute")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()
    work = scratch("pg_runs")
    os.environ["XTRACK_ARTIFACTS"] = (work / "blobs").as_uri()
    from jupyter_xtrack.store import open_store

    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    fill_load, read_load = LoadSampler(), LoadSampler()
    with durable_postgres() as server:
        fill_load.start()
        targets = [("xtrack on PostgreSQL", server.create_database("xtrack"))]
        if not args.skip_sqlite:
            targets.append(("xtrack on SQLite", str(work / "sqlite-store")))
        for label, location in targets:
            start = time.perf_counter()
            store = open_store(location)
            fill(store, args.runs)
            store.close()
            print(f"filled {label}: {args.runs:,} runs in {time.perf_counter() - start:.0f} s")
        mlflow_uri = None
        if not args.skip_mlflow:
            start = time.perf_counter()
            mlflow_uri = fill_mlflow(server, args.runs)
            print(f"filled MLflow by SQL: {time.perf_counter() - start:.0f} s")
        fill_load.stop()
        read_load.start()
        for label, location in targets:
            print(label)
            results[label] = measure_xtrack(location, args.repeat)
        if mlflow_uri is not None:
            results["MLflow search_runs on PostgreSQL"] = measure_mlflow(
                mlflow_uri, args.mlflow_repeat
            )
        read_load.stop()
    print(f"\nfill: {fill_load.summary()}\nreads: {read_load.summary()}")
    print(
        f"{args.runs:,} runs; filter: {FILTER!r}; median of {args.repeat} calls after a first "
        f"one ({args.mlflow_repeat} for MLflow)"
    )
    print("| query | client | rows | first call | median | goal | status |")
    print("|---|---|---:|---:|---:|---:|---|")
    for query, goal in GOALS.items():
        for label, by_query in results.items():
            first, med, rows = by_query[query]
            status = ("met" if med < goal else "MISSED") if label == "xtrack on PostgreSQL" else ""
            print(
                f"| {query} | {label} | {rows:,} | {first * 1000:,.0f} ms | {med * 1000:,.0f} ms "
                f"| < {goal * 1000:,.0f} ms | {status} |"
            )


if __name__ == "__main__":
    main()
