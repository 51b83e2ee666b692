"""The search-space language of sweeps, and its dict form, turned into Optuna distributions.

A space is written as ``"lr=loguniform(1e-4, 1e-1); depth=int(2, 12); model=choice('rf', 'gb')"``
(statements separated by ``;`` or new lines). From Python the same space is a dict whose
values are such expressions (``{"lr": "loguniform(1e-4, 1e-1)"}``), lists (a choice),
Optuna distributions, or plain constants (fixed, not searched). Every mistake raises
`SpaceError` with the offending text underlined and the forms that are accepted.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

FORMS = {
    "uniform": "uniform(low, high[, step=s])",
    "loguniform": "loguniform(low, high)",
    "int": "int(low, high[, step=s])",
    "logint": "logint(low, high)",
    "choice": "choice(a, b, ...)",
    "grid": "grid(a, b, ...)",
}
GRID_INT_LIMIT = 1000  # an int range up to this many values may be enumerated by the grid sampler


class SpaceError(ValueError):
    """A search space that cannot be used; the message points at the mistake."""


@dataclass(frozen=True)
class Param:
    """One searched name: its kind (a key of FORMS) and its bounds or values."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    values: tuple[Any, ...] = ()

    @property
    def log(self) -> bool:
        return self.kind in ("loguniform", "logint")

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution that samples this param."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind in ("choice", "grid"):
            return CategoricalDistribution(list(self.values))
        assert self.low is not None and self.high is not None
        if self.kind in ("int", "logint"):
            step = int(self.step) if self.step is not None else 1
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=step)
        return FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def grid_values(self) -> list[Any] | None:
        """Every value the grid sampler should try, or None when the param is continuous."""
        if self.kind in ("choice", "grid"):
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            step = int(self.step or 1)
            count = (int(self.high) - int(self.low)) // step + 1
            if count <= GRID_INT_LIMIT:
                return list(range(int(self.low), int(self.high) + 1, step))
        if self.kind == "uniform" and self.step:
            count = int(round((self.high - self.low) / self.step)) + 1
            if count <= GRID_INT_LIMIT:
                return [self.low + i * self.step for i in range(count)]
        return None

    def describe(self) -> str:
        if self.kind in ("choice", "grid"):
            return f"{self.kind}({', '.join(repr(v) for v in self.values)})"
        step = f", step={self.step!r}" if self.step is not None else ""
        return f"{self.kind}({self.low!r}, {self.high!r}{step})"


@dataclass(frozen=True)
class Space:
    """A parsed search space: the searched params in order, and fixed values."""

    params: tuple[Param, ...]
    fixed: tuple[tuple[str, Any], ...] = ()
    text: str = ""

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params] + [name for name, _ in self.fixed]

    def distributions(self) -> dict[str, BaseDistribution]:
        """name -> Optuna distribution, for `study.ask(...)`."""
        return {p.name: p.distribution() for p in self.params}

    def grid(self) -> dict[str, list[Any]]:
        """name -> values for Optuna's GridSampler; SpaceError names a continuous param."""
        grid: dict[str, list[Any]] = {}
        for p in self.params:
            values = p.grid_values()
            if values is None:
                raise SpaceError(
                    f"the grid sampler needs a finite set of values, but {p.name}={p.describe()} "
                    f"is continuous; write it as {p.name}=grid(v1, v2, ...) (or give "
                    "uniform/int a step), or use another sampler (tpe, random, gp, cmaes)"
                )
            grid[p.name] = values
        return grid

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values()) if self.params else 1

    @property
    def only_grid(self) -> bool:
        """True when every searched param was written as grid(...): search it exhaustively."""
        return bool(self.params) and all(p.kind == "grid" for p in self.params)

    def describe(self) -> str:
        parts = [f"{p.name}={p.describe()}" for p in self.params]
        parts += [f"{name}={value!r}" for name, value in self.fixed]
        return "; ".join(parts)


def parse_space(space: str | Mapping[str, Any] | Space) -> Space:
    """A `Space` from the space language or its dict form; SpaceError points at any mistake."""
    if isinstance(space, Space):
        return space
    if isinstance(space, str):
        return _parse_text(space)
    if isinstance(space, Mapping):
        return _from_dict(space)
    raise SpaceError(
        f"a search space is a string like \"lr=loguniform(1e-4, 1e-1); depth=int(2, 12)\" or a "
        f"dict of name -> expression; got {type(space).__name__}"
    )


# -- the text form -----------------------------------------------------------------------
def _parse_text(text: str) -> Space:
    source = text.strip()
    if not source:
        raise SpaceError('the search space is empty; write e.g. "lr=loguniform(1e-4, 1e-1)"')
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        col = max(0, (exc.offset or 1) - 1)
        line = (exc.lineno or 1) - 1
        raise SpaceError(_point(source, line, col, 1, f"cannot parse the search space: {exc.msg}")) from None
    params: list[Param] = []
    seen: set[str] = set()
    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(
            stmt.targets[0], ast.Name
        ):
            raise SpaceError(_at(source, stmt, "each entry must be NAME=DISTRIBUTION(...)"))
        name = stmt.targets[0].id
        if name in seen:
            raise SpaceError(_at(source, stmt.targets[0], f"{name!r} is given twice"))
        seen.add(name)
        params.append(_param_from_call(name, stmt.value, source))
    return Space(tuple(params), text=source)


