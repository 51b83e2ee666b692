"""The AutoML search: baselines first, then a combined algorithm-and-hyperparameter search on
Optuna with successive halving on data size, then a greedy ensemble, all within a time budget
(kept by `budget`); every candidate a child run."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...tracking.search_runs import TrackedRun, open_parent, open_trial
from ..devices import torch_device
from ..jobs import JobCancelled, JobControl
from ..live import make_view
from ..models import Family, families
from ..preprocess import column_kinds
from ..scoring import Metric
from .budget import Budget, OutOfTime, refit_fits
from .evaluation import (
    FoldData,
    FoldResults,
    cross_validate,
    record_scores,
)
from .result import MODEL_ARTIFACT, AutoMLResult, Candidate

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HOLDOUT_MIN_ROWS = 200
KEEP_FOLD_MODELS = 8  # candidates whose fold models (and out-of-fold predictions) are kept
ENSEMBLE_SIZE = 8
SINGLE_THREAD_ROWS = 20_000
TORCH_MIN_BUDGET_S = 60.0  # below this, the MLP is tried only when torch is already imported


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
        self.budget = Budget(cfg.budget_s, time.monotonic() if started is None else started)
        self.candidates: list[Candidate] = []
        self.classes: Any = None
        self._opened: set[int] = set()
        self.view: Any = None
        self._torch_loader: Any = None
        # On small data, threads cost more than they give (OpenMP start-up and spinning,
        # far worse on a busy machine): fit single-threaded.
        self.threads: int | None = 1 if len(X) < SINGLE_THREAD_ROWS else None
        self._tracked: dict[int, TrackedRun] = {}
        self._asked = 0  # candidates asked of the study so far (their numbers)
        self.parallel = False  # several candidates at once (on Dask workers)

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
        self.kinds = column_kinds(self.Xtr)
        self.data = FoldData(self.Xtr, self.ytr, self.folds, self.kinds, self.classes,
                             cfg.metric, cfg.seed)
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
            launched_from=None if self.control is None else self.control.launched_from,
        )
        self.parent = parent
        if self.control is not None:
            self.control.attach(parent, cfg.metric.name,
                                "maximize" if cfg.metric.greater_is_better else "minimize")
        if cfg.show:
            direction = "maximize" if cfg.metric.greater_is_better else "minimize"
            self.view = make_view(f"automl {cfg.target_name}", cfg.metric.name, direction)
            self.view.display()
        state, error = "finished", None
        try:
            self._baselines()
            self._search()
        except (KeyboardInterrupt, JobCancelled) as exc:
            state, error = ("interrupted" if isinstance(exc, KeyboardInterrupt) else "cancelled"), exc
        except OutOfTime:
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
        from ..baselines import BASELINES, baseline_estimator  # lazy: imports scikit-learn

        for name in BASELINES:
            self._check()
            cand = Candidate(name, name, "baseline", {})
            est = baseline_estimator(name, self.cfg.task, self.cfg.seed)
            self._evaluate(cand, lambda est=est: est, scale=False, fraction=1.0, final=True)

    def _search(self) -> None:
        """Candidates one after another in the kernel, each up the rungs of successive
        halving until it is pruned, fails or is evaluated on all rows."""
        plan = self._plan()
        if plan is None:
            return
        study, fams = plan
        fractions = self._rungs()
        while self.budget.left() - self._reserve() > 0:
            self._check()
            trial, fam, cand = self._ask(study, fams)
            if not self._affordable(fam, fractions[0]):
                self._skip(study, trial, cand)
                if self._nothing_affordable(fams, fractions[0]):
                    break
                continue
            for rung, fraction in enumerate(fractions):
                last = rung == len(fractions) - 1
                if not self._affordable(fam, fraction):
                    cand.status = "skipped"
                    break
                self._evaluate(cand, lambda fam=fam, cand=cand: fam.build(
                    cand.params, self.cfg.task, self.cfg.seed, cand.device), scale=fam.scale,
                    fraction=fraction, final=last, family=fam, rung=rung)
                if cand.status not in ("running", "complete") or not self._promote(
                        trial, cand, rung, last):
                    break
            self._tell(study, trial, cand)

    def _plan(self) -> tuple[Any, list[Family]] | None:
        """The Optuna study over the families this search tries (None: no family to try),
        with each family's defaults queued first: cheap, strong starting points."""
        import optuna

        cfg = self.cfg
        fams = families(cfg.task, len(self.Xtr), cfg.models)
        if any(f.name == "mlp" for f in fams):
            if cfg.models is None and cfg.budget_s < TORCH_MIN_BUDGET_S and not self._torch_loaded():
                # Importing torch takes seconds of CPU and the GIL that a short budget
                # cannot spare; the MLP joins searches with a longer budget.
                fams = [f for f in fams if f.name != "mlp"]
            elif cfg.models is not None:
                self._torch_loaded(load=True)
            else:
                self._warm_torch()
        if not fams:
            return None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():  # `group` is marked experimental; it is what we need
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(
                seed=cfg.seed, multivariate=True, group=True,
                n_startup_trials=max(10, len(fams)), constant_liar=self.parallel)
        study = optuna.create_study(
            direction="maximize",
            sampler=sampler,
            pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        )
        for fam in fams:
            study.enqueue_trial({"family": fam.name, **fam.defaults(cfg.task, len(self.Xtr))})
        return study, fams

    def _ask(self, study: Any, fams: Sequence[Family]) -> tuple[Any, Family, Candidate]:
        """The next trial of the study: its family, and the candidate it makes."""
        by_name = {f.name: f for f in fams}
        trial = study.ask()
        fam = by_name[trial.suggest_categorical("family", list(by_name))]
        params = fam.suggest(trial, self.cfg.task, len(self.Xtr))
        self._asked += 1
        return trial, fam, Candidate(f"{fam.name} #{self._asked}", fam.name, "model", params)

    def _skip(self, study: Any, trial: Any, cand: Candidate) -> None:
        """A candidate the budget cannot afford: shown as skipped, never evaluated."""
        import optuna

        cand.status = "skipped"
        study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def _promote(self, trial: Any, cand: Candidate, rung: int, last: bool) -> bool:
        """Report `cand`'s score at `rung`; whether it goes on to the next rung (False when
        it was the last one, or when successive halving prunes it here)."""
        trial.report(cand.score, rung)
        if last:
            return False
        if trial.should_prune():
            cand.status = "pruned"
            self._close(cand)
            return False
        return True

    def _tell(self, study: Any, trial: Any, cand: Candidate) -> None:
        """The candidate's outcome told to the study; its run closed if still open."""
        import optuna

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
        rows = len(self.Xtr) * fraction * (len(self.folds) - 1) / len(self.folds)
        return self.budget.estimate(fam.name, rows, len(self.folds))

    def _reserve(self) -> float:
        """Seconds kept back for the final refit of the best candidates on all rows."""
        return self.budget.reserve(self.candidates, len(self.X))

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
        left = self.budget.left() - self._reserve()
        if est is None:  # never tried: allowed while a good part of the budget is left
            return left > 0.1 * self.cfg.budget_s
        return est < left

    def _nothing_affordable(self, fams: Sequence[Family], fraction: float) -> bool:
        return not any(self._affordable(f, fraction) for f in fams)

    def _evaluate(self, cand: Candidate, make: Any, *, scale: bool, fraction: float, final: bool,
                  family: Family | None = None, rung: int = 0) -> None:
        """Cross-validate one candidate at `fraction` of the training rows (fold by fold,
        stopping when the budget would not hold) and record it as a child run."""
        if id(cand) not in self._opened:
            self._open(cand)
        if family is not None and family.uses_device:
            cand.device = torch_device(load_torch=family.name == "mlp")
        self._settle(cand, lambda: self._cross_validate(cand, make, scale, fraction, final,
                                                        family, rung),
                     final=final, family=family, rung=rung)

    def _settle(self, cand: Candidate, evaluate: Callable[[], FoldResults], *, final: bool,
                family: Family | None, rung: int) -> None:
        """Record what `evaluate()` gives for `cand` (its folds' results, or why it has none),
        wherever the folds ran: in the kernel or on a Dask worker."""
        try:
            results = evaluate()
        except OutOfTime:
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
                self.budget.cost.setdefault(family.name, 0.0)
            self._close(cand, exc, status="failed")
            return
        mean, std = record_scores(cand, results, self.cfg.metric, len(self.folds))
        self._log(cand, cv_score=mean, step=rung)
        if final:
            self._complete(cand, results, std)

    def _cross_validate(self, cand: Candidate, make: Any, scale: bool, fraction: float,
                        final: bool, family: Family | None, rung: int) -> FoldResults:
        """The candidate's folds in the kernel, each one's cost and score recorded as it ends."""

        def on_fold(i: int, score: float, results: FoldResults) -> None:
            if family is not None:
                self.budget.record_cost(family.name, results.used_s, results.rows_fitted)
            if final:
                self._log(cand, fold_score=score, step=i)

        return cross_validate(self.data, make, scale=scale, fraction=fraction, rung=rung,
                              device=cand.device, threads=self.threads, budget=self.budget,
                              reserve=self._reserve, control=self.control, check=self._check,
                              on_fold=on_fold)

    def _complete(self, cand: Candidate, results: FoldResults, cv_std: float) -> None:
        """A candidate evaluated on all its rows: kept for the ensemble, and its run closed."""
        cand.oof = results.oof
        cand.fold_models = results.models
        cand.status = "complete"
        self._log(cand, cv_std=cv_std, fit_time_s=cand.fit_time_s,
                  predict_time_s=cand.predict_time_s, n_rows=float(results.fit_rows))
        self._close(cand)
        if cand.kind == "model":
            cfg = self.cfg
            best = max(c.score for c in self.candidates if c.status == "complete")
            self.parent.run.log(best_cv_score=best if cfg.metric.greater_is_better else -best,
                                step=len(self.candidates))


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
            cand.status, "failed" if status in ("failed", "crashed") else "interrupted"
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
        elapsed = self.budget.elapsed()
        done = [c for c in self.candidates if c.status == "complete" and c.kind == "model"]
        best = max(done, key=lambda c: c.score).cv_score if done else None
        self.control.report(int(elapsed), int(self.cfg.budget_s), best, candidates=len(self.candidates))

    # -- the end ---------------------------------------------------------------------------------
    def _finish(self, Xho: Any, yho: Any, state: str) -> AutoMLResult:  # noqa: N803
        import numpy as np

        from ..ensemble import caruana_weights  # lazy: imports scikit-learn

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
        if cfg.ensemble and len(models) >= 2 and self.budget.left() > 0:
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
        elapsed = self.budget.elapsed()
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

        from ..ensemble import WeightedEnsemble  # lazy: imports scikit-learn

        fitted = []
        for c in chosen:
            estimate = c.fit_time_s * len(self.X) / max(1, c.fit_rows)
            contended = self.budget.contended()
            if not c.fold_models or not refit_fits(estimate, self.budget.left(), self.cfg.budget_s,
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


def _bag(chosen: list[Candidate], weights: list[float], task: str, classes: Any) -> Any:
    """The fold models of the chosen candidates, averaged (weighted by the ensemble)."""
    from ..ensemble import WeightedEnsemble  # lazy: imports scikit-learn

    members, member_w = [], []
    for c, w in zip(chosen, weights, strict=True):
        for m in c.fold_models:
            members.append(m)
            member_w.append(w / len(c.fold_models))
    return WeightedEnsemble(members, member_w, task, classes)
