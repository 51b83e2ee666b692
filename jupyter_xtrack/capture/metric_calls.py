"""Scores a tracked cell computes with scikit-learn, recorded without a call from the user.

While a tracked cell runs, the `sklearn.metrics` scorers and losses, estimators' `.score`,
`cross_val_score` / `cross_validate` and `*SearchCV.fit` are wrapped (`MetricCalls.start`);
the wrappers are removed when the cell ends (`MetricCalls.stop`). A wrapper calls the
original first and then only looks at what was passed and returned, so the cell computes
exactly what it would untracked. Only calls made by the cell's own top-level code (or a
comprehension in it) count: a scorer that `cross_val_score` or `GridSearchCV.fit` calls, or
one called inside a function the notebook defines, is not a score the reader sees.

Names follow MLflow's post-training metrics, `{function}_{data}`: the data is the variable
holding the `X` that was passed (`score_X_test`), or, for `metric(y_true, y_pred)`, the `X`
given to the `predict` call that produced the prediction when the cell's code says so
(`y_pred = clf.predict(X_test)`, or `f1_score(y_test, clf.predict(X_test))` read off the
call itself: `inline_prediction`) → `accuracy_score_X_test`, else the variable holding the
first argument (`r2_score_y_test`). An estimator's `score` is named for what it measures
(`score_label`: `score` is accuracy or R², KMeans' is `neg_inertia`, ...). Variables are
found by identity among the caller's names, never by evaluating anything. Repeated calls
under one name make a history (step = call index). A result the cell binds to a metric-like name is recorded under that name
instead (`acc = accuracy_score(...)` gives `acc` only): see `MetricCalls.points`.

Nothing is patched, and nothing imported, when scikit-learn is not imported; a scikit-learn
module imported during the cell is wrapped as it loads.
"""

from __future__ import annotations

import ast
import functools
import importlib.abc
import itertools
import linecache
import math
import os
import re
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .params import real_number

__all__ = [
    "MetricCalls",
    "SearchResult",
    "active",
    "inline_prediction",
    "prediction_sources",
    "score_arrays",
    "score_label",
]

# scikit-learn's public metric functions that return one number (others are skipped at
# call time when they return arrays, e.g. `f1_score(average=None)`).
_METRIC_FUNCTION = re.compile(r"(_score|_error|_loss|_deviance)$|^(log_loss|matthews_corrcoef)$")
_CV_FUNCTIONS = ("cross_val_score", "cross_validate")
_PREDICT = frozenset(
    {
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "fit_predict",
        "staged_predict",
        "staged_predict_proba",
        "staged_decision_function",
    }
)
# Frames that run a cell's own top-level code (3.11 runs comprehensions in frames of their own).
_CELL_SCOPES = frozenset({"<module>", "<listcomp>", "<genexpr>", "<setcomp>", "<dictcomp>"})
_ARRAY_CAP = 100_000
# the keyword a metric's prediction may be passed by
_PRED_KEYWORDS = ("y_pred", "y_score", "y_proba", "y_prob", "labels_pred", "labels")
SEARCH_TOP_ENV = "XTRACK_SEARCH_TOP"
DEFAULT_SEARCH_TOP = 5


@dataclass
class SearchResult:
    """A `*SearchCV` fitted by the cell (or an Optuna study it created), as the run shows it:
    best params and score, and its top candidates (params, mean and std of the CV score)."""

    name: str  # the variable that holds the search
    params_prefix: str  # "grid.best_params_" or "study.best_params": the params' names
    score_name: str  # "grid.best_score_" or "study.best_value": the metric's name
    best_params: dict[str, Any]
    best_score: float | None
    candidates: list[tuple[dict[str, Any], dict[str, float]]] = field(default_factory=list)


@dataclass
class _Call:
    result: Any  # kept alive so that its id stays its own until the cell ends
    points: list[tuple[str, int, float]]


