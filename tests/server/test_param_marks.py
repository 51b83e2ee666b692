"""The REST API marks the params that are not plain settings (issue 11, params), so the
sidebar's run detail and Compare can show them: GET runs/{id} `param_marks` and GET compare
`param_marks`, each mark with what it means. Facts written through the store API."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.store import open_store

from .conftest import Populated


@pytest.fixture
def marked(populated: Populated) -> Populated:
    """Run a: lr a loop's last value, model kept as a repr; run b: a long value by digest."""
    with open_store(populated.root) as store:
        a, b = populated.ids["a"], populated.ids["b"]
        store.set_params(b, {"init": "<13559 chars xxh3:0123456789abcdef> [[0.1, 0.2"})
        store.set_facts(
            a, **{Fact.PARAMS_VARYING: {"lr": "varies"}, Fact.PARAMS_FLAGGED: ["model"]}
        )
        store.set_facts(b, **{Fact.PARAMS_FLAGGED: ["init"]})
    return populated


async def test_the_run_detail_marks_its_params(api: Any, marked: Populated) -> None:
    run = await api(f"runs/{marked.ids['a']}", "RunDetail")
    assert {k: m["text"] for k, m in run["param_marks"].items()} == {
        "lr": "↻ varies",
        "model": "(repr)",
    }
    assert "the value it ended with" in run["param_marks"]["lr"]["help"]
    assert (await api(f"runs/{marked.ids['c']}", "RunDetail"))["param_marks"] == {}


async def test_compare_marks_each_runs_params(api: Any, marked: Populated) -> None:
    ids = [marked.ids[k] for k in ("a", "b", "c")]
    got = await api("compare", "Comparison", ids=",".join(ids))
    marks = {k: [m and m["text"] for m in per_run] for k, per_run in got["param_marks"].items()}
    assert marks == {
        "init": [None, "(digest)", None],
        "lr": ["↻ varies", None, None],
        "model": ["(repr)", None, None],
    }
