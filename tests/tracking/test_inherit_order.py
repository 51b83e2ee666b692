"""tracking/inherit.py: the context reaches every generation whatever order runs close in.

A background sweep started from a tracked cell is a light run under that cell's run, and
its trials are light runs under it. The cell's facts are stored in the background, so the
sweep (and its trials) may well end first: the trials must still get the cell's context,
through the sweep run, once the cell's run passes it on."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.store.store import open_store
from jupyter_xtrack.tracking import inherit


class _Run:
    def __init__(self, run_id: str, facts: dict[str, Any] | None = None) -> None:
        self.id = run_id
        self.facts = facts or {}

    def fact(self, kind: str) -> Any:
        return self.facts.get(kind)


class _Ctx:
    """What `pass_on` needs of a tracker context: a writer that runs its work on `store`."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def writer(self) -> Any:
        return self

    def submit(self, work: Any) -> None:
        work(self.store)


@pytest.fixture
def store(tmp_path: Any) -> Any:
    s = open_store(tmp_path / ".xtrack")
    yield s
    s.close()


CELL_CONTEXT = {
    Fact.CODE: {"hash": "xxh3_128:" + "a" * 32, "kind": "cell", "lines": 2},
    Fact.GIT: {"commit": "0" * 40, "branch": "main"},
}


def _runs(store: Any) -> tuple[str, str, str, str]:
    cell = store.create_run(name="launcher")[0]
    sweep = store.create_run(name="sweep", parent_id=cell)[0]
    early = store.create_run(name="trial 0", parent_id=sweep)[0]
    late = store.create_run(name="trial 1", parent_id=sweep)[0]
    return cell, sweep, early, late


def test_trials_get_the_cells_context_when_the_sweep_ended_before_the_cell_was_stored(
    store: Any,
) -> None:
    cell, sweep, early, late = _runs(store)
    ctx = _Ctx(store)
    inherit.expect_children(cell)  # the cell launches the sweep
    inherit.expect_children(sweep)
    assert inherit.context_for(sweep, early, {}) == {}  # trial 0 ends: nothing known yet
    assert inherit.context_for(cell, sweep, {}) == {}  # the sweep ends, before the cell
    inherit.pass_on(ctx, _Run(sweep))  # the sweep run has no context of its own
    assert inherit.context_for(sweep, late, {}) == {}  # trial 1 waits too
    inherit.pass_on(ctx, _Run(cell, CELL_CONTEXT))  # the cell's facts are stored at last
    for run_id in (sweep, early, late):
        facts = store.get_run(run_id)["facts"]
        assert facts[Fact.CODE] == CELL_CONTEXT[Fact.CODE], run_id
        assert facts[Fact.GIT]["commit"] == "0" * 40, run_id


def test_a_trial_closing_after_the_hand_over_takes_the_context_with_its_facts(
    store: Any,
) -> None:
    cell, sweep, early, _ = _runs(store)
    ctx = _Ctx(store)
    inherit.expect_children(cell)
    inherit.expect_children(sweep)
    assert inherit.context_for(cell, sweep, {}) == {}
    inherit.pass_on(ctx, _Run(sweep))
    inherit.pass_on(ctx, _Run(cell, CELL_CONTEXT))
    own_git = {"commit": "1" * 40}
    assert inherit.context_for(sweep, early, {Fact.GIT: own_git}) == {
        Fact.CODE: CELL_CONTEXT[Fact.CODE]
    }


def test_a_sweep_from_an_untracked_cell_does_not_keep_its_trials_waiting(store: Any) -> None:
    _, sweep, early, late = _runs(store)
    ctx = _Ctx(store)
    inherit.expect_children(sweep)
    assert inherit.context_for(sweep, early, {}) == {}
    inherit.pass_on(ctx, _Run(sweep))  # no parent to wait for: the family settles, empty
    assert inherit.context_for(sweep, late, {}) == {}
    assert inherit._families[sweep].context == {} and not inherit._families[sweep].waiting
