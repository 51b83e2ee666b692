"""The automatic evaluation: a tracked cell that fits an estimator and then scores or
predicts with it on held-out data (`X_test`, `X_val`, `X_valid`, `X_holdout`, ... with the
matching `y_test`, ... in the namespace) gets the estimator evaluated after it returns, on a
thread of its own once the kernel is quiet (views/activity.py), and the report recorded on the cell's run as `xt.evaluate` records it.

Which estimator: one the cell scored (`est.score(X_test, y_test)`, seen by
capture/metric_calls.py as it ran, the estimator object itself), else one the cell's code
predicts or scores with on held-out data (`y_pred = clf.predict(X_test)`, read statically),
fitted by the cell. The last one wins: one evaluation per cell. Off with `%%track --no-eval`
or `XTRACK_AUTO_EVAL=0`. Nothing here may break the cell: every failure is a warning.

The work itself is done in a helper process (apart.py): the thread pickles the model and
the data as they are when it gets to them, if they are small, and the helper builds the
whole report; larger ones are not copied (a copy of a large frame or forest would cost the
cell the time this saves it): the thread builds the report from them, its permutation
importance waiting while a cell runs, and the helper draws its PNGs. Either way a next cell that changes them in place while the thread reads them
changes what it measures.

`wanted` is the cheap test the hook runs on every tracked cell; this module imports nothing
heavy, the evaluation's modules load on the thread.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from ..facts import Fact

ENV = "XTRACK_AUTO_EVAL"
QUIET_WAIT_S = 10.0  # the longest an evaluation waits for a quiet kernel (Run All)
IMPORTANCE_BUDGET_S = 5.0  # kept short: the thread shares the kernel's CPU with the next cell
_HELD_OUT = re.compile(r"^[Xx]_(test|val|valid|validation|holdout|heldout|eval|dev)(_\w+)?$")
_MENTION = re.compile(r"\b[Xx]_(?:test|val|valid|validation|holdout|heldout|eval|dev)\w*\b")
_FIT = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit"})
_USE = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function", "score"})


def enabled() -> bool:
    """`XTRACK_AUTO_EVAL` is not 0 / off / false / no."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def wanted(source: str) -> bool:
    """Could this cell want an evaluation (it names held-out data and fits something)?"""
    return enabled() and ".fit" in source and _MENTION.search(source) is not None


@dataclass
class Candidate:
    model: Any
    X: Any
    y: Any
    data: str  # the name of X


def held_out_target(data: str, ns: Mapping[str, Any]) -> Any:
    """The y that goes with held-out `data` (`X_test` -> `y_test`), or None."""
    match = _HELD_OUT.match(data)
    if match is None:
        return None
    for prefix in ("y", "Y"):
        name = f"{prefix}_{match.group(1)}{match.group(2) or ''}"
        if name in ns:
            return ns[name]
    return None


def find(
    source: str, ns: Mapping[str, Any], scored: Sequence[tuple[Any, str | None]]
) -> Candidate | None:
    """The estimator to evaluate after the cell (see the module docstring), or None."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    if not _fits(tree):
        return None
    fitted = set(_fitted_names(tree))
    options: list[tuple[Any, str]] = [(est, data) for est, data in scored if data]
    options += [(ns.get(est), data) for est, data in _uses(tree) if est in fitted]
    for model, data in reversed(options):
        X = ns.get(data)
        y = held_out_target(data, ns)
        if model is None or X is None or y is None or not callable(getattr(model, "predict", None)):
            continue
        if _rows(X) == _rows(y):
            return Candidate(model, X, y, data)
    return None


def _rows(data: Any) -> int | None:
    shape = getattr(data, "shape", None)
    try:
        return int(shape[0]) if shape else len(data)
    except TypeError:
        return None


def _fits(tree: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _FIT
        for n in ast.walk(tree)
    )


def _fitted_names(tree: ast.AST) -> Iterator[str]:
    """Names the cell fits (`clf.fit(...)`) or binds to a fit's result (`clf = ....fit(...)`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _FIT and isinstance(node.func.value, ast.Name):
                yield node.func.value.id
        elif isinstance(node, ast.Assign) and _fits(node.value):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))


def _uses(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(estimator, data) of every `est.predict*(X)` / `est.score(X, y)` in source order."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    for node in calls:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _USE
            and isinstance(func.value, ast.Name)
            and node.args
            and isinstance(node.args[0], ast.Name)
            and _HELD_OUT.match(node.args[0].id)
        ):
            yield func.value.id, node.args[0].id


def after_cell(
    source: str, ns: Mapping[str, Any] | None, scored: Sequence[tuple[Any, str | None]], run: Any
) -> Future[Any] | None:
    """Schedule the evaluation a tracked cell wants, if any: not when the cell evaluated a
    model itself (`xt.evaluate` recorded on its run)."""
    if ns is None or not wanted(source) or run.fact(Fact.EVALUATION) is not None:
        return None
    candidate = find(source, ns, scored)
    return None if candidate is None else schedule(candidate, run.id, run.number)


def schedule(candidate: Candidate, run_id: str, number: int | None) -> Future[Any]:
    """Evaluate `candidate` on the evaluation thread and record it on run `run_id`; `xt.flush`
    waits for it as it waits for a run's finalisation."""
    # lazy: the tracking modules are loaded by then (the cell was tracked)
    from ..tracking.lifecycle import track_pending
    from ..tracking.workers import executor

    future = executor("xtrack-eval", 1).submit(_evaluate, candidate, run_id, number)
    track_pending(future)
    return future


def _give_way(left_s: float) -> None:
    """Between the importance's scorings in the kernel: wait while a cell runs, up to the
    budget's `left_s` (what it waits costs repeats, never time), and not when `xt.flush`
    waits for the evaluation."""
    from ..tracking.lifecycle import hurried
    from ..views.activity import KERNEL

    if not hurried():
        KERNEL.wait_quiet(left_s)


def _evaluate(candidate: Candidate, run_id: str, number: int | None) -> None:
    from ..tracking.session import CONTEXT
    from ..views.activity import KERNEL

    # Start once the kernel is quiet: what stays in the kernel (the pickling, the helper's
    # start, or the whole report for a model the helper cannot take) holds the GIL, which a
    # cell run meanwhile would pay (BENCHMARKS.md). A cell that runs long counts as quiet.
    KERNEL.wait_quiet(QUIET_WAIT_S)
    try:
        from . import apart
        from .record import Target, write
        from .report import Settings, build

        settings = Settings(data_name=candidate.data, importance_budget_s=IMPORTANCE_BUDGET_S)
        model, X, y = candidate.model, candidate.X, candidate.y
        built = apart.build(model, X, y, settings)
        if built is None:  # built here: the importance gives way to the cells that run
            here = replace(settings, importance_pause=_give_way)
            built = build(model, X, y, here, apart.images)
        write(Target(run_id, number, None, False), built)
    except Exception as exc:  # noqa: BLE001 - never the user's problem: said once, run kept
        CONTEXT.warn_once(
            f"auto-eval:{type(exc).__name__}",
            f"xtrack: the automatic evaluation of run #{number} on {candidate.data} failed "
            f"({type(exc).__name__}: {exc}); run xt.evaluate(...) to see why, or turn it off "
            f"with %%track --no-eval or {ENV}=0",
        )
