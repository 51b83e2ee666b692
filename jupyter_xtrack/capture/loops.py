"""Which of a cell's names and estimator settings take several values while it runs.

A value read off the namespace after a cell is the last one a loop left there: `C` after
`for C in (1, 0.1, 0.01)` is 0.01, and so is `clf.C` after `clf = LogisticRegression(C=C)` in
that loop. This module reads the cell's syntax tree (never the namespace) and says, for each
name a loop binds, what it knows of its values, and which estimator settings a loop feeds, so
`capture.params` records every value or flags the param as varying instead of the last one.

Pure and static: the results are JSON-able and describe the code only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoopBindings", "Source", "loop_bindings"]

# What a loop binding says of a name's values:
#   ("values", [...])   the values, written in the cell (a literal iterable, or a name the cell
#                        sets to a literal before the loop);
#   ("iterates", name)  it iterates over `name`, a variable the cell does not rebind: its
#                        values can be read from the namespace after the cell;
#   None                unknown (computed, or bound by an assignment in the loop's body).
Source = tuple[str, Any] | None


@dataclass
class LoopBindings:
    """What the loops of one cell bind (see the module docstring)."""

    names: dict[str, Source] = field(default_factory=dict)
    """Every name bound inside a loop (`for` targets, assignments in a body), with what is
    known of its values: ``None`` as soon as one binding is not a `for` over known values."""
    settings: dict[str, str | None] = field(default_factory=dict)
    """``{"clf.C": "C"}``: estimator settings a loop feeds from names it binds, through
    ``clf = Estimator(C=C)``, ``clf.set_params(C=C)`` or ``clf.C = C`` in its body. The value is
    the loop name when the setting is exactly that name, else None (an expression of it)."""
    opaque: set[str] = field(default_factory=set)
    """Names of objects a loop rebinds in ways that may change any of their settings (a `for`
    target, ``clf = models[i]``, a constructor with loop names outside its keywords,
    ``clf.set_params(**grid)``): every setting of such an object varies."""


def loop_bindings(tree: ast.Module, literals: Mapping[str, Any]) -> LoopBindings:
    """The loop facts of a parsed cell. ``literals`` holds the cell's top-level literal
    assignments, so that ``Cs = [1, 10]`` then ``for C in Cs`` gives C the values [1, 10]."""
    out = LoopBindings()
    late = _names_bound_after_loops(tree)
    in_loops: dict[int, ast.stmt] = {}  # each statement once, though loops nest
    for loop in _loops(tree.body):
        inside: set[str] = set()
        for stmt in _statements([loop]):
            in_loops.setdefault(id(stmt), stmt)
            inside.update(_plain_targets(stmt))
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            out.opaque.update(target_names(loop.target))  # for clf in models: anything varies
        for stmt in _statements(loop.body):
            _collect_settings(stmt, inside, out)
    for stmt in in_loops.values():
        for name, source in _bindings(stmt, literals, late):
            _merge(out.names, name, source)
    return out


def _merge(names: dict[str, Source], name: str, source: Source) -> None:
    """Known values concatenate over loops; anything unknown makes the name unknown."""
    if name not in names:
        names[name] = source
        return
    prior = names[name]
    if prior is not None and source is not None and prior[0] == source[0] == "values":
        names[name] = ("values", [*prior[1], *source[1]])
    else:
        names[name] = None


# -- walking the cell's scope ----------------------------------------------------------------
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of ``body`` in the cell's scope, nested blocks included."""
    for stmt in body:
        if isinstance(stmt, _SCOPES):
            continue
        yield stmt
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                yield from _statements([child])
            elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                yield from _statements(child.body)


def _loops(body: list[ast.stmt]) -> Iterator[ast.For | ast.AsyncFor | ast.While]:
    for stmt in _statements(body):
        if isinstance(stmt, _LOOPS):
            yield stmt


def _names_bound_after_loops(tree: ast.Module) -> set[str]:
    """Names bound by a top-level statement that follows a loop, or inside any loop: the
    namespace's value of such a name is not what an earlier loop iterated over."""
    out: set[str] = set()
    seen_loop = False
    for stmt in tree.body:
        has_loop = any(True for _ in _loops([stmt]))
        if seen_loop or has_loop:
            for inner in _statements([stmt]):
                out.update(_plain_targets(inner))
        seen_loop = seen_loop or has_loop
    return out


