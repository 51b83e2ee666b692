"""The search-space language and its dict form: table-driven, good and bad inputs."""

from __future__ import annotations

import pytest

from jupyter_xtrack.optimize.space import SpaceError, parse_space

GOOD = [
    (
        "lr=loguniform(1e-4, 1e-1); depth=int(2, 12); model=choice('rf', 'gb')",
        {"lr": ("loguniform", 1e-4, 1e-1), "depth": ("int", 2, 12), "model": ("choice", "rf", "gb")},
    ),
    ("x=uniform(0, 1, step=0.25)\nn=logint(1, 1024)", {"x": ("uniform", 0, 1), "n": ("logint", 1, 1024)}),
    ("a=grid(1, 2, 3); b=grid('x', 'y')", {"a": ("grid", 1, 2, 3), "b": ("grid", "x", "y")}),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_text_form_parses(text: str, expected: dict) -> None:
    space = parse_space(text)
    got = {}
    for p in space.params:
        got[p.name] = (p.kind, *p.values) if p.values else (p.kind, p.low, p.high)
    assert got == expected


BAD = [
    # (space, text the message must contain, the underlined snippet)
    ("lr=logunifrom(1e-4, 1e-1)", "did you mean 'loguniform'", "logunifrom"),
    ("lr=loguniform(0, 1)", "positive low bound", "loguniform(0, 1)"),
    ("depth=int(12, 2)", "low must be below high", "int(12, 2)"),
    ("depth=int(2.5, 12)", "whole numbers", "int(2.5, 12)"),
    ("lr=uniform(1)", "exactly two bounds", "uniform(1)"),
    ("model=choice()", "at least one value", "choice()"),
    ("x=uniform(0, 1); x=uniform(0, 2)", "given twice", "x=uniform(0, 2)"[:1]),
    ("lr=loguniform(1e-4, 1e-1) depth=int(2, 3)", "cannot parse", "^"),
    ("lr=loguniform(a, 1)", "literal values only", "loguniform(a, 1)"),
    ("lr=uniform(0, 1, steps=2)", "unknown argument 'steps'", "uniform(0, 1, steps=2)"),
    ("0.1", "NAME=DISTRIBUTION", "0.1"),
    ("", "empty", ""),
]


@pytest.mark.parametrize(("text", "message", "snippet"), BAD)
def test_mistakes_are_pointed_at(text: str, message: str, snippet: str) -> None:
    with pytest.raises(SpaceError) as err:
        parse_space(text)
    msg = str(err.value)
    assert message in msg
    if snippet and snippet != "^":
        lines = msg.splitlines()
        source_line, caret_line = lines[1], lines[2]
        start = caret_line.index("^")
        assert source_line[start:start + len(snippet)] == snippet
        assert caret_line.count("^") == len(snippet)
    if text:
        assert "distributions: uniform(low, high" in msg


def test_dict_form_accepts_expressions_lists_ranges_distributions_and_constants() -> None:
    from optuna.distributions import FloatDistribution

    space = parse_space({
        "lr": "loguniform(1e-4, 1e-1)",
        "model": ["rf", "gb"],
        "depth": range(2, 13, 2),
        "alpha": FloatDistribution(0.0, 1.0),
        "seed": 7,
    })
    kinds = {p.name: p.kind for p in space.params}
    assert kinds == {"lr": "loguniform", "model": "choice", "depth": "int", "alpha": "uniform"}
    assert dict(space.fixed) == {"seed": 7}
    assert space.params[2].grid_values() == [2, 4, 6, 8, 10, 12]


def test_dict_form_rejects_objects_it_cannot_search() -> None:
    with pytest.raises(SpaceError, match="cannot search over object"):
        parse_space({"x": object()})
    with pytest.raises(SpaceError, match="did you mean 'choice'"):
        parse_space({"x": "choise(1, 2)"})


def test_grid_needs_finite_values() -> None:
    assert parse_space("a=grid(1, 2); b=int(0, 2)").grid() == {"a": [1, 2], "b": [0, 1, 2]}
    with pytest.raises(SpaceError, match="lr=loguniform"):
        parse_space("lr=loguniform(1e-4, 1e-1)").grid()


def test_distributions_are_optuna_distributions() -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    d = parse_space("lr=loguniform(1e-4, 1e-1); n=int(1, 9, step=2); m=choice('a', 'b')").distributions()
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["n"] == IntDistribution(1, 9, step=2)
    assert d["m"] == CategoricalDistribution(["a", "b"])
