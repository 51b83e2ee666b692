"""`xt.show`: pick the view for an object (runs DataFrame, Comparison, Run)."""

from __future__ import annotations

from typing import Any

from ..records.compare import Comparison
from ..records.run import Run
from .card import RunCard
from .compare_view import CompareView
from .table import RunTableView


def view_for(obj: Any, filter: str | None = None) -> Any:
    """The view of `obj`, or `obj` itself when there is none."""
    if isinstance(obj, Comparison):
        return CompareView(obj)
    if isinstance(obj, Run):
        return RunCard(obj)
    columns = getattr(obj, "columns", None)
    if columns is not None and "id" in columns and "number" in columns and hasattr(obj, "head"):
        return RunTableView(obj, filter=filter)
    return obj
