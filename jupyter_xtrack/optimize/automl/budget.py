"""The time budget of one AutoML search: what is left, what a fit is expected to cost, and
fits that give up at the deadline.

Every candidate is cross-validated fold by fold, and before each fold the search estimates
(from what that family cost so far, per row) whether the fold and the final refit still
fit; the final refit on all rows happens only when its estimate fits, else the fold models
themselves (a bag) are the final model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import Candidate

SAFETY = 1.3  # estimates are multiplied by this before they are trusted


class OutOfTime(Exception):
    """The budget would not hold: the work under way stops here."""


class Budget:
    """Seconds left, and each family's cost per (row x fold) fitted so far."""

    def __init__(self, seconds: float, started: float) -> None:
        self.seconds = seconds
        self.started = started
        self.deadline = started + seconds
        self.cost: dict[str, float] = {}  # family -> seconds per (row x fold) fitted
        # Fits given up at the deadline go on in the background until they end; while they
        # do, they compete with the final refit for the CPU (and the GIL).
        self.abandoned: list[threading.Thread] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def margin(self) -> float:
        """Seconds before the deadline at which work under way is given up: what is left
        then goes to recording what was found."""
        return max(0.02 * self.seconds, 0.2)

    def record_cost(self, family: str, seconds: float, rows: int) -> None:
        """What `family` cost so far: `seconds` over `rows` fitted (rows x folds)."""
        self.cost[family] = seconds / rows

    def estimate(self, family: str, rows: float, n_folds: int) -> float | None:
        """Seconds `n_folds` fits of `rows` rows each are expected to take (None: never tried)."""
        per = self.cost.get(family)
        if per is None:
            return None
        return per * rows * n_folds * SAFETY

    def reserve(self, candidates: Sequence[Candidate], n_rows: int) -> float:
        """Seconds kept back for the final refit of the best candidates on all `n_rows`."""
        done = sorted((c for c in candidates if c.status == "complete" and c.kind == "model"),
                      key=lambda c: -c.score)[:3]
        if not done:
            return self.closing()
        total = sum(c.fit_time_s * n_rows / max(1, c.fit_rows) for c in done)
        return total * SAFETY + self.closing()

    def closing(self) -> float:
        """Seconds kept back in any case for what follows the search: the ensemble, the
        held-out score, recording the final model."""
        return 0.04 * self.seconds

    def next_fold_fits(self, per_fold_s: float, reserve_s: float) -> bool:
        return per_fold_s * SAFETY <= self.left() - reserve_s

    def contended(self) -> bool:
        """Whether a fit given up at the deadline still runs."""
        return any(w.is_alive() for w in self.abandoned)

    def fit(self, pipe: Any, X: Any, y: Any, threads: int | None) -> None:  # noqa: N803
        """Fit `pipe`, giving up (OutOfTime) when the fit would run past the budget.

        Estimates cannot foresee every fit (a family's first one, a slow machine); the fit
        runs in a helper thread so the search can stop waiting at the deadline. An
        abandoned fit finishes in the background and its result is dropped.
        """
        limit = self.left() - self.margin()
        if limit <= 0:
            raise OutOfTime()
        outcome: dict[str, BaseException | None] = {"error": None}

        from threadpoolctl import threadpool_limits

        def fit() -> None:
            try:
                # OpenMP's thread count is per thread: set it in the thread that fits.
                with threadpool_limits(threads):
                    pipe.fit(X, y)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = exc

        worker = threading.Thread(target=fit, name="xtrack-automl-fit", daemon=True)
        worker.start()
        deadline = time.monotonic() + limit
        # Short waits, so a job's cancel (raised into this thread) is seen promptly.
        while worker.is_alive() and time.monotonic() < deadline:
            worker.join(0.05)
        if worker.is_alive():
            self.abandoned.append(worker)
            raise OutOfTime()
        if outcome["error"] is not None:
            raise outcome["error"]


def refit_fits(estimate_s: float, left_s: float, budget_s: float, contended: bool) -> bool:
    """Whether a refit estimated at `estimate_s` (from the candidate's fold fits) can start
    with `left_s` of the budget left. The estimate is trusted only with SAFETY to spare, twice
    over while an abandoned fit still runs beside it (it measured an idle core), and the last
    2 % of the budget stays for recording the model."""
    needed = estimate_s * SAFETY * (2.0 if contended else 1.0)
    return needed <= left_s - 0.02 * budget_s