# -- what one statement binds ----------------------------------------------------------------
def target_names(target: ast.expr) -> list[str]:
    """The names an assignment target binds (attributes and subscripts bind none)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in target_names(e)]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return []


def _plain_targets(stmt: ast.stmt) -> list[str]:
    """Names an assignment-like statement binds (not a `for` target: see `_bindings`)."""
    if isinstance(stmt, ast.Assign):
        return [n for t in stmt.targets for n in target_names(t)]
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return target_names(stmt.target)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [n for i in stmt.items if i.optional_vars for n in target_names(i.optional_vars)]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return target_names(stmt.target)
    return []


def _bindings(
    stmt: ast.stmt, literals: Mapping[str, Any], late: set[str]
) -> list[tuple[str, Source]]:
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        if _breaks(stmt):  # a `break` may leave values out: not all of them were used
            return [(name, None) for name in target_names(stmt.target)]
        return list(_for_values(stmt.target, stmt.iter, literals, late).items())
    return [(name, None) for name in _plain_targets(stmt)]


def _breaks(loop: ast.For | ast.AsyncFor) -> bool:
    """Whether ``loop`` has a ``break`` of its own (not one of an inner loop's)."""
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if not isinstance(node, (*_LOOPS, *_SCOPES)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _for_values(
    target: ast.expr, source: ast.expr, literals: Mapping[str, Any], late: set[str]
) -> dict[str, Source]:
    """What ``for <target> in <source>`` gives each name of ``target``."""
    unknown: dict[str, Source] = dict.fromkeys(target_names(target))
    if isinstance(source, ast.Call) and isinstance(source.func, ast.Name) and not source.keywords:
        if source.func.id == "enumerate" and len(source.args) in (1, 2):
            pair = _unpack(target, 2)
            if pair is not None:  # the counter is not a setting: only what is enumerated is
                return {**unknown, **_for_values(pair[1], source.args[0], literals, late)}
        parts = _unpack(target, len(source.args))
        if source.func.id == "zip" and parts is not None:
            out = dict(unknown)
            for part, arg in zip(parts, source.args, strict=True):
                out.update(_for_values(part, arg, literals, late))
            return out
        return unknown
    if isinstance(source, ast.Name) and source.id not in late:
        if source.id in literals:
            return _destructure(target, literals[source.id]) or unknown
        if isinstance(target, ast.Name):
            return {target.id: ("iterates", source.id)}
        return unknown
    try:
        values = _literal_value(source)
    except ValueError:
        return unknown
    return _destructure(target, values) or unknown


def _unpack(target: ast.expr, n: int) -> list[ast.expr] | None:
    """The ``n`` parts of a tuple target (``i, (a, b)``), or None."""
    if isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == n:
        if not any(isinstance(e, ast.Starred) for e in target.elts):
            return list(target.elts)
    return None


def _destructure(target: ast.expr, values: Any) -> dict[str, Source] | None:
    """Each target name's values when iterating ``values`` (a literal list), or None."""
    if not isinstance(values, list):
        return None
    if isinstance(target, ast.Name):
        return {target.id: ("values", list(values))}
    width = len(values[0]) if values and isinstance(values[0], list) else -1
    parts = _unpack(target, width)
    if parts is None or any(not isinstance(v, list) or len(v) != width for v in values):
        return None
    out: dict[str, Source] = {}
    for i, part in enumerate(parts):
        column = _destructure(part, [v[i] for v in values])
        if column is None:
            return None
        out.update(column)
    return out


def _literal_value(node: ast.expr) -> Any:
    """A list or tuple literal of literals as a list (`ast.literal_eval` rules; sets sorted);
    ValueError for anything else, strings included (iterating characters sets nothing)."""
    if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        raise ValueError("not a literal sequence")
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc
    items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
    return [_as_json(v) for v in items]


def _as_json(value: Any) -> Any:
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, (bytes, complex)) or value is Ellipsis:
        raise ValueError("not JSON")
    return value


# -- estimator settings a loop feeds ---------------------------------------------------------
def _collect_settings(stmt: ast.stmt, inside: set[str], out: LoopBindings) -> None:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            _assigned_setting(target, stmt.value, inside, out)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
        _assigned_setting(stmt.target, stmt.value, inside, out)
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        _set_params_call(stmt.value, inside, out)


_CHAINED = frozenset({"fit", "set_output"})  # return the estimator itself


def _assigned_setting(
    target: ast.expr, value: ast.expr, inside: set[str], out: LoopBindings
) -> None:
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        _setting(f"{target.value.id}.{target.attr}", value, inside, out)  # clf.C = C
        return
    if not isinstance(target, ast.Name):
        out.opaque.update(target_names(target))
        return
    while (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in _CHAINED
        and isinstance(value.func.value, ast.Call)
    ):
        value = value.func.value  # LogisticRegression(C=C).fit(X, y): the constructor
    if not isinstance(value, ast.Call):
        out.opaque.add(target.id)  # clf = models[i]: any setting may differ
        return
    if isinstance(value.func, ast.Attribute) and value.func.attr == "set_params":
        _set_params_call(value, inside, out, alias=target.id)
        return
    positional = [*value.args, value.func, *(k.value for k in value.keywords if k.arg is None)]
    if any(_reads(arg, inside) for arg in positional):
        out.opaque.add(target.id)  # Pipeline([... SVC(C=C)]): settings we cannot name
        return
    for kw in value.keywords:
        if kw.arg is not None:
            _setting(f"{target.id}.{kw.arg}", kw.value, inside, out)


def _set_params_call(
    call: ast.Call, inside: set[str], out: LoopBindings, alias: str | None = None
) -> None:
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr == "set_params"
        and isinstance(func.value, ast.Name)
    ):
        return
    for owner in dict.fromkeys([func.value.id, alias or func.value.id]):
        if call.args or any(k.arg is None for k in call.keywords):
            out.opaque.add(owner)  # set_params(**grid)
            continue
        for kw in call.keywords:
            _setting(f"{owner}.{kw.arg}", kw.value, inside, out)


def _setting(key: str, value: ast.expr, inside: set[str], out: LoopBindings) -> None:
    if not _reads(value, inside):
        return  # the same value at every iteration
    name = value.id if isinstance(value, ast.Name) else None
    if key in out.settings and out.settings[key] != name:
        name = None
    out.settings[key] = name


def _reads(node: ast.expr, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))
