"""`xtrack push` of the model registry: N versions (each from its own run) copied to a
second store after their runs.

    .venv/bin/python bench/bench_push_registry.py [--versions 1000] [--repeat 3] [--to-postgres]

Timed per push (median of `--repeat`): into an empty store (runs and versions copied; the
registry's share is the time after the last run is written), and the same push again
(everything compared, nothing copied). The anchor is registering the same versions
directly in the target (`register_model_version`, one transaction each, as `xt.register_model`
does): the floor for a copy that keeps numbers, tags and aliases version by version.
`--to-postgres` pushes into a durable PostgreSQL 15 cluster (fsync on) started here.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_pg_common import LoadSampler, PostgresServer, durable_postgres  # noqa: E402
from bench.common import scratch  # noqa: E402
from jupyter_xtrack.store import Store, open_store  # noqa: E402
from jupyter_xtrack.store.registry import VersionSource  # noqa: E402
from jupyter_xtrack.store.sync import sync_runs  # noqa: E402


def fill(store: Store, versions: int, register: bool) -> list[VersionSource]:
    """`versions` finished runs with a model artifact each, registered as versions of 10
    models (tags on each, an alias on every tenth) when `register`."""
    sources: list[VersionSource] = []
    with store.batch():
        for i in range(versions):
            run_id, _ = store.create_run(name=f"r{i}", experiment="bench")
            blob = store.put_blob(f"weights {i}".encode() * 20)
            store.add_artifact(run_id, "model.pkl", blob=blob, size=len(f"weights {i}") * 20)
            store.finish_run(run_id, status="finished")
            sources.append(
                {
                    "run_id": run_id,
                    "artifact": "model.pkl",
                    "blob": blob,
                    "size": None,
                    "format": "pickle",
                }
            )
    if register:
        register_all(store, sources)
    return sources


def register_all(store: Store, sources: list[VersionSource]) -> None:
    for i, source in enumerate(sources):
        aliases = ["champion"] if i % 10 == 0 else []
        store.register_model_version(
            f"model{i % 10}", source, user="bench", tags={"i": str(i)}, aliases=aliases
        )


def fresh(work: Path, server: PostgresServer | None, name: str) -> Store:
    if server is not None:
        return open_store(server.create_database(name), artifacts=work / f"{name}-blobs")
    shutil.rmtree(work / name, ignore_errors=True)
    return open_store(work / name)


def timed_push(source: Store, target: Store) -> tuple[float, float]:
    """(seconds of the whole push, seconds from its last run written to its end: the
    registry's share)."""
    runs_done = 0.0

    def progress(done: int, total: int, what: str) -> None:
        nonlocal runs_done
        if what == "runs" and done == total:
            runs_done = time.perf_counter()

    start = time.perf_counter()
    sync_runs(source, target, progress=progress)
    end = time.perf_counter()
    return end - start, end - runs_done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--to-postgres", action="store_true")
    args = parser.parse_args()
    work = scratch("push-registry")
    rows: dict[str, list[float]] = {k: [] for k in ("push", "registry", "again", "anchor")}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(durable_postgres()) if args.to_postgres else None
        source = open_store(work / "source")
        sources = fill(source, args.versions, register=True)
        load = LoadSampler().start()
        for rep in range(args.repeat):
            target = fresh(work, server, f"push{rep}")
            whole, registry = timed_push(source, target)
            rows["push"].append(whole)
            rows["registry"].append(registry)
            again, _ = timed_push(source, target)
            rows["again"].append(again)
            assert sync_runs(source, target).registry.skipped == args.versions
            target.close()
            target = fresh(work, server, f"anchor{rep}")
            start = time.perf_counter()
            register_all(target, sources)
            rows["anchor"].append(time.perf_counter() - start)
            target.close()
        load.stop()
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{args.versions} versions, median of {args.repeat}; {load.summary()}")
    print(f"target: {'PostgreSQL (durable)' if args.to_postgres else 'SQLite'}")
    print("| what | median | versions/s |\n|---|---|---|")
    for label, value in (
        ("push of the runs and their versions into an empty store", med["push"]),
        ("of which the registry (after the last run is written)", med["registry"]),
        ("push again (nothing to copy)", med["again"]),
        ("anchor: register_model_version of each, in an empty target", med["anchor"]),
    ):
        print(f"| {label} | {value:.2f} s | {args.versions / value:,.0f} |")


if __name__ == "__main__":
    main()
