"""What a trial runs (a Python callable here; a notebook cell in `cell_objective`) and how
its value is found."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .config import SweepError

if TYPE_CHECKING:
    from ...tracking.search_runs import TrackedRun


class Objective:
    """What a trial runs. `identity` names it stably (for the default sweep name)."""

    identity: str = ""

    def call(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def for_workers(self) -> Objective:
        """This objective as it is sent to other processes (a function as it is: Dask
        pickles it with cloudpickle)."""
        return self

    def fallback_value(self, metric: str | None) -> Any:
        """Where else the objective's value may be found (a cell's variable named `metric`)."""
        return None


class FunctionObjective(Objective):
    """A Python callable: `fn(**params)`, or `fn(params)` when it takes one other argument."""

    def __init__(self, fn: Callable[..., Any], names: list[str]) -> None:
        self.fn = fn
        self.identity = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
        self.as_dict = _wants_dict(fn, names)

    def call(self, params: dict[str, Any]) -> Any:
        return self.fn(params) if self.as_dict else self.fn(**params)


def _wants_dict(fn: Callable[..., Any], names: list[str]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    ps = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in ps):
        return False
    named = {p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if set(names) <= named:
        return False
    if len(ps) == 1 and ps[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return True
    missing = sorted(set(names) - named)
    raise SweepError(
        f"the objective {getattr(fn, '__name__', fn)}() does not take the swept names "
        f"{missing}; give it those keyword arguments, **params, or one argument (the params dict)"
    )


def objective_value(returned: Any, tracked: TrackedRun, metric: str | None,
                     objective: Objective) -> float:
    """The trial's value: the metric's last logged value, else the returned number (or the
    returned dict's entry), else the cell's variable of that name."""
    candidates: list[Any] = []
    if metric is not None:
        logged = tracked.run.metrics.get(metric)
        if logged is not None:
            candidates.append(logged)
        if isinstance(returned, Mapping) and metric in returned:
            candidates.append(returned[metric])
    if returned is not None and not isinstance(returned, Mapping):
        candidates.append(returned)
    if metric is not None:
        candidates.append(objective.fallback_value(metric))
    for value in candidates:
        if value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isnan(number):
            raise ValueError(f"the objective {metric or 'value'} is NaN")
        return number
    if metric is None:
        raise ValueError(
            "the trial gave no objective value: return a number, or name the metric "
            "(metric=NAME / --metric NAME) and log it with xt.log(NAME=...)"
        )
    raise ValueError(
        f"the trial never logged {metric!r}: call xt.log({metric}=...) in the objective, return "
        f"it, or assign it to a variable named {metric}"
    )
