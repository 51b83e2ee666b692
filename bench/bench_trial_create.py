"""A trial's creation on PostgreSQL (issue 16): Optuna's `RDBStorage.create_new_trial` (five
ORM round trips, the study's row locked throughout) against the sweeps' `TeamRDBStorage`
(`optimize/sweep/rdb.py`: one pipelined transaction), each called back to back on one
study of a durable local PostgreSQL (tests/pgserver.py, fsync on). Rounds alternate the
two; each figure is the median call of a round of `--calls`. The time a call takes is an
upper bound of how long it holds the lock, which every worker of a sweep queues for.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_trial_create.py [--rounds 3] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import optuna

    from jupyter_xtrack.optimize.sweep.storage import open_storage, sqlalchemy_url
    from tests.pgserver import postgres_server

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with postgres_server(durable=True) as server:
        url = server.create_database()
        ours = open_storage(url)
        theirs = optuna.storages.RDBStorage(
            sqlalchemy_url(url),
            engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}},
        )
        study_id = ours.create_new_study([optuna.study.StudyDirection.MINIMIZE], "bench")
        figures: dict[str, list[float]] = {"Optuna's RDBStorage": [], "TeamRDBStorage": []}
        for _ in range(args.rounds):
            for name, storage in (("Optuna's RDBStorage", theirs), ("TeamRDBStorage", ours)):
                calls = []
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    storage.create_new_trial(study_id)
                    calls.append(time.perf_counter() - t0)
                figures[name].append(statistics.median(calls) * 1000)
        numbers = [t.number for t in ours.get_all_trials(study_id, deepcopy=False)]
        assert numbers == list(range(2 * args.rounds * args.calls)), "numbering broken"
    print("| storage | median call, each round | median of rounds |")
    print("|---|---|---|")
    for name, rounds in figures.items():
        each = " / ".join(f"{ms:.2f}" for ms in rounds)
        print(f"| {name} | {each} ms | {statistics.median(rounds):.2f} ms |")


if __name__ == "__main__":
    main()
