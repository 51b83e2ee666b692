"""Property tests of the filter language against a real store: any text, from the grammar
or junk, either runs or raises FilterError (never another exception); and and/or/not and
parentheses compose exactly like the set operations they stand for.

Bounded and deterministic (derandomized, no deadline); XTRACK_FUZZ_EXAMPLES raises the
number of examples for a longer local run."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jupyter_xtrack.store import FilterError, Store, open_store
from jupyter_xtrack.store.errors import FilterLimitError
from jupyter_xtrack.store.query import BASE_FIELDS, compile_order

from .conftest import BACKENDS

EXAMPLES = int(os.environ.get("XTRACK_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _fill(s: Store) -> Store:
    """Eight runs with overlapping and missing params, metrics (NaN, inf) and tags."""
    params: list[dict[str, Any]] = [
        {"lr": 0.1, "optimizer": "adam", "seed": 1, "flag": True, "optim.lr": 0.5},
        {"lr": 0.01, "optimizer": "sgd", "seed": "1", "my-lr": 7},
        {"lr": 1, "optimizer": "Adam", "big": 2**62},
        {"optimizer": "adamw", "note": "it's \"quoted\""},
        {},
        {"lr": -3.5, "seed": 2, "flag": False},
        {"lr": 0.1, "optimizer": "", "val/loss": 0.2},
        {"seed": None, "optimizer": "sgd*"},
    ]
    metrics = [{"acc": 0.9}, {"acc": math.nan, "loss": 0.3}, {"acc": math.inf}, {},
               {"loss": -1.0}, {"acc": 0.5, "loss": 0.1}, {"acc": 0.95}, {}]
    statuses = ["finished", "failed", None, "crashed", "finished", "killed", "interrupted", None]
    for i in range(8):
        run_id, _ = s.create_run(name=["resnet-a", "resnet-b", "bert", None, "vit", "x", "", "z"][i],
                                 experiment=f"exp{i % 3}", started_at=1.7e9 + i * 86400,
                                 tags={"team": "vision"} if i % 2 else {"note": "retry later"})
        if params[i]:
            s.set_params(run_id, params[i])
        if metrics[i]:
            s.log_metrics([(run_id, k, v, 0, 1.7e9) for k, v in metrics[i].items()])
        if statuses[i]:
            s.finish_run(run_id, status=statuses[i], ended_at=1.7e9 + i * 86400 + i)
    return s


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = _fill(open_store(Path(tmp_path_factory.mktemp("fuzz")) / "store"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def postgres_store(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = _fill(open_store(postgres.create_database(),
                         artifacts=str(tmp_path_factory.mktemp("fuzz-blobs"))))
    yield s
    s.close()


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    """The same eight runs on each backend."""
    found: Store = request.getfixturevalue(f"{request.param}_store")
    return found


def run_ids(store: Store, text: str) -> set[str]:
    return set(store.query_runs(text).columns["id"])


# -- the grammar -------------------------------------------------------------------------
KEYS = ["lr", "optimizer", "seed", "flag", "missing", "optim.lr", "val/loss", "`my-lr`",
        "`odd``key`", "acc", "loss", "team", "note", "big"]
FIELD = st.one_of(
    st.sampled_from(sorted(BASE_FIELDS)),
    st.builds(lambda ns, key: f"{ns}.{key}", st.sampled_from(["params", "metrics", "tags"]),
              st.sampled_from(KEYS)),
)
NUMBER = st.one_of(
    st.integers(min_value=-(2**66), max_value=2**66).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "-0", "1e-4", ".5", "3.", "1e400", "007", "9223372036854775807",
                     "9223372036854775808", "-9223372036854775809", "1" * 30, "0" * 30 + "1"]),
)
STRING = st.one_of(
    st.text(max_size=8).map(lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    st.sampled_from(["'adam*'", "'?gd'", "'2026-11-01'", "'2026-11-01T09:30Z'", '"x"',
                     "'finished'", "'[a-'", "''"]),
)
LITERAL = st.one_of(NUMBER, STRING, st.sampled_from(["true", "false", "null", "NULL", "True"]))
OP = st.sampled_from(["=", "==", "!=", "<>", "<", "<=", ">", ">=", "~"])
COMPARISON = st.one_of(
    st.builds(lambda f, o, v: f"{f} {o} {v}", FIELD, OP, LITERAL),
    st.builds(lambda f, neg, vs: f"{f} {'not in' if neg else 'IN'} ({', '.join(vs)})",
              FIELD, st.booleans(), st.lists(LITERAL, min_size=1, max_size=4)),
)
GRAMMAR = st.recursive(
    COMPARISON,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=10,
)
TOKENS = ["(", ")", ",", "'", '"', "`", "and", "or", "not", "in", "=", "!=", "<", ">=", "~",
          "null", "true", "params.lr", "metrics.acc", "tags.team", "status", "started_at",
          "1", "-2.5e3", "99999999999999999999", "'adam'", "params.", "params.`x", "\\", "\x00",
          "\n", "é", "\ud800", "#", ";", "--", "/*"]
# The extremes of size: long chains and deep nesting of each construct.
DEEP = st.builds(
    lambda n, unit, leaf: unit[0] * n + leaf + unit[1] * n,
    st.integers(0, 400),
    st.sampled_from([("(", ")"), ("not ", ""), ("(params.lr > 0 and not ", ")"),
                     ("params.seed = 1 or ", ""), ("metrics.acc < 1 and (", ")")]),
    st.sampled_from(["params.lr > 0", "tags.team ~ 'v*'", "status in ('failed')"]),
)
JUNK = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40),
    st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
)


@FUZZ
@given(text=st.one_of(GRAMMAR, JUNK, DEEP))
def test_any_filter_runs_or_is_a_filter_error(store: Store, text: str) -> None:
    try:
        table = store.query_runs(text, limit=3)
    except FilterError as exc:
        assert exc.reason and 0 <= exc.position <= len(text)
        return
    assert table.total <= 8


@FUZZ
@given(text=st.one_of(
    st.lists(st.builds(lambda f, d: f + d, FIELD, st.sampled_from(["", " asc", " DESC", " up"])),
             max_size=80).map(", ".join),
    JUNK,
))
def test_any_order_by_runs_or_is_a_filter_error(store: Store, text: str) -> None:
    try:
        compile_order(text)
        store.query_runs(None, order_by=text, limit=3)
    except FilterError:
        pass


# -- composition ---------------------------------------------------------------------------
ATOMS = [
    "params.lr > 0.05", "params.lr = null", "params.optimizer ~ 'adam*'",
    "params.seed in (1, '1')", "params.flag = true", "metrics.acc >= 0.9", "metrics.loss != null",
    "tags.team = 'vision'", "tags.note ~ 'RETRY'", "status in ('failed', 'crashed')",
    "name = null", "name ~ 'res'", "ended_at not in (1, 2)", "number <= 4",
    "experiment != 'exp1'", "params.optimizer not in ('sgd')", "started_at > '2023-11-17'",
]
Node = tuple[Any, ...]
NODES: st.SearchStrategy[Node] = st.recursive(
    st.tuples(st.just("atom"), st.integers(0, len(ATOMS) - 1), st.booleans()),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner, st.booleans()),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3),
                  st.booleans()),
    ),
    max_leaves=8,
)
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "atom": 4}


def render(node: Node, outer: int = 0) -> str:
    """The node as filter text: parentheses where precedence needs them, and wherever the
    node's flag asks for redundant ones."""
    op, body, paren = node
    if op == "atom":
        text = ATOMS[body]
    elif op == "not":
        text = "not " + render(body, PRECEDENCE["not"])
    else:
        text = f" {op} ".join(render(child, PRECEDENCE[op]) for child in body)
    needs = PRECEDENCE[op] < outer or (op in ("and", "or") and outer == PRECEDENCE["not"])
    return f"({text})" if needs or paren else text


