"""AutoML on a DataFrame: baselines first, then a combined algorithm-and-hyperparameter
search on Optuna with successive halving on data size, then a greedy ensemble, all within
a time budget; every candidate a child run.

How the budget is kept: every candidate is cross-validated fold by fold, and before each
fold the search estimates (from what that family cost so far, per row) whether the fold
and the final refit still fit; the final refit of the chosen model on all rows happens
only when its estimate fits, else the fold models themselves (a bag) are the final model.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..tracking.search_runs import TrackedRun, open_parent, open_trial
from .jobs import Job, JobCancelled, JobControl, start_job
from .scoring import Metric, detect_task, get_metric, parse_budget

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .models import Family

HOLDOUT_MIN_ROWS = 200
KEEP_FOLD_MODELS = 8  # candidates whose fold models (and out-of-fold predictions) are kept
ENSEMBLE_SIZE = 8
MODEL_ARTIFACT = "model.pkl"  # the final model on the parent run: pickle.loads(run.artifact_bytes(...))
SINGLE_THREAD_ROWS = 20_000
TORCH_MIN_BUDGET_S = 60.0  # below this, the MLP is tried only when torch is already imported
SAFETY = 1.3  # estimates are multiplied by this before they are trusted


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


@dataclass
class AutoMLConfig:
    budget_s: float
    metric: Metric
    task: str
    cv: int
    holdout: float
    models: list[str] | None
    ensemble: bool
    seed: int
    name: str | None
    experiment: str | None
    tags: dict[str, str]
    target_name: str
    show: bool = True


class _OutOfTime(Exception):
    pass


class AutoMLSearch:
    """One AutoML run; see the module docstring."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, cfg: AutoMLConfig,  # noqa: N803
                 control: JobControl | None, background: bool,
                 started: float | None = None) -> None:
        self.X = X
        self.y = y
        self.cfg = cfg
        self.control = control
        self.background = background
        self.started = time.monotonic() if started is None else started
        self.deadline = self.started + cfg.budget_s
        self.candidates: list[Candidate] = []
        self.cost: dict[str, float] = {}  # family -> seconds per (row x fold) fitted
        self.classes: Any = None
        self._opened: set[int] = set()
        self.view: Any = None
        self._torch_loader: Any = None
        # On small data, threads cost more than they give (OpenMP start-up and spinning,
        # far worse on a busy machine): fit single-threaded.
        self.threads: int | None = 1 if len(X) < SINGLE_THREAD_ROWS else None
        self._tracked: dict[int, TrackedRun] = {}
        # Fits given up at the deadline go on in the background until they end; while they
        # do, they compete with the final refit for the CPU (and the GIL).
        self._abandoned: list[Any] = []

    # -- time --------------------------------------------------------------------------------
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def _check(self) -> None:
        if self.control is not None:
            self.control.check()

    # -- the whole search ------------------------------------------------------------------------
    def run(self) -> AutoMLResult:
        import numpy as np
        from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

        cfg = self.cfg
        X, y = self.X, self.y
        clf = cfg.task != "regression"
        if clf:
            self.classes = np.unique(y)
        stratify_ok = clf and np.min(np.unique(y, return_counts=True)[1]) >= 2
        use_holdout = cfg.holdout > 0 and len(X) >= HOLDOUT_MIN_ROWS
        if use_holdout:
            Xtr, Xho, ytr, yho = train_test_split(
                X, y, test_size=cfg.holdout, random_state=cfg.seed,
                stratify=y if stratify_ok else None,
            )
        else:
            Xtr, Xho, ytr, yho = X, None, y, None
        self.Xtr, self.ytr = Xtr.reset_index(drop=True), np.asarray(ytr)
        k = cfg.cv if len(Xtr) <= 20_000 else min(cfg.cv, 3)
        min_class = int(np.min(np.unique(self.ytr, return_counts=True)[1])) if clf else k
        k = max(2, min(k, min_class)) if clf else k
        splitter = (StratifiedKFold(k, shuffle=True, random_state=cfg.seed) if clf
                    else KFold(k, shuffle=True, random_state=cfg.seed))
        self.folds = list(splitter.split(self.Xtr, self.ytr))
        from .preprocess import column_kinds

        self.kinds = column_kinds(self.Xtr)
        parent = open_parent(
            "automl",
            name=cfg.name or f"automl {cfg.target_name}",
            experiment=cfg.experiment,
            tags={**cfg.tags, "xtrack.automl.state": "running"},
            params={
                "automl.target": cfg.target_name, "automl.task": cfg.task,
                "automl.metric": cfg.metric.name, "automl.time_budget_s": cfg.budget_s,
                "automl.n_rows": len(X), "automl.n_features": X.shape[1], "automl.cv_folds": k,
                "automl.holdout": cfg.holdout if use_holdout else 0.0,
            },
            background=self.background,
        )
        self.parent = parent
        if self.control is not None:
            self.control.attach(parent, cfg.metric.name,
                                "maximize" if cfg.metric.greater_is_better else "minimize")
        if cfg.show:
            from .live import make_view

            direction = "maximize" if cfg.metric.greater_is_better else "minimize"
            self.view = make_view(f"automl {cfg.target_name}", cfg.metric.name, direction)
            self.view.display()
        state, error = "finished", None
        try:
            self._baselines()
            self._search()
        except (KeyboardInterrupt, JobCancelled) as exc:
            state, error = ("interrupted" if isinstance(exc, KeyboardInterrupt) else "cancelled"), exc
        except _OutOfTime:
            pass
        try:
            result = self._finish(Xho, yho, state)
        except BaseException as exc:
            parent.close("failed", exc)
            raise
        parent.run.set_tags(**{"xtrack.automl.state": state, "xtrack.automl.best": result.best.name})
        if self.view is not None:
            self._show()
            self.view.finish()
        parent.close("finished" if state == "finished" else "interrupted",
                     error if isinstance(error, KeyboardInterrupt) else None)
        return result

    # -- candidates ---------------------------------------------------------------------------
    def _baselines(self) -> None:
        from .baselines import BASELINES, baseline_estimator

        for name in BASELINES:
            self._check()
            cand = Candidate(name, name, "baseline", {})
            est = baseline_estimator(name, self.cfg.task, self.cfg.seed)
            self._evaluate(cand, lambda est=est: est, scale=False, fraction=1.0, final=True)

    def _search(self) -> None:
        import optuna

        from .models import families

        cfg = self.cfg
        fams = families(cfg.task, len(self.Xtr), cfg.models)
        if not fams:
            return
        by_name = {f.name: f for f in fams}
        if "mlp" in by_name:
            if cfg.models is None and cfg.budget_s < TORCH_MIN_BUDGET_S and not self._torch_loaded():
                # Importing torch takes seconds of CPU and the GIL that a short budget
                # cannot spare; the MLP joins searches with a longer budget.
                del by_name["mlp"]
                fams = [f for f in fams if f.name != "mlp"]
            elif cfg.models is not None:
                self._torch_loaded(load=True)
            else:
                self._warm_torch()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():  # `group` is marked experimental; it is what we need
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(seed=cfg.seed, multivariate=True, group=True,
                                                 n_startup_trials=max(10, len(fams)))
        study = optuna.create_study(
            direction="maximize",
            sampler=sampler,
            pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        )
        for fam in fams:  # every family's defaults first: cheap, strong starting points
            study.enqueue_trial({"family": fam.name, **fam.defaults(cfg.task, len(self.Xtr))})
        fractions = self._rungs()
        number = 0
        while self.left() - self._reserve() > 0:
            self._check()
            trial = study.ask()
            fam = by_name[trial.suggest_categorical("family", list(by_name))]
            params = fam.suggest(trial, cfg.task, len(self.Xtr))
            number += 1
            cand = Candidate(f"{fam.name} #{number}", fam.name, "model", params)
            if not self._affordable(fam, fractions[0]):
                cand.status = "skipped"
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if self._nothing_affordable(fams, fractions[0]):
                    break
                continue
            for rung, fraction in enumerate(fractions):
                last = rung == len(fractions) - 1
                if not self._affordable(fam, fraction):
                    cand.status = "skipped"
                    break
                self._evaluate(cand, lambda fam=fam, params=params, cand=cand: fam.build(
                    params, cfg.task, cfg.seed, cand.device), scale=fam.scale,
                    fraction=fraction, final=last, family=fam, rung=rung)
                if cand.status != "running" and cand.status != "complete":
                    break
                trial.report(cand.score, rung)
                if not last and trial.should_prune():
                    cand.status = "pruned"
                    self._close(cand)
                    break
            if cand.status == "skipped":
                self._close(cand)
            if cand.status == "complete":
                study.tell(trial, cand.score)
            elif cand.status == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._trim_kept()
            self._progress()

    def _rungs(self) -> list[float]:
        """Successive-halving fidelities: fractions of the training rows."""
        n = len(self.Xtr)
        if n < 3000:
            return [1.0]
        if n < 20_000:
            return [1 / 3, 1.0]
        return [1 / 9, 1 / 3, 1.0]

    def _estimate(self, fam: Family, fraction: float) -> float | None:
        per = self.cost.get(fam.name)
        if per is None:
            return None
        rows = len(self.Xtr) * fraction * (len(self.folds) - 1) / len(self.folds)
        return per * rows * len(self.folds) * SAFETY

    def _reserve(self) -> float:
        """Seconds kept back for the final refit of the best candidates on all rows."""
        done = sorted((c for c in self.candidates if c.status == "complete" and c.kind == "model"),
                      key=lambda c: -c.score)[:3]
        if not done:
            return 0.04 * self.cfg.budget_s
        n_all = len(self.X)
        total = sum(c.fit_time_s * n_all / max(1, c.fit_rows) for c in done)
        return total * SAFETY + 0.04 * self.cfg.budget_s

    @staticmethod
    def _torch_loaded(load: bool = False) -> bool:
        import sys

        if load and "torch" not in sys.modules:
            try:
                import torch  # noqa: F401
            except ImportError:
                return False
        return "torch" in sys.modules

    def _warm_torch(self) -> None:
        """Import torch in a thread while other families are tried: the import takes seconds
        that no estimate could account for, so the MLP waits until it is done."""
        import sys
        import threading

        if "torch" in sys.modules:
            return

        def load() -> None:
            try:
                import torch  # noqa: F401
            except Exception:  # noqa: BLE001 - then the MLP family just never runs
                pass

        self._torch_loader = threading.Thread(target=load, name="xtrack-torch-import", daemon=True)
        self._torch_loader.start()

    def _affordable(self, fam: Family, fraction: float) -> bool:
        loader = self._torch_loader
        if fam.name == "mlp" and loader is not None and loader.is_alive():
            return False
        est = self._estimate(fam, fraction)
        left = self.left() - self._reserve()
        if est is None:  # never tried: allowed while a good part of the budget is left
            return left > 0.1 * self.cfg.budget_s
        return est < left

    def _nothing_affordable(self, fams: Sequence[Family], fraction: float) -> bool:
        return not any(self._affordable(f, fraction) for f in fams)

    def _evaluate(self, cand: Candidate, make: Any, *, scale: bool, fraction: float, final: bool,
                  family: Family | None = None, rung: int = 0) -> None:
        """Cross-validate one candidate at `fraction` of the training rows (fold by fold,
        stopping when the budget would not hold) and record it as a child run."""
        import numpy as np
        from sklearn.pipeline import Pipeline
        from threadpoolctl import threadpool_limits

        from .devices import device_slot, torch_device
        from .ensemble import aligned_proba
        from .preprocess import build_preprocessor

        cfg = self.cfg
        if id(cand) not in self._opened:
            self._open(cand)
        clf = cfg.task != "regression"
        rng = np.random.default_rng(cfg.seed + rung)
        oof = (np.zeros((len(self.Xtr), len(self.classes))) if clf else np.zeros(len(self.Xtr)))
        fold_scores: list[float] = []
        fit_s = pred_s = 0.0
        fit_rows = 0
        models = []
        if family is not None and family.uses_device:
            cand.device = torch_device(load_torch=family.name == "mlp")
        try:
            for i, (tr, va) in enumerate(self.folds):
                self._check()
                if fraction < 1.0:
                    tr = rng.choice(tr, size=max(50, int(len(tr) * fraction)), replace=False)
                if i > 0 and fit_s + pred_s > 0:
                    per_fold = (fit_s + pred_s) / i
                    if per_fold * SAFETY > self.left() - self._reserve():
                        raise _OutOfTime()
                est = make()
                if self.threads is not None:
                    # Families ask for all cores with n_jobs=-1; on small data use one.
                    est.set_params(**{k: self.threads for k, v in est.get_params().items()
                                      if k.endswith("n_jobs") and v == -1})
                if hasattr(est, "max_time_s"):
                    est.set_params(max_time_s=max(1.0, (self.left() - self._reserve()) / (len(self.folds) - i + 1)))
                pipe = Pipeline([("preprocess", build_preprocessor(self.kinds, scale=scale)),
                                 ("model", est)])
                Xf, yf = self.Xtr.iloc[tr], self.ytr[tr]
                t0 = time.perf_counter()
                if self.control is not None:
                    self.control.in_trial = True
                try:
                    with device_slot(cand.device), threadpool_limits(self.threads):
                        self._fit_within_budget(pipe, Xf, yf)
                        t1 = time.perf_counter()
                        Xv = self.Xtr.iloc[va]
                        pred = aligned_proba(pipe, Xv, self.classes) if clf else pipe.predict(Xv)
                finally:
                    if self.control is not None:
                        self.control.in_trial = False
                t2 = time.perf_counter()
                fit_s += t1 - t0
                pred_s += t2 - t1
                fit_rows = len(tr)
                oof[va] = pred
                fold_scores.append(cfg.metric.value(self.ytr[va], pred, self.classes))
                models.append(pipe)
                if family is not None:
                    used = fit_s + pred_s
                    self.cost[family.name] = used / ((i + 1) * len(tr))
                if final:
                    self._log(cand, fold_score=fold_scores[-1], step=i)
        except _OutOfTime:
            cand.status = "skipped"
            cand.error = "the rest of its cross-validation would not fit in the time budget"
            self._close(cand)
            return
        except (KeyboardInterrupt, JobCancelled) as exc:
            cand.status = "failed"
            self._close(cand, exc, status="interrupted")
            raise
        except Exception as exc:  # noqa: BLE001 - a failing candidate is recorded, the search goes on
            cand.status = "failed"
            cand.error = f"{type(exc).__name__}: {exc}"
            if family is not None:
                self.cost.setdefault(family.name, 0.0)
            self._close(cand, exc, status="failed")
            return
        n = len(self.folds)
        mean = float(np.mean(fold_scores))
        cand.cv_score = mean
        cand.cv_std = float(np.std(fold_scores))
        cand.score = mean if cfg.metric.greater_is_better else -mean
        cand.fit_time_s = fit_s / n
        cand.predict_time_s = pred_s / n
        cand.n_rows = fit_rows
        cand.fit_rows = fit_rows
        self._log(cand, cv_score=mean, step=rung)
        if final:
            cand.oof = oof
            cand.fold_models = models
            cand.status = "complete"
            self._log(cand, cv_std=cand.cv_std, fit_time_s=cand.fit_time_s,
                      predict_time_s=cand.predict_time_s, n_rows=float(fit_rows))
            self._close(cand)
            if cand.kind == "model":
                best = max(c.score for c in self.candidates if c.status == "complete")
                self.parent.run.log(best_cv_score=best if cfg.metric.greater_is_better else -best,
                                    step=len(self.candidates))

    def _fit_within_budget(self, pipe: Any, X: Any, y: Any) -> None:  # noqa: N803
        """Fit `pipe`, giving up (_OutOfTime) when the fit would run past the budget.

        Estimates cannot foresee every fit (a family's first one, a slow machine); the fit
        runs in a helper thread so the search can stop waiting at the deadline. An
        abandoned fit finishes in the background and its result is dropped.
        """
        import threading

        limit = self.left() - max(0.02 * self.cfg.budget_s, 0.2)
        if limit <= 0:
            raise _OutOfTime()
        outcome: dict[str, BaseException | None] = {"error": None}

        from threadpoolctl import threadpool_limits

        def fit() -> None:
            try:
                # OpenMP's thread count is per thread: set it in the thread that fits.
                with threadpool_limits(self.threads):
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
            self._abandoned.append(worker)
            raise _OutOfTime()
        if outcome["error"] is not None:
            raise outcome["error"]

    # -- records -------------------------------------------------------------------------------
    def _open(self, cand: Candidate) -> None:
        self._opened.add(id(cand))
        self.candidates.append(cand)
        tracked = open_trial(
            self.parent,
            name=cand.name,
            params={"family": cand.family, **cand.params},
            tags={"xtrack.trial.state": "running", "xtrack.automl.kind": cand.kind,
                  "xtrack.automl.family": cand.family, "xtrack.device": cand.device},
            push=False,
        )
        cand.run_id = tracked.id or None
        self._tracked[id(cand)] = tracked

    def _log(self, cand: Candidate, step: int | None = None, **metrics: float) -> None:
        tracked: TrackedRun | None = self._tracked.get(id(cand))
        if tracked is not None:
            tracked.run.log(step, **metrics)

    def _close(self, cand: Candidate, error: BaseException | None = None,
               status: str = "finished") -> None:
        tracked: TrackedRun | None = self._tracked.pop(id(cand), None)
        if tracked is None:
            return
        state = {"complete": "complete", "pruned": "pruned", "skipped": "skipped"}.get(
            cand.status, "failed" if status == "failed" else "interrupted"
        )
        tracked.run.set_tags(**{"xtrack.trial.state": state, "xtrack.device": cand.device})
        tracked.close(status, error)
        self._show()

    def _show(self) -> None:
        """Refresh the live view: one row per candidate (skipped ones count as pruned)."""
        if self.view is None:
            return
        states = {"complete": "complete", "pruned": "pruned", "skipped": "pruned",
                  "running": "running"}
        rows = [
            {"number": i, "state": states.get(c.status, "failed"), "value": c.cv_score,
             "params": {"candidate": c.name}, "duration_s": c.fit_time_s + c.predict_time_s}
            for i, c in enumerate(self.candidates)
        ]
        try:
            self.view.update(rows)
        except Exception:  # noqa: BLE001 - the view must never stop the search
            self.view = None

    def _trim_kept(self) -> None:
        """Keep fold models and out-of-fold predictions of the best candidates only."""
        done = sorted((c for c in self.candidates if c.fold_models and c.kind == "model"),
                      key=lambda c: -c.score)
        for c in done[KEEP_FOLD_MODELS:]:
            c.fold_models, c.oof = [], None

    def _progress(self) -> None:
        if self.control is None:
            return
        elapsed = time.monotonic() - self.started
        done = [c for c in self.candidates if c.status == "complete" and c.kind == "model"]
        best = max(done, key=lambda c: c.score).cv_score if done else None
        self.control.report(int(elapsed), int(self.cfg.budget_s), best, candidates=len(self.candidates))

    # -- the end ---------------------------------------------------------------------------------
    def _finish(self, Xho: Any, yho: Any, state: str) -> AutoMLResult:  # noqa: N803
        import numpy as np

        from .ensemble import caruana_weights

        cfg = self.cfg
        for c in self.candidates:
            if c.status == "running":
                c.status = "skipped"
                self._close(c)
        done = [c for c in self.candidates if c.status == "complete"]
        if not done:
            raise RuntimeError(
                f"AutoML finished no candidate within {cfg.budget_s:.0f}s; give a larger "
                "time_budget (or fewer rows)"
            )
        models = sorted((c for c in done if c.kind == "model" and c.oof is not None),
                        key=lambda c: -c.score)
        best_single = max(done, key=lambda c: c.score)
        chosen: list[Candidate] = [best_single]
        weights = [1.0]
        if cfg.ensemble and len(models) >= 2 and self.left() > 0:
            pool = models[:ENSEMBLE_SIZE]
            classes = self.classes

            def score(pred: Any) -> float:
                return cfg.metric.score(self.ytr, pred, classes)

            w = caruana_weights([c.oof for c in pool], score)
            blended = sum(c.oof * wi for c, wi in zip(pool, w, strict=True))
            ens_score = score(blended)
            single = score(best_single.oof) if best_single.oof is not None else best_single.score
            if ens_score > single + 1e-9 and sum(1 for wi in w if wi > 0) > 1:
                chosen = [c for c, wi in zip(pool, w, strict=True) if wi > 0]
                weights = [wi for wi in w if wi > 0]
                # Shown like every other candidate: the mean of its per-fold scores.
                value = float(np.mean([
                    cfg.metric.value(self.ytr[va], blended[va], classes) for _, va in self.folds
                ]))
                ens = Candidate("ensemble", "ensemble", "ensemble",
                                {c.name: round(wi, 4) for c, wi in zip(chosen, weights, strict=True)},
                                status="running")
                self._open(ens)
                ens.cv_score, ens.status = value, "complete"
                ens.score = value if cfg.metric.greater_is_better else -value
                ens.fit_time_s = sum(c.fit_time_s for c in chosen)
                ens.predict_time_s = sum(c.predict_time_s for c in chosen)
                ens.n_rows = chosen[0].n_rows
                self._log(ens, cv_score=value, fit_time_s=ens.fit_time_s,
                          predict_time_s=ens.predict_time_s)
                self._close(ens)
                best_single = ens
        bag = _bag(chosen, weights, cfg.task, self.classes)
        holdout = None
        if Xho is not None:
            pred = bag.predict_proba(Xho) if cfg.task != "regression" else bag.predict(Xho)
            holdout = cfg.metric.value(yho, pred, self.classes)
            self.parent.run.log(holdout_score=holdout)
        final, refit = bag, False
        if state == "finished":
            refitted = self._refit(chosen, weights)
            if refitted is not None:
                final, refit = refitted, True
        elapsed = time.monotonic() - self.started
        self.parent.run.log(elapsed_s=elapsed)
        try:
            import pickle

            # pickle, not joblib: the same bytes for these models, in a fraction of the time.
            self.parent.run.log_artifact(pickle.dumps(final, protocol=5), name=MODEL_ARTIFACT)
        except Exception as exc:  # noqa: BLE001 - an unpicklable model is still returned
            self.parent.run.set_tags(**{"xtrack.automl.artifact_error": f"{type(exc).__name__}: {exc}"})
        return AutoMLResult(cfg.task, cfg.metric.name, cfg.metric.greater_is_better,
                            self.candidates, best_single, final, holdout, refit, elapsed,
                            cfg.budget_s, self.parent.id or None, state)

    def _refit(self, chosen: list[Candidate], weights: list[float]) -> Any:
        """The chosen candidates fitted once more on every row (training and held-out), one
        by one while each one's estimate still fits the budget; None when one does not (then
        the bag of fold models is the final model)."""
        from sklearn.base import clone
        from threadpoolctl import threadpool_limits

        from .ensemble import WeightedEnsemble

        fitted = []
        for c in chosen:
            estimate = c.fit_time_s * len(self.X) / max(1, c.fit_rows)
            contended = any(w.is_alive() for w in self._abandoned)
            if not c.fold_models or not refit_fits(estimate, self.left(), self.cfg.budget_s,
                                                   contended):
                return None
            try:
                with threadpool_limits(self.threads):
                    fitted.append(clone(c.fold_models[0]).fit(self.X, self.y))
            except Exception:  # noqa: BLE001 - the bag of fold models is a sound final model
                return None
        if len(fitted) == 1:
            return fitted[0]
        return WeightedEnsemble(fitted, list(weights), self.cfg.task, self.classes)


