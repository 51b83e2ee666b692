"""The filter language's limits: input that is too deep, too long or out of range is a
FilterError (FilterLimitError) naming the limit and the column, never a RecursionError,
OverflowError or an SQLite failure; and everything within the limits runs."""

from __future__ import annotations

import pytest

from jupyter_xtrack.store import FilterError, Store, UnknownRunError
from jupyter_xtrack.store.errors import FilterLimitError
from jupyter_xtrack.store.query import (
    INT64_MAX,
    INT64_MIN,
    MAX_COMPARISONS,
    MAX_DEPTH,
    MAX_FILTER_CHARS,
    MAX_ORDER_FIELDS,
    compile_filter,
)

C = "params.x = 1"


@pytest.fixture
def one_run(store: Store) -> str:
    run_id, _ = store.create_run(name="a", tags={"t": "abc"})
    store.set_params(run_id, {"x": 1, "y": "a"})
    store.log_metrics([(run_id, "m", 1.0, 0, 1.0)])
    store.finish_run(run_id, status="finished")
    return run_id


def limit_error(store: Store, text: str | None, **kw: object) -> FilterLimitError:
    with pytest.raises(FilterLimitError) as info:
        store.query_runs(text, **kw)  # type: ignore[arg-type]
    err = info.value
    assert "\n" not in str(err) and "Traceback" not in str(err)
    return err


@pytest.mark.parametrize(
    ("text", "limit", "position"),
    [
        ("(" * 260 + C + ")" * 260, "depth", MAX_DEPTH),  # RecursionError before
        ("not " * 2000 + C, "depth", 4 * MAX_DEPTH),  # RecursionError before
        ("not " * 400 + C, "depth", 4 * MAX_DEPTH),  # SQLite parser stack (503) before
        (" and ".join([C] * 1500), "length", MAX_FILTER_CHARS),  # expression depth before
        ("params.x = 99999999999999999999999999", "integer range", 11),  # OverflowError
        ("params.x in (1, -9223372036854775809)", "integer range", 16),
    ],
)
def test_the_issue_inputs_name_the_limit_and_the_column(
    store: Store, one_run: str, text: str, limit: str, position: int
) -> None:
    err = limit_error(store, text)
    assert err.limit == limit and err.position == position
    assert f"(column {position + 1})" in str(err)
    assert isinstance(err, FilterError) and err.text == text


def test_comparisons_past_the_limit_point_at_the_first_one_too_many(
    store: Store, one_run: str
) -> None:
    text = " and ".join(["id=1"] * (MAX_COMPARISONS + 5))
    assert len(text) <= MAX_FILTER_CHARS
    err = limit_error(store, text)
    assert err.limit == "comparisons" and str(MAX_COMPARISONS) in str(err)
    assert err.position == MAX_COMPARISONS * len("id=1 and ")
    store.query_runs(" and ".join(["id=1"] * MAX_COMPARISONS))


