""" "Compare with previous" on the run card finds the earlier run of the same cell on a real
store: by cell id, else (cells run by nbclient or papermill have none) by the notebook and
the same code, else by name in the notebook, else by name anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.records.run import Run
from jupyter_xtrack.store import Store, open_store
from jupyter_xtrack.views.card import previous_run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "store")
    yield s
    s.close()


def _run(store: Store, code: str | None = None, **kw: str | None) -> tuple[Run, int]:
    run_id, number = store.create_run(**kw)
    if code is not None:
        store.set_facts(
            run_id,
            **{
                Fact.CODE: {
                    "hash": store.put_blob(code.encode()),
                    "kind": "cell",
                    "script_path": None,
                }
            },
        )
    return Run(store.get_run(run_id), store), number


def test_a_cell_id_finds_the_earlier_run_of_that_cell(store: Store) -> None:
    _, first = _run(store, cell_id="c1", notebook_path="nb.ipynb")
    _run(store, cell_id="c2", notebook_path="nb.ipynb")
    latest, _ = _run(store, cell_id="c1", notebook_path="nb.ipynb")
    assert previous_run(latest)["number"] == first  # type: ignore[index]


def test_runs_without_cell_id_are_found_by_notebook_and_code(store: Store) -> None:
    """The defect: earlier runs from nbclient (no cell id) gave "No previous run"."""
    _, by_nbclient = _run(store, "fit(model)", notebook_path="nb.ipynb")
    _run(store, "other cell", notebook_path="nb.ipynb")
    _run(store, "fit(model)", notebook_path="elsewhere.ipynb")
    latest, _ = _run(store, "fit(model)", cell_id="from-lab", notebook_path="nb.ipynb")
    assert previous_run(latest)["number"] == by_nbclient  # type: ignore[index]


def test_edited_code_falls_back_to_the_run_name(store: Store) -> None:
    _, named = _run(store, "fit(model, lr=0.1)", name="baseline", notebook_path="nb.ipynb")
    _run(store, "unrelated", name="other", notebook_path="nb.ipynb")
    latest, _ = _run(
        store, "fit(model, lr=0.01)", name="baseline", cell_id="x", notebook_path="nb.ipynb"
    )
    assert previous_run(latest)["number"] == named  # type: ignore[index]


def test_a_name_outside_any_notebook_still_matches(store: Store) -> None:
    _, script = _run(store, name="train")
    latest, _ = _run(store, name="train", notebook_path="nb.ipynb")
    assert previous_run(latest)["number"] == script  # type: ignore[index]


def test_a_first_run_has_no_previous(store: Store) -> None:
    _run(store, "a", notebook_path="nb.ipynb", name="x")
    latest, _ = _run(store, "b", notebook_path="nb.ipynb", name="y", cell_id="c")
    assert previous_run(latest) is None
