"""What Compare's Evaluation overlay costs (issue 15): the sidebar asks GET compare, then
GET runs/{id} for each compared run the answer names in `evaluated` (at most 8).

    .venv/bin/python bench/bench_evaluation_compare.py [--source DIR] [--runs 8] [--repeat 5]

Starts a real `jupyter server` with the xtrack extension (bench_server_diff's) over a scratch
store of `--runs` runs, each with an environment blob of this interpreter's installed
distributions and an evaluation report the size xt.evaluate writes for a 10-class model:
ROC and PR curves of 200 points per class plus their macro average, calibration curves,
a 10 x 10 confusion matrix, 64 features' importance, 20 slices. Measures, median of
`--repeat` after one warm-up: GET compare of the runs (the anchor: what Compare costs
without the overlay), and the overlay's detail requests, 6 at a time as a browser sends
them to one host; and the bytes of each answer.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server_diff import free_port, get, start_server  # noqa: E402
from common import median, scratch  # noqa: E402

CLASSES = 10
POINTS = 200  # xt.evaluate thins each curve to this many points
BROWSER_CONNECTIONS = 6


def _curve(rng: random.Random, label: str, n: int) -> dict[str, Any]:
    xs = sorted(rng.random() for _ in range(n))
    ys = sorted(rng.random() for _ in range(n))
    return {"label": label, "x": xs, "y": ys, "area": rng.random()}


def report(rng: random.Random) -> dict[str, Any]:
    """A 10-class report of xt.evaluate's shape and size (the values are random)."""
    labels = [f"class_{i}" for i in range(CLASSES)]
    curves = {
        kind: [_curve(rng, lab, n) for lab in [*labels, "macro"]]
        for kind, n in (("roc", POINTS), ("pr", POINTS))
    }
    curves["calibration"] = [_curve(rng, lab, 10) for lab in labels]
    metrics = {
        name: rng.random()
        for name in (
            "accuracy_score",
            "balanced_accuracy",
            "precision_score",
            "recall_score",
            "f1_score",
            "roc_auc",
            "precision_recall_auc",
            "log_loss",
            "brier_score_loss",
        )
    }
    return {
        "model_type": "classifier",
        "model": "LogisticRegression",
        "data": "X_test",
        "n": 5000,
        "pos_label": None,
        "labels": labels,
        "metrics": metrics,
        "per_class": {
            lab: {
                "precision": rng.random(),
                "recall": rng.random(),
                "f1": rng.random(),
                "support": 500,
            }
            for lab in labels
        },
        "confusion": {
            "labels": labels,
            "matrix": [[rng.randrange(500) for _ in labels] for _ in labels],
        },
        "curves": curves,
        "importance": [
            {"feature": f"pixel_{i}", "mean": rng.random(), "std": rng.random()} for i in range(64)
        ],
        "slices": [
            {
                "column": "region",
                "value": f"r{i}",
                "count": 250,
                "metrics": dict(metrics),
                "worse": ["f1_score"] if i % 4 == 0 else [],
            }
            for i in range(20)
        ],
        "slice_margin": 0.05,
        "artifacts": {"roc_curve_plot": "roc_curve_plot.png"},
    }


def build_store(root: Path, source: Path, runs: int) -> list[str]:
    sys.path.insert(0, str(source))
    from jupyter_xtrack.store import open_store

    rng = random.Random(0)
    env = {
        "packages": {d.metadata["Name"]: d.version for d in metadata.distributions()},
        "python": {"version": sys.version},
    }
    ids = []
    with open_store(root) as store:
        blob = store.put_blob(json.dumps(env).encode())
        for i in range(runs):
            rid, _ = store.create_run(name=f"model-{i}", experiment="bench")
            fact = report(rng)
            store.log_metrics([(rid, k, v, None, time.time()) for k, v in fact["metrics"].items()])
            store.set_facts(
                rid, env={"hash": blob, "packages": len(env["packages"])}, evaluation=fact
            )
            store.finish_run(rid, status="finished")
            ids.append(rid)
    return ids


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = scratch("evaluation_compare")
    ids = build_store(work / "store", args.source, args.runs)
    port = free_port()
    proc = start_server(work, args.source, work / "store", port)
    try:
        compare_path = "compare?ids=" + ",".join(ids)

        def details() -> list[bytes]:
            with ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
                return list(pool.map(lambda rid: get(port, f"runs/{rid}"), ids))

        body = get(port, compare_path)
        evaluated = json.loads(body)["evaluated"]
        assert evaluated == ids, "every run should be named as evaluated"
        details()  # warm-up
        compare_s, detail_s = [], []
        for _ in range(args.repeat):
            compare_s.append(timed(lambda: get(port, compare_path))[0])
            took, bodies = timed(details)
            detail_s.append(took)
        one = json.loads(bodies[0])
        fact = json.dumps(one["evaluation"]).encode()
        print(f"runs: {args.runs}, repeat: {args.repeat}")
        print(
            f"GET compare (anchor): median {median(compare_s) * 1000:.0f} ms, "
            f"{len(body) / 1024:.0f} KiB"
        )
        print(
            f"overlay: {args.runs} x GET runs/{{id}} ({BROWSER_CONNECTIONS} at a time): median "
            f"{median(detail_s) * 1000:.0f} ms, {sum(len(b) for b in bodies) / 1024:.0f} KiB "
            f"(one detail {len(bodies[0]) / 1024:.0f} KiB, its evaluation "
            f"{len(fact) / 1024:.0f} KiB)"
        )
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main()
