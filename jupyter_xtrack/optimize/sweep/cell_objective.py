"""A notebook cell as a sweep's objective: its top-level assignments to the swept names are
removed from its AST, so that each trial's values take their place. In the kernel it runs
in the notebook's namespace (`CellObjective`); on a worker, in a namespace of its own made
of the notebook variables it reads, sent with it (`ShippedCell`)."""

from __future__ import annotations

import ast
import builtins
import threading
from dataclasses import dataclass
from types import CodeType
from typing import Any

from .config import SweepError
from .objective import Objective


@dataclass
class CompiledCell:
    """A cell's code with the swept names' assignments removed, and its last expression
    (the cell's value) apart."""

    body: CodeType
    last: CodeType | None
    assigned: set[str]  # the swept names the cell binds at top level
    reads: set[str]  # every name the cell (or a function it defines) looks up


def compile_cell(py: str, names: list[str], filename: str) -> CompiledCell:
    """Compile the cell's Python source `py` for sweeping `names` (SweepError if it does not
    parse)."""
    try:
        tree = ast.parse(py)
    except SyntaxError as exc:
        raise SweepError(f"the cell does not parse: {exc.msg} (line {exc.lineno})") from None
    # The swept names the cell binds at top level (a name it never binds would be swept
    # for nothing: the launch form reports those).
    assigned = {n for n in names if any(_assigns_only(s, {n}) for s in tree.body)}
    tree.body = [s for s in tree.body if not _assigns_only(s, set(names))]
    reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    last: ast.Expression | None = None
    tail = tree.body[-1] if tree.body else None
    if isinstance(tail, ast.Expr):
        tree.body.pop()
        last = ast.Expression(tail.value)
    body = compile(ast.fix_missing_locations(tree), filename, "exec")
    value = None if last is None else compile(ast.fix_missing_locations(last), filename, "eval")
    return CompiledCell(body, value, assigned, reads)


class CellObjective(Objective):
    """The body of a notebook cell, run in the shell's namespace once per trial with the
    cell's own top-level assignments to swept names removed (the trial binds them)."""

    def __init__(self, shell: Any, body: str, names: list[str]) -> None:
        self.shell = shell
        self.body = body
        self.names = names
        self.identity = body
        try:
            py = shell.transform_cell(body)
        except Exception:  # noqa: BLE001 - IPython reports the syntax problem on compile
            py = body
        self.py = py
        filename = shell.compile.cache(py) if hasattr(shell, "compile") else "<sweep cell>"
        self.compiled = compile_cell(py, names, filename)
        self.assigned = self.compiled.assigned

    def call(self, params: dict[str, Any]) -> Any:
        ns = self.shell.user_ns
        ns.update(params)
        return _run(self.compiled, ns)

    def fallback_value(self, metric: str | None) -> Any:
        return None if metric is None else self.shell.user_ns.get(metric)

    def for_workers(self) -> ShippedCell:
        """This cell as workers run it: its source and the notebook variables it reads (only
        those), each pickled now so that one that cannot be sent is named here."""
        import cloudpickle  # lazy: only sweeps on workers ship a cell

        ns = self.shell.user_ns
        wanted = sorted(n for n in self.compiled.reads - set(self.names)
                        if n in ns and not n.startswith("__"))
        variables: dict[str, bytes] = {}
        for name in wanted:
            try:
                variables[name] = cloudpickle.dumps(ns[name])
            except Exception as exc:  # noqa: BLE001 - any pickling failure is reported
                raise SweepError(
                    f"the cell reads the notebook variable {name!r} "
                    f"({type(ns[name]).__name__}), which cannot be sent to the workers "
                    f"({type(exc).__name__}: {exc}); build it inside the cell, or sweep a "
                    "function instead"
                ) from None
        return ShippedCell(self.py, list(self.names), variables, self.identity)


class ShippedCell(Objective):
    """A notebook cell sent to workers: its source and the pickled notebook variables it
    reads. Each trial runs in a fresh namespace of those variables (unpickled once per
    worker process) and the trial's params."""

    def __init__(self, py: str, names: list[str], variables: dict[str, bytes],
                 identity: str) -> None:
        self.py = py
        self.names = names
        self.variables = variables
        self.identity = identity
        self._ready: tuple[CompiledCell, dict[str, Any]] | None = None
        self._last = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"py": self.py, "names": self.names, "variables": self.variables,
                "identity": self.identity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["py"], state["names"], state["variables"], state["identity"])  # type: ignore[misc]

    def call(self, params: dict[str, Any]) -> Any:
        if self._ready is None:
            import cloudpickle  # lazy: see CellObjective.shipped

            values = {k: cloudpickle.loads(v) for k, v in self.variables.items()}
            self._ready = (compile_cell(self.py, self.names, "<sweep cell>"), values)
        compiled, values = self._ready
        ns: dict[str, Any] = {"__builtins__": builtins, "__name__": "__main__", **values, **params}
        self._last.ns = ns
        return _run(compiled, ns)

    def fallback_value(self, metric: str | None) -> Any:
        ns = getattr(self._last, "ns", {})
        return None if metric is None else ns.get(metric)


def _run(compiled: CompiledCell, ns: dict[str, Any]) -> Any:
    exec(compiled.body, ns)
    return None if compiled.last is None else eval(compiled.last, ns)


def _assigns_only(stmt: ast.stmt, names: set[str]) -> bool:
    """True for `name = ...` / `name: T = ...` statements that bind only swept names."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
        return all(isinstance(t, ast.Name) and t.id in names for t in targets)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id in names
    return False