class MetricCalls:
    """The scores of one cell; see the module docstring."""

    def __init__(self, user_ns: MutableMapping[str, Any], sources: Sequence[str]) -> None:
        self.user_ns = user_ns
        self.sources = sources  # the session's cells, this one last
        self._aliases: dict[str, str] | None = None
        self.calls: list[_Call] = []
        self.loop_points: list[tuple[str, int, float]] = []
        self.loop_ids: set[int] = set()
        self.searches: list[tuple[str | None, Any]] = []
        # (estimator, the variable of the X it scored on) of every `.score` call, for the
        # automatic evaluation after the cell (evaluate/auto.py)
        self.scored: list[tuple[Any, str | None]] = []
        self.problems: list[str] = []
        self._steps: dict[str, int] = {}
        self._thread = threading.get_ident()

    @property
    def aliases(self) -> dict[str, str]:
        """Prediction variable -> the X variable it came from, by the latest cell that says so
        (`y_pred = clf.predict(X_test)` may sit in an earlier cell). Parsed at the first
        metric call, so a cell that computes none pays nothing."""
        if self._aliases is None:
            self._aliases = {}
            for source in self.sources:
                self._aliases.update(prediction_sources(source))
        return self._aliases

    # -- lifetime ----------------------------------------------------------------------
    def start(self) -> None:
        """Wrap the scikit-learn functions already imported, and watch imports for the rest."""
        global _active
        _active = self
        for module in list(_WATCHED):
            if module in sys.modules:
                _patch_module(sys.modules[module])
        _rebind(self.user_ns, to_wrapper=True)
        if _WATCHER not in sys.meta_path:
            sys.meta_path.insert(0, _WATCHER)

    def stop(self) -> None:
        """Put every original back (modules, classes and the user's namespace)."""
        global _active
        _active = None
        if _WATCHER in sys.meta_path:
            sys.meta_path.remove(_WATCHER)
        _unpatch_all()
        _rebind(self.user_ns, to_wrapper=False)

    # -- what was seen -----------------------------------------------------------------
    def points(
        self, renamed: Collection[int], logged: Collection[float]
    ) -> list[tuple[str, int, float]]:
        """Every score as (name, step, value), loop assignments first. A call whose result
        the cell bound to a metric-like name (`renamed`: ids of such objects), or whose value
        the cell logged itself with `xt.log` (`logged`), is left out: the user's name wins."""
        out = list(self.loop_points)
        for call in self.calls:
            if id(call.result) in renamed or id(call.result) in self.loop_ids:
                continue
            if len(call.points) == 1 and call.points[0][2] in logged:
                continue
            out.extend(call.points)
        return out

    def call_results(self) -> set[int]:
        """Ids of the objects the recorded calls returned."""
        return {id(c.result) for c in self.calls}

    def search_results(
        self, names: list[str], ns: Mapping[str, Any], top: int | None = None
    ) -> list[SearchResult]:
        """The searches the cell fitted (named by the variable that holds them now: the cell
        may bind `grid = GridSearchCV(...).fit(...)` after the fit), with their `top` best
        candidates (`--search-top`; None: see `search_top`), and the Optuna studies among
        `names` (the cell's assignments) that have a best trial."""
        out = []
        top = self.search_top() if top is None else top
        for name, search in self.searches:
            name = name or _name_in(search, ns) or type(search).__name__
            if (r := _sklearn_search(name, search, top)) is not None:
                out.append(r)
        study_cls = getattr(sys.modules.get("optuna.study"), "Study", None)
        if study_cls is not None:
            for name in names:
                obj = ns.get(name)
                if isinstance(obj, study_cls) and (r := _optuna_study(name, obj)):
                    out.append(r)
        return out

    def search_top(self) -> int:
        """How many best candidates of a search become child runs: `XTRACK_SEARCH_TOP` (0: none),
        else 5. A value that is not a count is reported in the run and the default kept."""
        raw = os.environ.get(SEARCH_TOP_ENV, "").strip()
        if not raw:
            return DEFAULT_SEARCH_TOP
        if raw.isascii() and raw.isdigit():
            return int(raw)
        self.problems.append(
            f"{SEARCH_TOP_ENV}={raw!r} is not a count (0 or more); "
            f"kept {DEFAULT_SEARCH_TOP} candidates"
        )
        return DEFAULT_SEARCH_TOP

    def note_loop_value(self, name: str, value: Any) -> None:
        """A metric-like name assigned inside a loop of the cell (see kernel/loop_metrics)."""
        number = real_number(value)
        if number is None:
            return
        self.loop_points.append((name, self._step(name), number))
        self.loop_ids.add(id(value))
        self.calls.append(_Call(value, []))  # keeps `value` alive: its id stays unique

    # -- called by the wrappers --------------------------------------------------------
    def observe(
        self,
        kind: str,
        label: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
        frame: Any,
    ) -> None:
        if (
            threading.get_ident() != self._thread
            or frame.f_globals is not self.user_ns
            or frame.f_code.co_name not in _CELL_SCOPES
        ):
            return  # called by a library or a function: not a score the cell shows
        if kind == "search_fit":
            self.searches.append((self._var(args[0], frame), args[0]))
            return
        if kind == "score":
            data = self._var(_arg(args, kwargs, 1, "X"), frame)
            self.scored.append((args[0], data))
            self._add(result, _join(score_label(args[0]), data), result)
        elif kind == "metric":
            self._add(result, _join(label, self._metric_data(label, args, kwargs, frame)), result)
        elif kind == "cv":
            self._cv(label, args, kwargs, result, frame)

    def _cv(
        self, label: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, frame: Any
    ) -> None:
        data = self._var(_arg(args, kwargs, 1, "X"), frame)
        scoring = kwargs.get("scoring")
        if isinstance(result, Mapping):
            series = {
                f"{label}_{k}": v
                for k, v in result.items()
                if isinstance(k, str) and k.startswith(("test_", "train_"))
            }
        else:
            base = f"{label}_{scoring}" if isinstance(scoring, str) else label
            series = {base: result}
        points: list[tuple[str, int, float]] = []
        for base, values in series.items():
            numbers = numbers_of(values)
            if not numbers:
                continue
            name = _join(base, data)
            points += [(name, self._step(name), v) for v in numbers]
            for suffix, value in zip(("mean", "std"), mean_std(numbers), strict=True):
                points.append((f"{name}_{suffix}", self._step(f"{name}_{suffix}"), value))
        if points:
            self.calls.append(_Call(result, points))

    def _metric_data(
        self, label: str, args: tuple[Any, ...], kwargs: dict[str, Any], frame: Any
    ) -> str | None:
        """The data a metric was computed on: the X behind its prediction (a variable the
        session's cells assigned from `predict(X)`, or `predict(X)` written in the call
        itself), else its first argument's variable."""
        second = (
            args[1]
            if len(args) > 1
            else next((kwargs[k] for k in _PRED_KEYWORDS if k in kwargs), None)
        )
        pred = self._var(second, frame) if second is not None else None
        if pred is not None and pred in self.aliases:
            return self.aliases[pred]
        if second is not None and pred is None:
            inline = inline_prediction(frame, label, len(args), kwargs.keys())
            if inline is not None:
                return inline
        first = (
            args[0]
            if args
            else next((kwargs[k] for k in ("y_true", "labels_true", "X") if k in kwargs), None)
        )
        return self._var(first, frame) if first is not None else None

    def _add(self, result: Any, name: str, value: Any) -> None:
        number = real_number(value)
        if number is not None:
            self.calls.append(_Call(result, [(name, self._step(name), number)]))

    def _step(self, name: str) -> int:
        step = self._steps.get(name, 0)
        self._steps[name] = step + 1
        return step

    def _var(self, obj: Any, frame: Any) -> str | None:
        """The caller's variable that holds `obj` (by identity), private names excepted."""
        if obj is None:
            return None
        if frame.f_code.co_name != "<module>":
            name = _name_in(obj, frame.f_locals)
            if name is not None:
                return name
        return _name_in(obj, self.user_ns)


