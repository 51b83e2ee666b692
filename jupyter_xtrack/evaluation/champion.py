"""Champion vs challenger: `xt.compare_models` evaluates two models on the same data and
shows the differences per metric and per slice; `xt.promote` moves a registry alias to a
candidate only when no metric the user gates on regresses by more than its tolerance, and
records the comparison's run in the alias history.

A model is a live estimator, a run (the model artifact it logged), or a registry URI
("churn@champion", "churn/3", "models:/churn@champion", "models:/churn/3"), loaded through
the registry's public API (`xt.load_model`, `xt.get_model_version`, `xt.set_alias`): a
store the user owns loads without `trusted=True`, any other needs it."""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..api import get_model_version, get_run, load_model, set_alias
from ..facts import EvaluationFact
from ..records.run import Run
from .entry import caller_name, evaluate, slice_list
from .metrics import NOT_COMPARED, shortfall
from .model import model_name
from .record import target, write
from .report import Settings, build

DEFAULT_GATE: Mapping[str, float] = {"roc_auc": 0.0, "log_loss": 0.0}
_MODEL_FORMATS = (".joblib", ".pkl", ".pickle")
_T = TypeVar("_T")


def is_registry_uri(ref: Any) -> bool:
    return isinstance(ref, str) and (ref.startswith("models:/") or "@" in ref or "/" in ref)


def resolve(model: Any, trusted: bool) -> tuple[Any, str]:
    """(the model, how the comparison names it)."""
    if is_registry_uri(model):
        return load_model(model, trusted=trusted), str(model)
    if isinstance(model, str):
        return _by_name(model, trusted)
    if isinstance(model, (Run, int)) and not callable(getattr(model, "predict", None)):
        run = model if isinstance(model, Run) else get_run(model)
        return _run_model(run), f"run #{run.number}"
    return model, model_name(model)


def _by_name(ref: str, trusted: bool) -> tuple[Any, str]:
    """A bare string names a run ("#12", "12", an id prefix) or a registered model ("churn":
    its latest version); one that names both is refused rather than guessed."""
    run = _found(get_run, ref)
    version = _found(get_model_version, ref)
    if run is not None and version is not None:
        raise ValueError(
            f"{ref!r} names both run #{run.number} and registered model {ref!r}: write "
            f"'#{run.number}' for the run or '{ref}@latest' (or '{ref}/{version.version}') "
            "for the model"
        )
    if version is not None:
        label = f"{version.name}/{version.version}"
        return load_model(label, trusted=trusted), label
    if run is not None:
        return _run_model(run), f"run #{run.number}"
    raise LookupError(
        f"{ref!r} names neither a run (a number, '#12' or an id prefix) nor a registered "
        "model; see xt.runs() and xt.models()"
    )


def _found(lookup: Callable[[str], _T], ref: str) -> _T | None:
    """`lookup(ref)`, or None when it names nothing there (or cannot be a name there)."""
    try:
        return lookup(ref)
    except (LookupError, ValueError):
        return None


def _run_model(run: Run) -> Any:
    """The model a run logged (`xt.log_artifact(model)`: a joblib or pickle artifact), from
    the store this session uses, which the user owns."""
    for entry in reversed(run.artifacts):
        if str(entry.get("name", "")).endswith(_MODEL_FORMATS):
            import joblib  # lazy: only to read a run's model

            return joblib.load(io.BytesIO(run.artifact_bytes(str(entry["name"]))))
    raise ValueError(f"run #{run.number} logged no model artifact (.joblib or .pkl)")


