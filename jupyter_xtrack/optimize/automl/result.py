"""What an AutoML search returns: every candidate it tried, the final model, and the
leaderboard (with its HTML)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MODEL_ARTIFACT = "model.pkl"  # the final model on the parent run: pickle.loads(run.artifact_bytes(...))


@dataclass
class Candidate:
    """One model tried by the search, as the leaderboard shows it."""

    name: str
    family: str
    kind: str  # baseline | model | ensemble
    params: dict[str, Any]
    status: str = "running"  # complete | pruned | failed | skipped | running
    cv_score: float | None = None
    cv_std: float | None = None
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0
    n_rows: int = 0
    device: str = "cpu"
    run_id: str | None = None
    error: str | None = None
    score: float = -math.inf  # higher is better, whatever the metric
    oof: Any = field(default=None, repr=False)
    fold_models: list[Any] = field(default_factory=list, repr=False)
    fit_rows: int = 0


@dataclass
class AutoMLResult:
    """What `automl` returns. `best_model` is a fitted scikit-learn compatible model with the
    preprocessing inside; `leaderboard` lists every candidate with its CV score and timings."""

    task: str
    metric: str
    greater_is_better: bool
    candidates: list[Candidate]
    best: Candidate
    best_model: Any
    holdout_score: float | None
    refit_on_all_rows: bool
    elapsed_s: float
    budget_s: float
    run_id: str | None
    state: str = "finished"

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Every candidate, best CV score first: candidate, final (the one `best_model` is
        built from), family, kind, status, cv_score, cv_std, fit_time_s, predict_time_s,
        n_rows, device, run_id, params."""
        import pandas as pd

        rows = [
            {
                "candidate": c.name,
                "final": c is self.best,
                "family": c.family,
                "kind": c.kind,
                "status": c.status,
                "cv_score": c.cv_score,
                "cv_std": c.cv_std,
                "fit_time_s": c.fit_time_s,
                "predict_time_s": c.predict_time_s,
                "n_rows": c.n_rows,
                "device": c.device,
                "run_id": c.run_id,
                "params": c.params,
                "_done": 0 if c.status == "complete" else 1,
                "_score": c.score,
            }
            for c in self.candidates
        ]
        frame = pd.DataFrame(rows)
        frame = frame.sort_values(["_done", "_score"], ascending=[True, False])
        return frame.drop(columns=["_done", "_score"]).reset_index(drop=True)

    def predict(self, X: Any) -> Any:  # noqa: N803
        return self.best_model.predict(X)

    def __repr__(self) -> str:
        hold = f", holdout {self.metric}={self.holdout_score:.4g}" if self.holdout_score is not None else ""
        return (
            f"<AutoML {self.task} {self.state}: best {self.best.name} CV {self.metric}="
            f"{self.best.cv_score:.4g}{hold}; {len(self.candidates)} candidates in "
            f"{self.elapsed_s:.1f}s of {self.budget_s:.0f}s>"
        )

    def _repr_html_(self) -> str:
        import html

        board = self.leaderboard.drop(columns=["params", "run_id"]).head(15)
        return f"<div>{html.escape(repr(self))}</div>{board.to_html(index=False, float_format='%.4g')}"
