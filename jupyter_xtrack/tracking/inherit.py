"""Where a search's child runs ran: what a sweep trial or an AutoML candidate takes from its
parent run.

A child opens in its parent's notebook and cell (the run's notebook and cell columns, set
at creation), and holds its parent's code, lineage, notebook snapshot, environment and git
state by reference: the very fact values of the parent, whose blobs the parent stored, so a
child costs no capture and no byte of storage, and the store fills its git columns from the
git fact as for any run.

The parent's facts are stored in the background after the parent ends
(`Recording._finalize`), which for a sweep in the foreground is after its last trial
closed. So the hand-over works in either order: a child that closes before its parent's
context is known waits on its family, and gets the context in one write when the parent
passes it on (`pass_on`, called once the parent's facts are stored); a child that closes
after takes it with its own facts. Children share one family per parent, kept for the
session (a few small dicts per search).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..facts import Fact

if TYPE_CHECKING:
    from ..records.run import Run
    from ..store.contract import RunStore
    from .session import TrackerContext

# The facts that say where a run ran; a child holds its parent's (the same blob hashes).
CONTEXT_FACTS: Final = (Fact.CODE, Fact.LINEAGE, Fact.NOTEBOOK, Fact.ENV, Fact.GIT)


@dataclass
class _Family:
    """A parent's context once known (None until then), and its children still waiting for
    it, each with the fact kinds it stored itself (never overwritten) and its own context
    facts (what it hands on to its own children)."""

    context: dict[str, Any] | None = None
    waiting: list[tuple[str, frozenset[str], dict[str, Any]]] = field(default_factory=list)


_families: dict[str, _Family] = {}
# The children that closed before their parent's context was known: a background sweep's
# parent run may end before the cell that launched it is stored, and its own trials then
# wait for the grandparent's context, passed down through it
_waiting: set[str] = set()
_lock = threading.Lock()


def placement(parent: Run) -> dict[str, str | None]:
    """The notebook and cell a child of `parent` ran in (its parent's)."""
    return {"notebook_path": parent.notebook_path, "cell_id": parent.cell_id}


def expect_children(parent_id: str) -> None:
    """Note that `parent_id` has children that will want its context."""
    with _lock:
        _families.setdefault(parent_id, _Family())


def context_for(parent_id: str, child_id: str, own: Mapping[str, Any]) -> dict[str, Any]:
    """The parent's context facts to store with the child now, less the kinds in `own` (the
    child's own facts). Empty while the parent's context is not known: the child then waits
    and gets it from `pass_on`."""
    with _lock:
        family = _families.get(parent_id)
        if family is None:
            return {}
        if family.context is None:
            mine = {k: own[k] for k in CONTEXT_FACTS if own.get(k) is not None}
            family.waiting.append((child_id, frozenset(own), mine))
            _waiting.add(child_id)
            return {}
        return {k: v for k, v in family.context.items() if k not in own}


def _settle(parent_id: str, context: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Give `parent_id`'s family its context: the writes its waiting children need, and
    their own waiting children's, down the tree (under `_lock`)."""
    family = _families.setdefault(parent_id, _Family())
    family.context = context
    waiting, family.waiting = family.waiting, []
    writes: list[tuple[str, dict[str, Any]]] = []
    for child_id, own, mine in waiting:
        _waiting.discard(child_id)
        facts = {k: v for k, v in context.items() if k not in own}
        if facts:
            writes.append((child_id, facts))
        child = _families.get(child_id)
        if child is not None and child.context is None:
            writes += _settle(child_id, {**facts, **mine})
    return writes


def pass_on(ctx: TrackerContext, run: Run) -> None:
    """`run`'s facts are stored: hand its context to the children that wait for it (one
    background write) and to those still to close. A run with no children costs a lookup.
    A run without context of its own that waits for its parent's (a background sweep's
    parent run) leaves its children waiting: they get the context when it does."""
    with _lock:
        family = _families.get(run.id)
        if family is None:
            return
        context = {k: run.fact(k) for k in CONTEXT_FACTS if run.fact(k) is not None}
        if not context and run.id in _waiting:
            return
        writes = _settle(run.id, context)
    if not writes:
        return

    def write(store: RunStore) -> None:
        # lazy: the store package (sqlite3) loads with the first store, not with this module
        from ..store.errors import UnknownRunError

        for child_id, facts in writes:
            try:
                store.set_facts(child_id, **facts)
            except UnknownRunError:  # deleted meanwhile: its siblings still get theirs
                continue

    ctx.writer().submit(write)
