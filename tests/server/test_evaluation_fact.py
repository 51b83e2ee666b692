"""The evaluation report xt.evaluate records reaches the sidebar through the REST API: the run
detail carries the fact as stored (NaN kept, as the rest of the API sends it) and the comparison
names the runs that have one, so the sidebar fetches only those for its Evaluation overlay."""

from __future__ import annotations

from typing import Any

from jupyter_xtrack.facts import EvaluationFact, Fact
from jupyter_xtrack.store import open_store

from .conftest import Populated

REPORT: EvaluationFact = {
    "model_type": "classifier",
    "model": "LogisticRegression",
    "data": "X_test",
    "n": 4,
    "pos_label": "yes",
    "labels": ["no", "yes"],
    "metrics": {"accuracy_score": 0.75, "roc_auc": 0.5, "log_loss": float("nan")},
    "per_class": {"yes": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}},
    "confusion": {"labels": ["no", "yes"], "matrix": [[2, 0], [1, 1]]},
    "curves": {"roc": [{"label": "yes", "x": [0.0, 0.0, 1.0], "y": [0.0, 0.5, 1.0], "area": 0.5}]},
    "slices": [
        {
            "column": "country",
            "value": "FR",
            "count": 2,
            "metrics": {"accuracy_score": 0.5},
            "worse": ["accuracy_score"],
        }
    ],
    "artifacts": {"roc_curve_plot": "roc_curve_plot.png"},
}


def _evaluate(populated: Populated, name: str) -> str:
    with open_store(populated.root) as store:
        store.set_facts(populated.ids[name], **{Fact.EVALUATION: REPORT})
    return populated.ids[name]


async def test_the_run_detail_carries_the_evaluation_fact(api: Any, populated: Populated) -> None:
    run = _evaluate(populated, "a")
    detail = await api(f"runs/{run}", "RunDetail")
    got = detail[Fact.EVALUATION]
    assert got["confusion"] == REPORT["confusion"]
    assert got["curves"]["roc"][0] == REPORT["curves"]["roc"][0]
    assert got["slices"][0]["worse"] == ["accuracy_score"]
    assert got["metrics"]["accuracy_score"] == 0.75
    assert got["metrics"]["log_loss"] == "NaN"  # as the API sends non-finite numbers
    other = await api(f"runs/{populated.ids['b']}", "RunDetail")
    assert Fact.EVALUATION not in other


async def test_compare_names_the_evaluated_runs(api: Any, populated: Populated) -> None:
    a, c = _evaluate(populated, "a"), _evaluate(populated, "c")
    ids = ",".join(populated.ids[n] for n in ("a", "b", "c"))
    comp = await api("compare", "Comparison", ids=ids)
    assert comp["evaluated"] == [a, c]
