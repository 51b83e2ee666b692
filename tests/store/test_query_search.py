"""Plain words in the filter box search runs (the sidebar's `mlp`); anything that looks
like the filter language stays a filter, with its pointed errors."""

from __future__ import annotations

import pytest

from jupyter_xtrack.store import FilterError, Store
from jupyter_xtrack.store.query import combine_filters, search_words


@pytest.fixture
def named(store: Store) -> dict[str, str]:
    """Runs told apart by name, experiment, notebook, a text param, a tag, a system tag."""
    ids: dict[str, str] = {}
    for label, kwargs, params in (
        ("mlp", {"name": "mlp-wide", "experiment": "vision"}, {"model": "rf"}),
        (
            "cnn",
            {"name": "cnn", "experiment": "vision", "notebook_path": "/w/ResNet/train.ipynb"},
            {"model": "resnet"},
        ),
        ("tagged", {"name": "x", "tags": {"note": "try MLP again"}}, {"lr": 0.1}),
        ("param", {"name": "y"}, {"arch": "small-MLP"}),
        ("system", {"name": "z", "tags": {"xtrack.job.kind": "mlp"}}, {}),
    ):
        run_id, _ = store.create_run(**kwargs)  # type: ignore[arg-type]
        store.set_params(run_id, params)
        ids[label] = run_id
    return ids


def found(store: Store, text: str) -> set[str]:
    return set(store.query_runs(text).ids)


def test_a_plain_word_searches_names_params_and_tags(store: Store, named: dict[str, str]) -> None:
    # Case ignored; the xtrack.* bookkeeping tag does not count.
    assert found(store, "mlp") == {named["mlp"], named["tagged"], named["param"]}
    assert found(store, "MLP") == found(store, "mlp")
    # Experiment and notebook path are searched too; every word must match.
    assert found(store, "vision") == {named["mlp"], named["cnn"]}
    assert found(store, "resnet") == {named["cnn"]}
    assert found(store, "vision wide") == {named["mlp"]}
    assert found(store, "nothing-like-this") == set()


def test_a_search_pages_and_counts_like_a_filter(store: Store, named: dict[str, str]) -> None:
    page = store.query_runs("mlp", limit=1, order_by="number")
    assert page.ids == [named["mlp"]] and page.total == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mlp", ["mlp"]),
        (" resnet-50  adam ", ["resnet-50", "adam"]),
        ("42", ["42"]),
        ("metrics.acc", None),
        ("status", None),
        ("mlp and cnn", None),
        ("name ~ 'x'", None),
        ("params.lr > 0.1", None),
        ("(mlp)", None),
        ("'mlp'", None),
        ("not mlp", None),
    ],
)
def test_what_counts_as_plain_words(text: str, words: list[str] | None) -> None:
    assert search_words(text) == words


def test_filter_errors_stay_pointed(store: Store, named: dict[str, str]) -> None:
    # A field without an operator is an unfinished filter, not a search for its name.
    with pytest.raises(FilterError, match="expected an operator"):
        store.query_runs("metrics.acc")
    with pytest.raises(FilterError, match="unknown field 'mlp'"):
        store.query_runs("mlp = 1")
    assert found(store, "params.model = 'resnet'") == {named["cnn"]}


def test_search_words_are_parameters_never_pasted(store: Store, named: dict[str, str]) -> None:
    assert found(store, "x;DROP%_") == set()
    assert len(store.query_runs()) == 5


def test_text_field_combines_with_the_filter_language(store: Store, named: dict[str, str]) -> None:
    assert found(store, "text ~ 'MLP' and params.arch != null") == {named["param"]}
    assert found(store, "not text ~ 'mlp'") == {named["cnn"], named["system"]}
    for bad in ("text = 'mlp'", "text in ('mlp')", "text = null"):
        with pytest.raises(FilterError, match="text is searched with ~"):
            store.query_runs(bad)


def test_combined_filters_keep_plain_words(store: Store, named: dict[str, str]) -> None:
    assert combine_filters([None, " ", "mlp"]) == "mlp"
    assert combine_filters([]) is None
    both = combine_filters(["mlp vision", "params.model = 'rf'"])
    assert both == "(text ~ 'mlp' and text ~ 'vision') and (params.model = 'rf')"
    assert found(store, both or "") == {named["mlp"]}