def _name_in(obj: Any, scope: Mapping[str, Any]) -> str | None:
    """The first public name in `scope` bound to `obj` itself (IPython's `_`, `_3` skipped)."""
    for name, value in scope.items():
        if value is obj and isinstance(name, str) and not name.startswith("_"):
            return name
    return None


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _join(label: str, data: str | None) -> str:
    return f"{label}_{data}" if data else label


def mean_std(numbers: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (numpy's default, as `scores.std()` prints)."""
    mean = sum(numbers) / len(numbers)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in numbers) / len(numbers))


_SCORES_NAME = re.compile(r"(?:^|_)scores$|[a-z0-9]Scores$")


def score_arrays(names: list[str], ns: Mapping[str, Any]) -> dict[str, list[float]]:
    """``{name: numbers}`` for the names among ``names`` called ``scores`` or ``*_scores``
    that hold a list, tuple or 1-d array of real numbers (per-fold or per-model scores)."""
    out: dict[str, list[float]] = {}
    for name in names:
        if _SCORES_NAME.search(name) and name in ns:
            numbers = numbers_of(ns[name])
            if numbers:
                out[name] = numbers
    return out


def numbers_of(values: Any) -> list[float] | None:
    """A list, tuple or 1-d array of real numbers as floats; None for anything else."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iuf" or values.size > _ARRAY_CAP:
            return None
        return [float(v) for v in values.tolist()]
    if not isinstance(values, (list, tuple)) or not values or len(values) > _ARRAY_CAP:
        return None
    out = []
    for v in values:
        number = real_number(v)
        if number is None:
            return None
        out.append(number)
    return out


# ---------------------------------------------------------------------------------------------
# searches


def _sklearn_search(name: str, search: Any, top: int) -> SearchResult | None:
    best_params = getattr(search, "best_params_", None)
    if not isinstance(best_params, Mapping):
        return None  # refit=False with several metrics: no single best
    result = SearchResult(
        name,
        f"{name}.best_params_",
        f"{name}.best_score_",
        dict(best_params),
        real_number(getattr(search, "best_score_", None)),
    )
    cv = getattr(search, "cv_results_", None) or {}
    ranks, params = cv.get("rank_test_score"), cv.get("params")
    if ranks is None or params is None:
        return result
    order = sorted(range(len(params)), key=lambda i: int(ranks[i]))[:top]
    for i in order:
        scores = {
            key: v
            for key in ("mean_test_score", "std_test_score", "mean_train_score", "mean_fit_time")
            if key in cv and (v := real_number(cv[key][i])) is not None
        }
        scores["rank_test_score"] = float(ranks[i])
        result.candidates.append((dict(params[i]), scores))
    return result


def _optuna_study(name: str, study: Any) -> SearchResult | None:
    try:
        trial = study.best_trial  # raises with no finished trial, or several objectives
    except Exception:  # noqa: BLE001 - no best trial: nothing to record
        return None
    return SearchResult(
        name,
        f"{name}.best_params",
        f"{name}.best_value",
        dict(trial.params),
        real_number(trial.value),
    )


# ---------------------------------------------------------------------------------------------
# prediction sources: which X a prediction variable came from, read off the cell's code


def prediction_sources(source: str) -> dict[str, str]:
    """``{prediction variable: X variable}`` for the cell's ``y = est.predict(X)`` (any
    ``predict*``, ``decision_function``, ``fit_predict``, also ``[:, 1]`` after the call) and
    ``for y in est.staged_predict(X)`` (also under ``enumerate``). Read statically: nothing
    is evaluated. ``{}`` when the cell does not parse."""
    return dict(_prediction_sources(source))


@functools.lru_cache(maxsize=512)
def _prediction_sources(source: str) -> tuple[tuple[str, str], ...]:
    """`prediction_sources`, once per cell text (earlier cells are read again each run)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        # a raw cell with magics: read the Python lines only
        lines = [
            ("" if line.lstrip().startswith(("%", "!")) else line) for line in source.splitlines()
        ]
        try:
            tree = ast.parse("\n".join(lines))
        except (SyntaxError, ValueError, RecursionError):
            return ()
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.For, ast.comprehension)):
            targets, value = [node.target], node.iter
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "enumerate"
                and value.args
            ):
                value = value.args[0]
        else:
            continue
        data = _predicted_from(value)
        if data is None:
            continue
        for target in targets:
            for name in _names(target):
                out[name] = data
    return tuple(out.items())


