"""How long a write transaction on a PostgreSQL store takes, and so holds the store's write
lock that every client of the database shares: a sweep trial's run as the background writer
writes it (a child run with 3 tags, 2 params, a metric point, its end and a heartbeat, in
one batch), alone in the process and beside a busy Python thread (a cell's, or a sweep
trial's), which the writing thread must take the GIL back from after each reply it waits
for. Also the replies it waits for (libpq's trace: ReadyForQuery messages).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_pg_write_lock.py [--runs 60] [--rounds 2]

One durable throwaway PostgreSQL (fsync on); medians of `--runs` batches per round, the two
settings alternating for `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_xtrack.store import Store  # noqa: E402
from tests.pgserver import postgres_server  # noqa: E402


def trial(store: Store, i: int, parent: str) -> None:
    """One trial's run, as the sweep worker's writer sends it: one transaction."""
    with store.batch():
        run_id, _ = store.create_run(
            name=f"trial {i}", parent_id=parent, tags={"a": "1", "b": "2", "c": "3"}
        )
        store.set_params(run_id, {"x": 0.1 * i, "y": 0.2})
        store.log_metrics([(run_id, "value", 0.5, None, time.time())])
        store.finish_run(run_id, status="finished")
        store.heartbeat(run_id)


def busy(stop: threading.Event) -> None:
    """Pure Python that never waits: it holds the GIL whenever it may."""
    x = 0
    while not stop.is_set():
        for _ in range(1000):
            x += 1


def replies(store: Store, parent: str) -> int:
    from psycopg.pq import Trace

    pgconn = store._conn().raw.pgconn  # type: ignore[attr-defined]  # noqa: SLF001
    with tempfile.TemporaryFile("w+") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            trial(store, -1, parent)
        finally:
            pgconn.untrace()
        out.seek(0)
        return sum("\tReadyForQuery\t" in line for line in out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from jupyter_xtrack.store import open_store

    with postgres_server(durable=True) as server, tempfile.TemporaryDirectory() as blobs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store = open_store(server.create_database(), artifacts=blobs)
        parent, _ = store.create_run(name="sweep")
        trial(store, 0, parent)  # its key sets are new once
        print(f"replies waited for per trial batch: {replies(store, parent)}")
        medians: dict[str, list[float]] = {"alone": [], "beside a busy Python thread": []}
        for _ in range(args.rounds):
            for setting, times in medians.items():
                stop = threading.Event()
                other = threading.Thread(target=busy, args=(stop,), daemon=True)
                if setting != "alone":
                    other.start()
                took = []
                for i in range(args.runs):
                    t0 = time.perf_counter()
                    trial(store, i, parent)
                    took.append(time.perf_counter() - t0)
                stop.set()
                if other.is_alive():
                    other.join()
                times.append(statistics.median(took))
        for setting, times in medians.items():
            shown = " / ".join(f"{t * 1000:.2f}" for t in times)
            print(f"| {setting} | {shown} ms |")
        store.close()


if __name__ == "__main__":
    main()
