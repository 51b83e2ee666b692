"""Model registry search speed: 10,000 versions (1,000 models x 10), searched by name, tag
and alias through the store (`search_models`, `search_model_versions`,
`get_model_version`), median of several runs; the anchor is MLflow's registry on SQLite
(`MlflowClient.search_registered_models` / `search_model_versions` with the same filters,
`get_model_version_by_alias`), filled with the same models, tags and aliases in the same run.

    .venv/bin/python bench/bench_registry.py [--models 1000] [--versions 10] [--repeat 7]

Ours is filled through its API (`register_model_version`, one transaction per version, as
`xt.register_model` writes). MLflow's API takes about 0.1 s a write here, so only its first
`--api-models` models go through `create_registered_model` / `create_model_version` /
`set_registered_model_alias`; the rest are copied into its tables with SQL in the exact
shape those calls wrote (same columns, status, stage, tags and aliases), which searches
cannot tell apart. Goal: every search under 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import median, scratch

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.registry import VersionSource

GOAL_S = 0.050
TEAMS, DOMAINS, TIERS = 20, 5, 3


def model_tags(i: int) -> dict[str, str]:
    return {
        "team": f"team-{i % TEAMS}",
        "domain": f"domain-{i % DOMAINS}",
        "tier": f"tier-{i % TIERS}",
    }


def version_tags(i: int, v: int) -> dict[str, str]:
    # 1,000 datasets: each names the 10 versions trained on it
    return {"dataset": f"d-{(i * 10 + v) % 1000}", "stage": "prod" if v == 10 else "dev"}


def fill_ours(path: Path, models: int, versions: int) -> Any:
    store = open_store(path)
    source: VersionSource = {
        "run_id": None,
        "artifact": "model.pkl",
        "blob": store.put_blob(b"model"),
        "size": 5,
        "format": "pickle",
    }
    for i in range(models):
        name = f"model-{i:04d}"
        for v in range(1, versions + 1):
            aliases = ["champion"] if v == versions - 1 else []
            store.register_model_version(
                name, source, user="bench", tags=version_tags(i, v), aliases=aliases
            )
        store.set_model_tags(name, model_tags(i))
    return store


def fill_mlflow(path: Path, models: int, versions: int, api_models: int) -> Any:
    import mlflow  # lazy: only the anchor needs it
    from mlflow import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    mlflow.set_tracking_uri(f"sqlite:///{path / 'mlflow.db'}")
    client = MlflowClient()
    for i in range(min(models, api_models)):
        name = f"model-{i:04d}"
        client.create_registered_model(name, tags=model_tags(i))
        for v in range(1, versions + 1):
            client.create_model_version(
                name, source=f"file:///models/{name}/{v}", tags=version_tags(i, v)
            )
        client.set_registered_model_alias(name, "champion", str(versions - 1))
    copy_mlflow_rows(path / "mlflow.db", range(api_models, models), versions)
    return client


def copy_mlflow_rows(db: Path, indexes: range, versions: int) -> None:
    """Models `indexes` written into MLflow's tables as its API wrote model-0000."""
    conn = sqlite3.connect(db)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(model_versions)")]
    first = "SELECT * FROM model_versions WHERE name = 'model-0000' AND version = 1"
    template = dict(zip(cols, conn.execute(first).fetchone(), strict=True))
    now = int(time.time() * 1000)
    with conn:
        for i in indexes:
            name = f"model-{i:04d}"
            conn.execute(
                "INSERT INTO registered_models(name, creation_time, last_updated_time) "
                "VALUES (?, ?, ?)",
                (name, now, now),
            )
            conn.executemany(
                "INSERT INTO registered_model_tags(key, value, name) VALUES (?, ?, ?)",
                [(k, val, name) for k, val in model_tags(i).items()],
            )
            for v in range(1, versions + 1):
                row = {
                    **template,
                    "name": name,
                    "version": v,
                    "creation_time": now,
                    "last_updated_time": now,
                    "source": f"file:///models/{name}/{v}",
                }
                conn.execute(
                    f"INSERT INTO model_versions({', '.join(cols)}) VALUES "
                    f"({', '.join('?' * len(cols))})",
                    [row[c] for c in cols],
                )
                conn.executemany(
                    "INSERT INTO model_version_tags(key, value, name, version) VALUES (?, ?, ?, ?)",
                    [(k, val, name, v) for k, val in version_tags(i, v).items()],
                )
            conn.execute(
                "INSERT INTO registered_model_aliases(alias, version, name) "
                "VALUES ('champion', ?, ?)",
                (versions - 1, name),
            )
    conn.close()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """(median seconds, results) of `fn` after one warm-up call."""
    found = len(fn())
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times), found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--api-models", type=int, default=20)
    args = parser.parse_args()
    work = scratch("registry")
    n = args.models * args.versions
    start = time.perf_counter()
    ours = fill_ours(work / "xtrack", args.models, args.versions)
    ours_fill = time.perf_counter() - start
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    start = time.perf_counter()
    mlf = fill_mlflow(work, args.models, args.versions, args.api_models)
    mlflow_fill = time.perf_counter() - start
    one = f"model-{args.models // 2:04d}"
    big = 1000  # MLflow pages results (100 by default): ask both for up to 1,000
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
        (
            "versions of one model (name)",
            lambda: ours.search_model_versions(one),
            lambda: mlf.search_model_versions(f"name = '{one}'", max_results=big),
        ),
        (
            "models whose name contains 'l-04'",
            lambda: ours.search_models("l-04"),
            lambda: mlf.search_registered_models("name LIKE '%l-04%'", max_results=big),
        ),
        (
            "models with one tag (team)",
            lambda: ours.search_models(tags={"team": "team-7"}),
            lambda: mlf.search_registered_models("tags.team = 'team-7'", max_results=big),
        ),
        (
            "models with three tags (mlflow#13633)",
            lambda: ours.search_models(
                tags={"team": "team-7", "domain": "domain-2", "tier": "tier-1"}
            ),
            lambda: mlf.search_registered_models(
                "tags.team = 'team-7' AND tags.domain = 'domain-2' AND tags.tier = 'tier-1'",
                max_results=big,
            ),
        ),
        (
            "versions with a tag (dataset)",
            lambda: ours.search_model_versions(tags={"dataset": "d-42"}),
            lambda: mlf.search_model_versions("tags.dataset = 'd-42'", max_results=big),
        ),
        (
            "versions of one model with a tag (stage=prod)",
            lambda: ours.search_model_versions(one, tags={"stage": "prod"}),
            lambda: mlf.search_model_versions(
                f"name = '{one}' AND tags.stage = 'prod'", max_results=big
            ),
        ),
        (
            "one model's version by alias",
            lambda: [ours.get_model_version(one, alias="champion")],
            lambda: [mlf.get_model_version_by_alias(one, "champion")],
        ),
        (
            "every version holding alias champion (1,000)",
            lambda: ours.search_model_versions(alias="champion"),
            None,
        ),
    ]
    print(
        f"{n:,} versions ({args.models:,} models x {args.versions}); median of "
        f"{args.repeat} runs; fill: xtrack {ours_fill:.1f} s, MLflow {mlflow_fill:.1f} s "
        f"({args.api_models} models through its API)\n"
    )
    print("| search | results | xtrack | MLflow 3.17.2 (SQLite) | goal < 50 ms |")
    print("|---|---|---|---|---|")
    for label, fn, anchor in cases:
        t, found = timed(fn, args.repeat)
        other = "no such filter"
        if anchor is not None:
            ta, found_a = timed(anchor, args.repeat)
            other = f"{ta * 1000:.1f} ms" + ("" if found_a == found else f" ({found_a} results)")
        verdict = "met" if t < GOAL_S else "**missed**"
        print(f"| {label} | {found} | {t * 1000:.2f} ms | {other} | {verdict} |")


if __name__ == "__main__":
    main()