def _predicted_from(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)) and not _is_predict(node):
        node = node.value
    if _is_predict(node):
        assert isinstance(node, ast.Call)
        arg = node.args[0] if node.args else None
        return arg.id if isinstance(arg, ast.Name) else None
    return None


def _is_predict(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _PREDICT
    )


def _names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for e in target.elts:
            yield from _names(e)


def inline_prediction(frame: Any, label: str, n_args: int, keywords: Collection[str]) -> str | None:
    """The `X` of a prediction written inside the metric call that `frame` is making
    (`f1_score(y_test, clf.predict(X_test))` → `X_test`), read off the cell's code at the
    instruction the frame is on (Python 3.11+ gives each instruction its source span, which
    for a call is the span of its Call node). None whenever that is not certain: no span, no
    source, no Call node with exactly that span, a callee not named `label`, arguments that
    differ from those received (`*args`, `**kw`, `partial`), or no `predict*(X)` there."""
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None:
        return None  # Python 3.10
    span = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
    node = _calls_by_span("".join(linecache.getlines(frame.f_code.co_filename))).get(span)
    if node is None or _callee(node.func, frame.f_globals) != label:
        return None
    named = {k.arg for k in node.keywords}
    if len(node.args) != n_args or None in named or named != set(keywords):
        return None
    arg = (
        node.args[1]
        if n_args > 1
        else next((k.value for k in node.keywords if k.arg in _PRED_KEYWORDS), None)
    )
    return _predicted_from(arg) if arg is not None else None


