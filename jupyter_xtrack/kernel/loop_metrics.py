"""An AST pass that turns a metric-like name assigned inside a loop of a tracked cell into a
history (one point per assignment, step = its count) instead of a last value.

In the cell's top-level loops (not in the functions or classes it defines), each
`name = value`, `name: T = value` and `name[i] = value` whose name is metric-like becomes
`name = __xtrack_loop__("name", value)`, and `name += value` is followed by
`__xtrack_loop__("name", name)`. The hook (capture/metric_calls.note_loop_value) returns the
value unchanged and reads nothing else, so the cell computes exactly what it did; new nodes
carry the original positions, so tracebacks and line numbers are unchanged. A cell that is not
tracked is left as it is, and a cell the pass cannot handle runs untransformed.
"""

from __future__ import annotations

import ast
import copy
import os
from typing import Any

from ..capture.metric_calls import LOOP_HOOK, active, note_loop_value
from ..capture.params import metric_like

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


class LoopMetrics(ast.NodeTransformer):
    """Registered in `shell.ast_transformers` by `%load_ext`; acts on tracked cells only."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def visit_Module(self, node: ast.Module) -> ast.Module:
        if active() is None or not any(isinstance(n, _LOOPS) for n in _same_scope(node)):
            return node  # not a tracked cell, or no loop: nothing to do
        try:
            pattern = os.environ.get("XTRACK_METRIC_PATTERN") or None
            tree = copy.deepcopy(node)
            _Instrument(pattern).visit(tree)
            ast.fix_missing_locations(tree)
            self.shell.user_ns[LOOP_HOOK] = note_loop_value
            return tree
        except Exception as exc:  # noqa: BLE001 - an untransformed cell still runs as written
            recorder = active()
            if recorder is not None:
                recorder.problems.append(f"loop metrics: {type(exc).__name__}: {exc}")
            return node


def _same_scope(node: ast.AST) -> list[ast.AST]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(c for c in ast.iter_child_nodes(n) if not isinstance(c, _SCOPES))
    return out


class _Instrument(ast.NodeTransformer):
    def __init__(self, pattern: str | None) -> None:
        self.pattern = pattern
        self.loops = 0

    def _loop(self, node: ast.stmt) -> ast.stmt:
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1
        return node

    visit_For = visit_AsyncFor = visit_While = _loop

    def _scope(self, node: ast.AST) -> ast.AST:
        return node  # a function's or class's body is not the cell's top level

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def _metric(self, target: ast.expr) -> str | None:
        if isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name) and metric_like(target.id, self.pattern):
            return target.id
        return None

    def visit_Assign(self, node: ast.Assign) -> ast.stmt:
        if self.loops and len(node.targets) == 1 and (name := self._metric(node.targets[0])):
            node.value = _hook(name, node.value)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.stmt:
        if self.loops and node.value is not None and (name := self._metric(node.target)):
            node.value = _hook(name, node.value)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if self.loops and isinstance(node.target, ast.Name) and (name := self._metric(node.target)):
            load = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node.target)
            return [node, ast.copy_location(ast.Expr(value=_hook(name, load)), node)]
        return node


def _hook(name: str, value: ast.expr) -> ast.expr:
    call = ast.Call(
        func=ast.Name(id=LOOP_HOOK, ctx=ast.Load()),
        args=[ast.Constant(value=name), value],
        keywords=[],
    )
    return ast.copy_location(call, value)