@dataclass
class ModelComparison:
    """Two models' reports on the same data; `rows` and `slice_rows` give the differences."""

    a: str
    b: str
    report_a: EvaluationFact
    report_b: EvaluationFact
    run_id: str | None
    run_number: int | None

    def rows(self) -> list[tuple[str, float, float, float]]:
        """(metric, a, b, how much worse b is: positive is a regression), metrics of both."""
        ma, mb = self.report_a.get("metrics", {}), self.report_b.get("metrics", {})
        return [
            (k, ma[k], mb[k], shortfall(k, mb[k], ma[k]))
            for k in ma
            if k in mb and k not in NOT_COMPARED
        ]

    def slice_rows(self) -> list[tuple[str, str, str, float, float, float]]:
        """(column, value, metric, a, b, how much worse b is) for every slice scored for both."""
        a_slices = {(s["column"], s["value"]): s for s in self.report_a.get("slices", [])}
        out = []
        for s in self.report_b.get("slices", []):
            other = a_slices.get((s["column"], s["value"]))
            if other is None:
                continue
            for k, vb in s["metrics"].items():
                if k in other["metrics"] and k not in NOT_COMPARED:
                    va = other["metrics"][k]
                    out.append((s["column"], s["value"], k, va, vb, shortfall(k, vb, va)))
        return out

    def regressions(self, gate: Mapping[str, float]) -> dict[str, str]:
        """Gated metrics where b is worse than a by more than the tolerance (or unmeasured)."""
        found = {k: (a, b, worse) for k, a, b, worse in self.rows()}
        out = {}
        for metric, tolerance in gate.items():
            if metric not in found:
                out[metric] = "not measured for both models"
            elif found[metric][2] > tolerance:
                a, b, worse = found[metric]
                out[metric] = f"{a:.4g} -> {b:.4g} (worse by {worse:.4g} > {tolerance:g})"
        return out

    def __repr__(self) -> str:
        lines = [f"{self.b} vs {self.a} (b - a; + worse means a regression)"]
        lines += [f"  {k}: {a:.4g} -> {b:.4g} ({_verdict(w)})" for k, a, b, w in self.rows()]
        lines += [
            f"  {c}={v} {k}: {a:.4g} -> {b:.4g} ({_verdict(w)})"
            for c, v, k, a, b, w in self.slice_rows()
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def row(cells: Sequence[Any], worse: float) -> str:
            tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            return f"<tr>{tds}<td>{_verdict(worse)}</td></tr>"

        head = f"<b>{html.escape(self.b)}</b> vs <b>{html.escape(self.a)}</b>"
        main = "".join(row((k, f"{a:.4g}", f"{b:.4g}"), w) for k, a, b, w in self.rows())
        sliced = "".join(
            row((f"{c}={v}", k, f"{a:.4g}", f"{b:.4g}"), w)
            for c, v, k, a, b, w in self.slice_rows()
        )
        table = f"<table><tr><th>metric</th><th>a</th><th>b</th><th></th></tr>{main}</table>"
        more = (
            f"<table><tr><th>slice</th><th>metric</th><th>a</th><th>b</th><th></th></tr>{sliced}</table>"
            if sliced
            else ""
        )
        return f"<div>{head}{table}{more}</div>"


def _verdict(worse: float) -> str:
    return "same" if worse == 0 else ("worse" if worse > 0 else "better")


def compare_models(
    a: Any,
    b: Any,
    X: Any,
    y: Any,
    *,
    slices: Sequence[Any] | None = None,
    pos_label: Any = None,
    trusted: bool = False,
    run: Any = None,
) -> ModelComparison:
    """Evaluate `a` (the champion) and `b` (the challenger) on the same (X, y) and return
    their differences per metric and per slice. Recorded as one run (see `xt.evaluate` for
    which): b's report as its `evaluation` fact, with a's metrics and slices as its baseline.
    `trusted` is passed to `xt.load_model` for registry URIs."""
    settings = Settings(
        slices=slice_list(slices),
        pos_label=pos_label,
        importance=False,
        data_name=caller_name(X) or "X",
    )
    model_a, name_a = resolve(a, trusted)
    model_b, name_b = resolve(b, trusted)
    built_a = build(model_a, X, y, settings)
    built_b = build(model_b, X, y, settings)
    built_b.fact["baseline"] = {
        "model": name_a,
        "metrics": built_a.fact["metrics"],
        "slices": built_a.fact.get("slices", []),
    }
    where = target(run, f"compare {name_b} vs {name_a}")
    write(where, built_b)
    return ModelComparison(name_a, name_b, built_a.fact, built_b.fact, where.run_id, where.number)


@dataclass
class Promotion:
    """What `xt.promote` did: `promoted` says whether the alias moved."""

    name: str
    alias: str
    version: int
    previous: int | None
    promoted: bool
    comparison: ModelComparison | None
    regressions: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        moved = (
            f"{self.name}@{self.alias}: {self.previous} -> {self.version}"
            if self.promoted
            else f"{self.name}@{self.alias} stays at {self.previous}"
        )
        why = "".join(f"\n  {k}: {v}" for k, v in self.regressions.items())
        return moved + why + (f"\n{self.comparison!r}" if self.comparison else "")


def _current(name: str, alias: str) -> int | None:
    """The version holding `name@alias`, None when the alias is not set."""
    try:
        return get_model_version(f"{name}@{alias}").version
    except LookupError:
        return None


def promote(
    name: str,
    alias: str,
    candidate: int | str,
    X: Any,
    y: Any,
    *,
    gate: Mapping[str, float] | None = None,
    reason: str | None = None,
    slices: Sequence[Any] | None = None,
    pos_label: Any = None,
    trusted: bool = False,
) -> Promotion:
    """Move `name@alias` to `candidate` (a version number of `name`, or a registry URI of one)
    when, evaluated on (X, y) against the alias's current holder, no metric of `gate`
    regresses by more than its tolerance (default: roc_auc and log_loss must not get worse).
    The comparison's run is kept in the alias history with `reason`."""
    gate = DEFAULT_GATE if gate is None else gate
    uri = f"{name}/{candidate}" if isinstance(candidate, int) else candidate
    version = get_model_version(uri).version
    previous = _current(name, alias)
    comparison = None
    regressions: dict[str, str] = {}
    if previous is not None and previous != version:
        comparison = compare_models(
            f"{name}/{previous}",
            f"{name}/{version}",
            X,
            y,
            slices=slices,
            pos_label=pos_label,
            trusted=trusted,
        )
        regressions = comparison.regressions(gate)
        evaluation = comparison.run_id
    else:  # nothing to beat: the candidate's own evaluation goes in the history
        model, label = resolve(uri, trusted)
        evaluation = evaluate(
            model,
            X,
            y,
            slices=slices,
            pos_label=pos_label,
            importance=False,
            name=f"evaluate {label}",
        ).run_id
    promoted = not regressions
    if promoted:
        set_alias(name, alias, version, reason=reason, evaluation=evaluation)
    return Promotion(name, alias, version, previous, promoted, comparison, regressions)