def test_depth_counts_parentheses_and_nots(store: Store, one_run: str) -> None:
    assert store.query_runs("(" * MAX_DEPTH + C + ")" * MAX_DEPTH).total == 1
    assert store.query_runs("not " * MAX_DEPTH + C).total == 1  # an even number
    err = limit_error(store, "not (" * (MAX_DEPTH // 2) + "(" + C + ")" * (MAX_DEPTH // 2 + 1))
    assert err.limit == "depth" and err.position == 5 * (MAX_DEPTH // 2)


def test_filter_length_limit(store: Store, one_run: str) -> None:
    pad = " " * (MAX_FILTER_CHARS - len(C))
    assert store.query_runs(C + pad).total == 1
    assert limit_error(store, C + pad + " ").limit == "length"
    # A glob of 4-byte characters as long as allowed stays under SQLite's pattern limit
    # (50,000 bytes); a longer one was "pattern too complex", a 503.
    glob = "\U0001f600" * (MAX_FILTER_CHARS - 20) + "*"
    assert store.query_runs(f"name ~ '{glob}'").total == 0
    assert limit_error(store, "name ~ '" + "\U0001f600" * 13_000 + "*'").limit == "length"


def test_integers_at_the_edges_of_64_bits(store: Store, one_run: str) -> None:
    for n in (INT64_MAX, INT64_MIN, 0, -0):
        assert store.query_runs(f"params.x != {n}").total == 1
    assert store.query_runs("params.x < 1e30 and number < 9.3e18").total == 1
    assert store.query_runs("params.x = " + "0" * 5000 + "1").total == 1
    assert limit_error(store, f"params.x = {INT64_MAX + 1}").limit == "integer range"
    assert limit_error(store, f"number > {INT64_MIN - 1}").limit == "integer range"
    assert limit_error(store, "params.x = " + "9" * 5000).limit == "integer range"


def test_order_by_field_limit(store: Store, one_run: str) -> None:
    # SQLite 3.40 crashes the process when ordering by 32+ joined fields: stay well below.
    assert MAX_ORDER_FIELDS < 32
    fields = [f"params.k{i} desc" for i in range(MAX_ORDER_FIELDS)]
    assert store.query_runs(None, order_by=fields).total == 1
    assert store.query_runs(None, order_by=", ".join(fields)).total == 1
    err = limit_error(store, None, order_by=[f"params.k{i}" for i in range(70)])  # 503 before
    assert err.limit == "order_by fields" and "70" in str(err) and str(MAX_ORDER_FIELDS) in str(err)
    assert limit_error(store, None, order_by="metrics.m" + " " * MAX_FILTER_CHARS).limit == "length"


ATOMS = [
    "params.x = 1",
    "tags.t ~ 'a*'",
    "metrics.m in (1, 2)",
    "name != null",
    "ended_at not in (1, 2)",
    "params.y not in ('a')",
    "status = 'finished'",
    "name ~ 'x'",
]
SEPARATORS = [(" and ", " or "), (" or ", " and "), (" and not ", " or not "),
              (" and ", " and "), (" or not ", " or not ")]


@pytest.mark.parametrize("atom", ATOMS)
def test_every_shape_within_the_limits_runs(store: Store, one_run: str, atom: str) -> None:
    """The deepest filters of each shape, and the most comparisons at the deepest level,
    are accepted by SQLite (its parser stack is only 100 deep)."""
    for seps in SEPARATORS:
        text, depth, level = "", 0, 0
        while depth + 1 + seps[level % 2].count("not") <= MAX_DEPTH:
            sep = seps[level % 2]
            text += f"({atom}{sep}"
            depth += 1 + sep.count("not")
            level += 1
        store.query_runs(text + atom + ")" * level)
    wide = "(" * MAX_DEPTH + " or ".join([atom] * (MAX_COMPARISONS - 1)) + ")" * MAX_DEPTH
    store.query_runs(wide + " and name = 'a'")


def test_redundant_nots_and_parentheses_keep_their_meaning(store: Store, one_run: str) -> None:
    assert compile_filter("not not (" + C + ")").sql == compile_filter(C).sql
    for text, total in [("not not " + C, 1), ("not not not " + C, 0),
                        ("((params.x = 2) or (params.x = 1)) and not not name = 'a'", 1),
                        ("not (params.x = 2 or not name = 'a')", 1),
                        ("params.x = 2 or name = 'a'", 1)]:
        assert store.query_runs(text).total == total, text
        # The caller ANDs experiment on: an OR stays grouped.
        assert store.query_runs(text, experiment="nope").total == 0, text


def test_a_long_filter_error_shows_the_part_around_the_token(store: Store, one_run: str) -> None:
    text = " and ".join([C] * 150) + " and params.x >> 3"
    with pytest.raises(FilterError) as info:
        store.query_runs(text)
    lines = str(info.value).splitlines()
    assert len(lines) == 3 and all(len(line) < 120 for line in lines)
    assert lines[1][lines[2].index("^")] == ">"
    with pytest.raises(FilterError) as info:
        store.query_runs("name = 'a\ud800'")  # SQLite cannot take a lone surrogate
    assert info.value.position == 9 and "not valid Unicode" in str(info.value)


def test_out_of_range_run_numbers_and_offsets(store: Store, one_run: str) -> None:
    for ref in ("99999999999999999999999", "#" + "9" * 5000, 2**64, -(2**64)):
        with pytest.raises(UnknownRunError, match="below 2\\*\\*63"):
            store.get_run(ref)  # OverflowError / ValueError before
    with pytest.raises(UnknownRunError):
        store.get_run("²")  # a digit to str.isdigit, not to int()
    assert store.get_run("#1")["id"] == one_run
    assert store.get_run("#" + "0" * 5000 + "1")["id"] == one_run  # int() would refuse it
    page = store.query_runs(None, offset=2**63, limit=2**64)
    assert page.total == 1 and len(page.columns["id"]) == 0
    assert len(store.query_runs(None, offset=0, limit=2**64).columns["id"]) == 1


def test_readme_states_the_limits_in_force() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### The filter language"):readme.index("## Magics and CLI")]
    text = " ".join(section.split())
    assert f"at most {MAX_FILTER_CHARS:,} characters with at most {MAX_COMPARISONS} comparisons" in text
    assert f"nest at most {MAX_DEPTH} deep" in text
    assert f"`order_by` takes at most {MAX_ORDER_FIELDS} fields" in text
