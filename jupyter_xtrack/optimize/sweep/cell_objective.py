"""A notebook cell as a sweep's objective: its top-level assignments to the swept names are
removed from its AST, so that each trial's values take their place."""

from __future__ import annotations

import ast
from typing import Any

from .config import SweepError
from .objective import Objective


class CellObjective(Objective):
    """The body of a notebook cell, run in the shell's namespace once per trial with the
    cell's own top-level assignments to swept names removed (the trial binds them)."""

    def __init__(self, shell: Any, body: str, names: list[str]) -> None:
        self.shell = shell
        self.body = body
        self.identity = body
        try:
            py = shell.transform_cell(body)
        except Exception:  # noqa: BLE001 - IPython reports the syntax problem on compile
            py = body
        try:
            tree = ast.parse(py)
        except SyntaxError as exc:
            raise SweepError(f"the cell does not parse: {exc.msg} (line {exc.lineno})") from None
        # The swept names the cell binds at top level (a name it never binds would be swept
        # for nothing: the launch form reports those).
        self.assigned = {n for n in names if any(_assigns_only(s, {n}) for s in tree.body)}
        tree.body = [s for s in tree.body if not _assigns_only(s, set(names))]
        last: ast.Expression | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        filename = shell.compile.cache(py) if hasattr(shell, "compile") else "<sweep cell>"
        self._code = compile(ast.fix_missing_locations(tree), filename, "exec")
        self._last = None if last is None else compile(
            ast.fix_missing_locations(last), filename, "eval"
        )

    def call(self, params: dict[str, Any]) -> Any:
        ns = self.shell.user_ns
        ns.update(params)
        exec(self._code, ns)
        return None if self._last is None else eval(self._last, ns)

    def fallback_value(self, metric: str | None) -> Any:
        return None if metric is None else self.shell.user_ns.get(metric)


def _assigns_only(stmt: ast.stmt, names: set[str]) -> bool:
    """True for `name = ...` / `name: T = ...` statements that bind only swept names."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
        return all(isinstance(t, ast.Name) and t.id in names for t in targets)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id in names
    return False
