"""The store contract (store/contract.py) is what callers use, and the SQLite store keeps it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import jupyter_xtrack
from jupyter_xtrack.store import Store
from jupyter_xtrack.store.contract import RunStore

PACKAGE = Path(jupyter_xtrack.__file__).parent


def _contract_members() -> set[str]:
    return {name for name in vars(RunStore) if not name.startswith("_")}


def test_the_sqlite_store_is_a_run_store(store: Store) -> None:
    assert isinstance(store, RunStore)


def test_every_contract_method_has_the_same_parameters_in_the_sqlite_store() -> None:
    properties = {n for n in _contract_members() if isinstance(getattr(RunStore, n), property)}
    assert {"root", "location", "is_local"} <= properties
    for name in properties:
        assert name == "root" or isinstance(getattr(Store, name), property), name
    for name in _contract_members() - properties:
        promised = inspect.signature(getattr(RunStore, name))
        kept = inspect.signature(getattr(Store, name))
        assert list(promised.parameters) == list(kept.parameters), name
        for pname, param in promised.parameters.items():
            assert param.kind == kept.parameters[pname].kind, (name, pname)


def test_callers_use_only_methods_of_the_contract() -> None:
    # Every public Store method called outside store/ (as `.name(`) must be in the contract,
    # so a second backend that implements the contract needs no change in its callers.
    store_methods = {name for name, _ in inspect.getmembers(Store, inspect.isfunction)
                     if not name.startswith("_")}
    called: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called.add(node.func.attr)
    used = called & store_methods
    assert used, "no store calls found: the scan is broken"
    assert used <= _contract_members(), sorted(used - _contract_members())