def _param_from_call(name: str, node: ast.expr, source: str) -> Param:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise SpaceError(_at(source, node, f"{name}= wants a distribution like loguniform(1e-4, 1e-1)"))
    kind = node.func.id
    if kind not in FORMS:
        close = difflib.get_close_matches(kind, list(FORMS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpaceError(_at(source, node.func, f"unknown distribution {kind!r}{hint}"))
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    except ValueError:
        raise SpaceError(
            _at(source, node, f"{kind}(...) takes literal values only (numbers, strings, booleans)")
        ) from None
    try:
        return make_param(name, kind, args, kwargs)
    except SpaceError as exc:
        raise SpaceError(_at(source, node, str(exc))) from None


def make_param(name: str, kind: str, args: list[Any], kwargs: Mapping[str, Any]) -> Param:
    """One Param from a distribution name and its arguments, checked."""
    form = FORMS.get(kind)
    if form is None:
        raise SpaceError(f"unknown distribution {kind!r}")
    if kind in ("choice", "grid"):
        if kwargs:
            raise SpaceError(f"{form} takes no keyword arguments")
        if not args:
            raise SpaceError(f"{name}: {kind}() needs at least one value: {form}")
        if len(set(map(repr, args))) != len(args):
            raise SpaceError(f"{name}: {kind}() lists a value twice")
        for value in args:
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise SpaceError(f"{name}: {kind}() values must be numbers, strings, booleans or None")
        return Param(name, kind, values=tuple(args))
    unknown = set(kwargs) - ({"step"} if kind in ("uniform", "int") else set())
    if unknown:
        raise SpaceError(f"{name}: unknown argument {sorted(unknown)[0]!r}: {form}")
    if len(args) != 2:
        raise SpaceError(f"{name}: {kind}() needs exactly two bounds, got {len(args)}: {form}")
    low, high = args
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise SpaceError(f"{name}: bounds must be numbers, got {bound!r}: {form}")
    if kind in ("int", "logint"):
        for bound in (low, high):
            if float(bound) != int(bound):
                raise SpaceError(f"{name}: {kind}() bounds must be whole numbers, got {bound!r}")
    if not low < high:
        raise SpaceError(f"{name}: low must be below high, got {kind}({low!r}, {high!r})")
    if kind in ("loguniform", "logint") and low <= 0:
        raise SpaceError(f"{name}: {kind}() needs a positive low bound, got {low!r}")
    step = kwargs.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise SpaceError(f"{name}: step must be a positive number, got {step!r}")
    return Param(name, kind, low=low, high=high, step=step)


# -- the dict form ---------------------------------------------------------------------------
def _from_dict(space: Mapping[str, Any]) -> Space:
    if not space:
        raise SpaceError('the search space is empty; give e.g. {"lr": "loguniform(1e-4, 1e-1)"}')
    params: list[Param] = []
    fixed: list[tuple[str, Any]] = []
    for name, spec in space.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise SpaceError(f"search-space names must be identifiers, got {name!r}")
        param = _param_from_spec(name, spec)
        if param is None:
            fixed.append((name, spec))
        else:
            params.append(param)
    return Space(tuple(params), tuple(fixed))


def _param_from_spec(name: str, spec: Any) -> Param | None:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(spec, Param):
        return Param(name, spec.kind, spec.low, spec.high, spec.step, spec.values)
    if isinstance(spec, str) and "(" in spec and spec.rstrip().endswith(")"):
        text = f"{name}={spec.strip()}"
        return _parse_text(text).params[0]
    if isinstance(spec, (list, tuple)):
        return make_param(name, "choice", list(spec), {})
    if isinstance(spec, range):
        return make_param(name, "int", [spec.start, spec.stop - 1], {"step": spec.step})
    if isinstance(spec, CategoricalDistribution):
        return Param(name, "choice", values=tuple(spec.choices))
    if isinstance(spec, IntDistribution):
        return Param(name, "logint" if spec.log else "int", spec.low, spec.high,
                     None if spec.log else spec.step)
    if isinstance(spec, FloatDistribution):
        return Param(name, "loguniform" if spec.log else "uniform", spec.low, spec.high, spec.step)
    if spec is None or isinstance(spec, (bool, int, float, str)):
        return None  # a constant: bound for every trial, not searched
    raise SpaceError(
        f"{name}: cannot search over {type(spec).__name__} {spec!r:.60}; give an expression "
        f"string ({', '.join(FORMS.values())}), a list of choices, a range, or an Optuna "
        "distribution"
    )


# -- error messages ---------------------------------------------------------------------------
def _at(source: str, node: ast.AST, message: str) -> str:
    line = getattr(node, "lineno", 1) - 1
    col = getattr(node, "col_offset", 0)
    end_line = getattr(node, "end_lineno", line + 1) - 1
    end = getattr(node, "end_col_offset", col + 1) if end_line == line else None
    width = (end - col) if end is not None else len(source.splitlines()[line]) - col
    return _point(source, line, col, max(1, width), message)


def _point(source: str, line: int, col: int, width: int, message: str) -> str:
    lines = source.splitlines() or [source]
    text = lines[min(line, len(lines) - 1)]
    forms = ", ".join(FORMS.values())
    return f"{message}\n  {text}\n  {' ' * col}{'^' * width}\ndistributions: {forms}"
