"""The team sidebar's facets on a large store, median of several runs: GET users (who ran the
runs, with counts) over 100,000 runs of 10 people, as served (one read of the matched runs'
base columns and a Counter) beside a count query per person (`server/facets.py`); and GET
jobs' hosts of a sweep of about 2,200 trials on 8 machines, as served (a count query per
host) beside reading every trial.

    .venv/bin/python bench/bench_team_facets.py [--runs 100000] [--repeat 5] [--rebuild]

The store is built once through the store's API (`create_run(user=...)` in batches) and
cached under bench/.work/. Goal: the facet under 100 ms, so the sidebar can ask for it on
every change of the store.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import WORK  # noqa: E402
from jupyter_xtrack.server.reader import StoreReader  # noqa: E402
from jupyter_xtrack.store import open_store  # noqa: E402
from tests.server.team_scenario import on_host  # noqa: E402

PEOPLE = [f"user{i}" for i in range(10)]
HOSTS = [f"worker-{i}" for i in range(8)]
TRIALS = 2000
GOAL_S = 0.100


def build(path: Path, n_runs: int) -> str:
    """`n_runs` finished runs by PEOPLE (person k ran k+1 shares), and a finished sweep
    whose ~TRIALS trials ran on HOSTS (machine h ran h+1 shares); returns the sweep's id."""
    with open_store(path) as store:
        weights = [p for k, p in enumerate(PEOPLE) for _ in range(k + 1)]
        for start in range(0, n_runs, 5000):
            with store.batch():
                for i in range(start, min(n_runs, start + 5000)):
                    rid, _ = store.create_run(name=f"r{i}", user=weights[i % len(weights)])
                    store.finish_run(rid, status="finished")
        sweep, _ = store.create_run(name="sweep", kind="sweep", user="user0")
        for h, host in enumerate(HOSTS):
            with on_host(host), store.batch():
                for _ in range(TRIALS // len(HOSTS) * (h + 1) // 4 or 1):
                    trial, _ = store.create_run(kind="trial", parent_id=sweep, user="user0")
                    store.finish_run(trial, status="finished")
        store.finish_run(sweep, status="finished")
        (path / "sweep-id").write_text(sweep)
    return sweep


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    path = WORK / f"team-facets-{args.runs}"
    if args.rebuild or not (path / "sweep-id").exists():
        t0 = time.perf_counter()
        build(path, args.runs)
        print(f"built {path} in {time.perf_counter() - t0:.1f} s")
    sweep = (path / "sweep-id").read_text()
    reader = StoreReader(path)
    store = reader.store()
    assert store is not None
    total = store.query_runs(limit=0, columns=[]).total

    def every_row(filter: str | None) -> Callable[[], Counter[Any]]:
        return lambda: Counter(store.query_runs(filter, columns=[]).columns["user"])

    def users(filter: str | None) -> Callable[[], dict[Any, int]]:
        return lambda: dict(store.count_runs_by("user", filter))

    def served(filter: str | None) -> Callable[[], dict[Any, int]]:
        """GET users as the server answers it (user_counts), its cache emptied first."""

        def answer() -> dict[Any, int]:
            reader._users.clear()
            return {u["user"]: u["runs"] for u in reader.users(filter, None)["users"]}

        return answer

    print(f"{total:,} runs, {len(PEOPLE)} people; median of {args.repeat}")
    print("| GET users | served (user_counts) | one read + Counter | count_runs_by alone | goal |")
    print("|---|---|---|---|---|")
    for label, filter in (("every run", None), ("filter name ~ 'r1*'", "name ~ 'r1*'")):
        ours, answer = timed(served(filter), args.repeat)
        read, counter = timed(every_row(filter), args.repeat)
        per, counted = timed(users(filter), args.repeat)
        assert answer == dict(counter) == counted, label
        print(f"| {label} | {ours * 1000:.1f} ms | {read * 1000:.1f} ms | {per * 1000:.1f} ms | "
              f"<= {GOAL_S * 1000:.0f} ms {'met' if ours <= GOAL_S else 'MISSED'} |")

    reader.users(None, None)
    again, _ = timed(lambda: reader.users(None, None), args.repeat)
    print(f"| again, nothing committed since | {again * 1000:.2f} ms | | | "
          f"<= {GOAL_S * 1000:.0f} ms {'met' if again <= GOAL_S else 'MISSED'} |")

    def hosts() -> Any:
        return store.count_runs_by("host", parent_id=sweep), False

    def hosts_anchor() -> Counter[Any]:
        ids = store.query_runs(parent_id=sweep, columns=[]).ids
        return Counter(store.get_run(i)["host"] for i in ids)

    n_trials = store.query_runs(parent_id=sweep, limit=0, columns=[]).total
    ours, (found, _) = timed(hosts, args.repeat)
    theirs, counted = timed(hosts_anchor, max(1, args.repeat // 2))
    assert dict(found) == dict(counted)
    print("\n| GET jobs: a job's hosts | served: count_runs_by | get_run of every trial | goal |")
    print("|---|---|---|---|")
    print(f"| {n_trials:,} trials on {len(HOSTS)} hosts | {ours * 1000:.1f} ms | "
          f"{theirs * 1000:.1f} ms | <= {GOAL_S * 1000:.0f} ms "
          f"{'met' if ours <= GOAL_S else 'MISSED'} |")
    reader.close()


if __name__ == "__main__":
    main()