@functools.lru_cache(maxsize=64)
def _calls_by_span(source: str) -> dict[Any, ast.Call]:
    """Every Call node of a cell's code by its span (line, end line, column, end column);
    {} when the code does not parse. Once per cell text."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    return {
        (n.lineno, n.end_lineno, n.col_offset, n.end_col_offset): n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }


def _callee(func: ast.expr, scope: Mapping[str, Any]) -> str | None:
    """The function a call names: `metrics.f1_score` and `f1_score` → f1_score; an alias
    (`from sklearn.metrics import f1_score as f1`) by the name of what it is bound to."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return getattr(scope.get(func.id), "__name__", func.id)
    return None


# ---------------------------------------------------------------------------------------------
# what an estimator's own `score` measures

# Estimators whose `score` is neither accuracy (classifiers) nor R² (regressors), by the
# scikit-learn class that defines it, and the name that says what it returns.
_SCORE_MEANINGS = {
    "_BaseKMeans": "neg_inertia",  # KMeans, MiniBatchKMeans, BisectingKMeans: -inertia on X
    "BaseMixture": "mean_log_likelihood",  # GaussianMixture, BayesianGaussianMixture
    "PCA": "mean_log_likelihood",
    "FactorAnalysis": "mean_log_likelihood",
    "KernelDensity": "log_likelihood",  # the total over X
}


def score_label(estimator: Any) -> str:
    """The name of `estimator.score(...)`'s value: `score` for classifiers (accuracy) and
    regressors (R²), as MLflow and scikit-learn say it; what it is for the estimators of
    `_SCORE_MEANINGS` (`neg_inertia`, `mean_log_likelihood`, `log_likelihood`); the scoring's
    name for a search or pipeline scored by one (`f1_macro`); `{Class}_score` otherwise, as
    MLflow names every `score`. A pipeline or search is named by the estimator that scores."""
    scoring = getattr(estimator, "scoring", None)
    if hasattr(estimator, "best_estimator_"):
        if isinstance(scoring, str):
            return scoring
        if scoring is None:
            return score_label(estimator.best_estimator_)
        return "score"  # a callable or several: the search's own scorer
    final = getattr(estimator, "_final_estimator", None)
    if final is not None and final is not estimator and not isinstance(final, str):
        return score_label(final)
    for cls in type(estimator).__mro__:
        meaning = _SCORE_MEANINGS.get(cls.__name__)
        if meaning is not None and cls.__module__.startswith("sklearn."):
            return meaning
    base = sys.modules.get("sklearn.base")
    if base is not None and (base.is_classifier(estimator) or base.is_regressor(estimator)):
        return "score"
    return f"{type(estimator).__name__}_score"