def refit_fits(estimate_s: float, left_s: float, budget_s: float, contended: bool) -> bool:
    """Whether a refit estimated at `estimate_s` (from the candidate's fold fits) can start
    with `left_s` of the budget left. The estimate is trusted only with SAFETY to spare, twice
    over while an abandoned fit still runs beside it (it measured an idle core), and the last
    2 % of the budget stays for recording the model."""
    needed = estimate_s * SAFETY * (2.0 if contended else 1.0)
    return needed <= left_s - 0.02 * budget_s


def _bag(chosen: list[Candidate], weights: list[float], task: str, classes: Any) -> Any:
    """The fold models of the chosen candidates, averaged (weighted by the ensemble)."""
    from .ensemble import WeightedEnsemble

    members, member_w = [], []
    for c, w in zip(chosen, weights, strict=True):
        for m in c.fold_models:
            members.append(m)
            member_w.append(w / len(c.fold_models))
    return WeightedEnsemble(members, member_w, task, classes)


# -- the public entry point ----------------------------------------------------------------------
def automl(
    data: Any,
    y: Any = None,
    *,
    target: str | None = None,
    time_budget: float | str = "1m",
    metric: str | None = None,
    task: str | None = None,
    cv: int = 5,
    holdout: float = 0.15,
    models: list[str] | None = None,
    ensemble: bool = True,
    seed: int = 0,
    name: str | None = None,
    experiment: str | None = None,
    tags: dict[str, str] | None = None,
    background: bool = False,
    show: bool = True,
) -> AutoMLResult | Job[AutoMLResult]:
    """Find a good model for a table within `time_budget` (seconds, or "30s", "5m", "1h").

    `automl(df, target="churned")` or `automl(X, y)`. Detects the task (binary, multiclass,
    regression) and picks a metric that fits it (roc_auc, log_loss, r2; `metric=` overrides).
    Runs baselines first (zero rule, random guess, one-feature rule), then a search over
    model families and their hyperparameters with successive halving on data size, then a
    greedy ensemble kept only when it beats the best single model on CV. The whole call
    ends within the budget plus 5 %. Every candidate is a child run; the final model is an
    artifact of the parent run. `background=True` returns a Job at once.
    """
    started = time.monotonic()
    X, yv, target_name = _split_target(data, y, target)
    kind = task or detect_task(yv)
    if kind not in ("binary", "multiclass", "regression"):
        raise ValueError(f"task must be binary, multiclass or regression, got {task!r}")
    if cv < 2:
        raise ValueError(f"cv must be at least 2 folds, got {cv}")
    if not 0 <= holdout < 0.9:
        raise ValueError(f"holdout must be a fraction in [0, 0.9), got {holdout}")
    cfg = AutoMLConfig(parse_budget(time_budget), get_metric(metric, kind), kind, cv, holdout,
                       models, ensemble, seed, name, experiment,
                       {str(k): str(v) for k, v in (tags or {}).items()}, target_name,
                       show and not background)
    if models is not None:
        from .models import families

        families(kind, len(X), models)  # unknown names fail now, not in the background
    if not background:
        return AutoMLSearch(X, yv, cfg, None, False, started).run()
    return start_job("automl", name or f"automl {target_name}",
                     lambda control: AutoMLSearch(X, yv, cfg, control, True, started).run())


def _split_target(data: Any, y: Any, target: str | None) -> tuple[pd.DataFrame, np.ndarray, str]:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        X = data
    else:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"automl wants a DataFrame or a 2-d array, got shape {arr.shape}")
        X = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if y is None:
        if target is None:
            raise ValueError("name the target column (automl(df, target='col')) or pass y")
        if target not in X.columns:
            cols = ", ".join(map(str, list(X.columns)[:20]))
            raise ValueError(f"no column {target!r} in the DataFrame (columns: {cols})")
        yv = X[target]
        X = X.drop(columns=[target])
        name = target
    else:
        yv = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y
        name = str(getattr(y, "name", None) or target or "y")
        if len(yv) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yv)}")
    yv = pd.Series(yv).reset_index(drop=True)
    X = X.reset_index(drop=True)
    keep = yv.notna().to_numpy()
    if not keep.all():
        X, yv = X[keep].reset_index(drop=True), yv[keep].reset_index(drop=True)
    if len(X) < 10:
        raise ValueError(f"automl needs at least 10 rows with a target, got {len(X)}")
    X.columns = [str(c) for c in X.columns]
    return X, yv.to_numpy(), name
