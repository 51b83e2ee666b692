"""Evaluation reports from the live model in the kernel (`xt.evaluate`), run automatically
after a tracked cell that fits and scores a model on held-out data (`auto.py`), and the
champion-vs-challenger comparison and gated promotion (`xt.compare_models`, `xt.promote`).
Sits above the API, with optimize/: it records through tracking/ and reads runs through it.

One module an idea: `model` (any predictor, torch through an adapter), `metrics` (MLflow's
names, scikit-learn's functions), `curves` (as data), `plots` (PNGs, Agg canvas),
`importance` (budgeted), `slices`, `report` (the fact), `record` (which run), `result`,
`entry`, `auto` (after a tracked cell), `champion`. The package loads them on first use, so
that the kernel's hook can ask `auto` whether a cell needs an evaluation without numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .entry import evaluate
    from .result import Evaluation

__all__ = ["Evaluation", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from .entry import evaluate

        return evaluate
    if name == "Evaluation":
        from .result import Evaluation

        return Evaluation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