# ---------------------------------------------------------------------------------------------
# patching

_active: MetricCalls | None = None


def active() -> MetricCalls | None:
    """The cell's recorder while a tracked cell runs, else None."""
    return _active


# module -> [(owner path inside the module, attribute, kind)]; "" owner: the module itself
_TARGETS: dict[str, list[tuple[str, str, str]]] = {
    "sklearn.base": [("ClassifierMixin", "score", "score"), ("RegressorMixin", "score", "score")],
    "sklearn.pipeline": [("Pipeline", "score", "score")],
    "sklearn.model_selection._search": [
        ("BaseSearchCV", "score", "score"),
        ("BaseSearchCV", "fit", "search_fit"),
    ],
    "sklearn.model_selection": [("", name, "cv") for name in _CV_FUNCTIONS],
    "sklearn.metrics": [],  # every public metric function: see _module_targets
    # `score` where defined (see _SCORE_MEANINGS), reached through a public class
    "sklearn.cluster": [("KMeans", "score", "score")],
    "sklearn.mixture": [("GaussianMixture", "score", "score")],
    "sklearn.decomposition": [("PCA", "score", "score"), ("FactorAnalysis", "score", "score")],
    "sklearn.neighbors": [("KernelDensity", "score", "score")],
}
_WATCHED = frozenset(_TARGETS)
_ORIGINAL = "__xtrack_original__"
# (owner, attribute or descriptor field, original) for every patch in place
_patched: list[tuple[Any, str, Any]] = []
_wrappers: dict[int, Any] = {}  # id(original) -> its wrapper, so a function wraps once


def _module_targets(module: Any) -> list[tuple[str, str, str]]:
    targets = _TARGETS.get(module.__name__, [])
    if module.__name__ == "sklearn.metrics":
        targets = [
            ("", name, "metric")
            for name in getattr(module, "__all__", ())
            if _METRIC_FUNCTION.search(name)
        ]
    return targets


def _patch_module(module: Any) -> None:
    for owner_name, attr, kind in _module_targets(module):
        owner = getattr(module, owner_name, None) if owner_name else module
        if isinstance(owner, type):  # the class that defines it (KMeans: _BaseKMeans)
            owner = next((c for c in owner.__mro__ if attr in c.__dict__), owner)
        current = (
            owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        )
        if current is None:
            continue
        if hasattr(current, "fn") and callable(current.fn):  # sklearn's available_if descriptor
            owner, attr, current = current, "fn", current.fn
        if not callable(current) or hasattr(current, _ORIGINAL):
            continue
        setattr(owner, attr, _wrapper(current, kind, attr))
        _patched.append((owner, attr, current))


def _unpatch_all() -> None:
    while _patched:
        owner, attr, original = _patched.pop()
        try:
            setattr(owner, attr, original)
        except Exception:  # noqa: BLE001 - the owner went away or refuses: leave the wrapper,
            pass  # which passes calls straight through once no cell is tracked


def _rebind(ns: MutableMapping[str, Any], to_wrapper: bool) -> None:
    """The user's own names for metric functions (`from sklearn.metrics import r2_score`)
    pointed at the wrappers while the cell runs, and back at the originals after."""
    if not _wrappers:
        return
    for name, value in list(ns.items()):
        if not callable(value) or name.startswith("_"):
            continue
        if to_wrapper and id(value) in _wrappers and _wrappers[id(value)][1] is value:
            ns[name] = _wrappers[id(value)][0]
        elif not to_wrapper and (original := getattr(value, _ORIGINAL, None)) is not None:
            ns[name] = original


