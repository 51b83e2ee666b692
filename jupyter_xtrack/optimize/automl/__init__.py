"""AutoML on a DataFrame: baselines first, then a combined algorithm-and-hyperparameter
search on Optuna with successive halving on data size, then a greedy ensemble, all within
a time budget; every candidate a child run.

How the budget is kept: every candidate is cross-validated fold by fold, and before each
fold the search estimates (from what that family cost so far, per row) whether the fold
and the final refit still fit; the final refit of the chosen model on all rows happens
only when its estimate fits, else the fold models themselves (a bag) are the final model.

One idea per module: `search` (the loop over candidates and the final model), `evaluation`
(the steps of one candidate's cross-validation), `budget` (time left, cost estimates, fits
that give up at the deadline), `result` (what a search returns, with its HTML), `entry`
(`automl`), `workers` (the search with its candidates on Dask workers) and `remote` (what a
worker runs). No module here is named like a function it exports.
"""

from .budget import SAFETY, Budget, OutOfTime, refit_fits
from .entry import automl
from .result import MODEL_ARTIFACT, AutoMLResult, Candidate
from .search import (
    ENSEMBLE_SIZE,
    HOLDOUT_MIN_ROWS,
    KEEP_FOLD_MODELS,
    SINGLE_THREAD_ROWS,
    TORCH_MIN_BUDGET_S,
    AutoMLConfig,
    AutoMLSearch,
)

__all__ = [
    "ENSEMBLE_SIZE",
    "HOLDOUT_MIN_ROWS",
    "KEEP_FOLD_MODELS",
    "MODEL_ARTIFACT",
    "SAFETY",
    "SINGLE_THREAD_ROWS",
    "TORCH_MIN_BUDGET_S",
    "AutoMLConfig",
    "AutoMLResult",
    "AutoMLSearch",
    "Budget",
    "Candidate",
    "OutOfTime",
    "automl",
    "refit_fits",
]