def evaluate(node: Node, atoms: list[set[str]], everything: set[str]) -> set[str]:
    op, body, _ = node
    if op == "atom":
        return atoms[body]
    if op == "not":
        return everything - evaluate(body, atoms, everything)
    parts = [evaluate(child, atoms, everything) for child in body]
    return set.intersection(*parts) if op == "and" else set.union(*parts)


@FUZZ
@given(node=NODES, negations=st.integers(0, 3))
def test_and_or_not_compose_like_sets(store: Store, node: Node, negations: int) -> None:
    everything = run_ids(store, "")
    atoms = [run_ids(store, atom) for atom in ATOMS]
    text = "not " * negations + render(node, PRECEDENCE["not"] if negations else 0)
    try:
        got = run_ids(store, text)
    except FilterLimitError as exc:
        assume(exc.limit != "depth")  # deeper than allowed: nothing to compare
        raise
    want = evaluate(node, atoms, everything)
    if negations % 2:
        want = everything - want
    assert got == want, text
    # The store ANDs experiment= onto the filter: an OR inside stays grouped.
    exp0 = run_ids(store, "experiment = 'exp0'")
    assert set(store.query_runs(text, experiment="exp0").columns["id"]) == want & exp0, text


# -- PostgreSQL answers as SQLite does ---------------------------------------------------------
def _answer(store: Store, text: str, order_by: str | None) -> Any:
    """The run numbers a filter and ordering give, in order, or the FilterError's text."""
    try:
        return store.query_runs(text, order_by=order_by).columns["number"]
    except FilterError as exc:
        return str(exc)


@FUZZ
@given(text=st.one_of(GRAMMAR, JUNK, DEEP, st.sampled_from(ATOMS)),
       order_by=st.one_of(st.none(), st.builds(lambda f, d: f + d, FIELD,
                                               st.sampled_from(["", " desc"]))))
def test_postgres_gives_what_sqlite_gives(
    sqlite_store: Store, postgres_store: Store, text: str, order_by: str | None
) -> None:
    assert _answer(postgres_store, text, order_by) == _answer(sqlite_store, text, order_by)