def _wrapper(fn: Callable[..., Any], kind: str, label: str) -> Callable[..., Any]:
    known = _wrappers.get(id(fn))
    if known is not None and known[1] is fn:
        return known[0]  # type: ignore[no-any-return]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        recorder = _active
        if recorder is not None:
            try:
                recorder.observe(kind, label, args, kwargs, result, sys._getframe(1))
            except Exception as exc:  # noqa: BLE001 - never the user's problem
                recorder.problems.append(f"metric {label}: {type(exc).__name__}: {exc}")
        return result

    setattr(wrapper, _ORIGINAL, fn)
    _wrappers[id(fn)] = (wrapper, fn)
    return wrapper


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Wraps a watched scikit-learn module right after it is imported during a tracked cell.

    The module's own finder finds it; the watcher only marks its spec (`_mark`), whose
    `_initializing` flag importlib clears once the module has run, and that is when the
    module is wrapped. The loader is left as it is: a loader wrapped to patch after
    `exec_module` would add a frame under everything the module imports (`sklearn.base`
    imports most of scikit-learn, scipy and pandas), and one frame more on the stack moves
    where Python 3.11's frame stack crosses its 16 KiB chunks, each crossing an `mmap` and a
    `munmap`: 6,400 more of them in the gallery's first cell, about 40 ms.
    """

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _WATCHED or _active is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        _mark(spec)
        return spec


def _on_imported(name: str) -> None:
    """A watched module has run (or failed to): wrap it if a cell is being tracked."""
    recorder = _active
    module = sys.modules.get(name)
    if recorder is None or module is None:
        return  # not tracking any more, or the import failed (importlib removed it)
    try:
        _patch_module(module)
    except Exception as exc:  # noqa: BLE001 - the import itself succeeded
        recorder.problems.append(f"wrap {name}: {type(exc).__name__}: {exc}")


def _initializing_get(spec: Any) -> Any:
    return spec.__dict__.get("_initializing", False)


def _initializing_set(spec: Any, value: Any) -> None:
    # importlib sets it True before running the module and False in a `finally` after
    spec.__dict__["_initializing"] = value
    if not value:
        spec.__class__ = type(spec).__bases__[0]  # the spec is as its finder made it again
        _on_imported(spec.name)


_marked_types: dict[type, type] = {}


def _mark(spec: Any) -> None:
    """Give `spec`, until its module has run, a subclass of its class whose `_initializing`
    setter calls `_on_imported` when importlib clears it. A spec whose class cannot be
    swapped stays as it is (its module is then not wrapped, and its scores not recorded)."""
    cls = type(spec)
    if cls in _marked_types.values():
        return  # marked already (a finder that hands out the same spec twice)
    marked = _marked_types.get(cls)
    if marked is None:
        marked = type(
            cls.__name__,
            (cls,),
            {"_initializing": property(_initializing_get, _initializing_set)},
        )
        _marked_types[cls] = marked
    try:
        spec.__class__ = marked
    except TypeError as exc:
        if _active is not None:
            _active.problems.append(f"wrap {spec.name}: {type(exc).__name__}: {exc}")


_WATCHER = _ImportWatcher()


LOOP_HOOK = "__xtrack_loop__"
"""The name under which kernel/loop_metrics.py's instrumented loops reach `note_loop_value`."""


def note_loop_value(name: str, value: Any) -> Any:
    """Called by a tracked cell's loops after each assignment of a metric-like name: records
    the value (a real number) in the cell's history of `name`, and returns it unchanged."""
    recorder = _active
    if recorder is not None:
        try:
            recorder.note_loop_value(name, value)
        except Exception as exc:  # noqa: BLE001 - never the user's problem
            recorder.problems.append(f"loop metric {name}: {type(exc).__name__}: {exc}")
    return value
