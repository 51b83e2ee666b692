"""Which way a metric is better when its name does not say: a real sweep records the direction
it optimised its metric in, and `GET compare` of its trials reads it from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.sweep import SweepResult, sweep


@pytest.fixture
def swept(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SweepResult]:
    """A 3-trial sweep minimising `score` (a name that says no direction); each trial also
    logs `mystery`, which no search optimised."""
    from jupyter_xtrack import api
    from jupyter_xtrack.tracking.session import CONTEXT

    api.flush()
    CONTEXT.reset()
    CONTEXT.start_dir = str(workdir)
    monkeypatch.setenv("XTRACK_STORE", str(workdir / ".xtrack"))

    def objective(x: float) -> float:
        xt.log(mystery=x * 2)
        return (x - 0.3) ** 2

    result = sweep(
        objective,
        {"x": "uniform(0, 1)"},
        trials=3,
        metric="score",
        direction="minimize",
        seed=0,
        show=False,
    )
    assert isinstance(result, SweepResult)
    xt.flush()
    yield result
    api.flush()
    CONTEXT.reset()


@pytest.fixture
def store_path(swept: SweepResult, workdir: Path) -> Path:
    return workdir / ".xtrack"


async def test_a_sweeps_recorded_direction_decides_its_metric(api: Any, swept: SweepResult) -> None:
    ids = ",".join(t.run_id for t in swept.trials)
    comp = await api("compare", "Comparison", ids=ids)
    assert comp["directions"]["score"] == "minimize"  # the name alone says nothing
    assert comp["direction_sources"]["score"] == "recorded"
    assert comp["directions"]["mystery"] is None
    assert comp["direction_sources"]["mystery"] is None


async def test_the_sweep_run_itself_holds_the_record(api: Any, swept: SweepResult) -> None:
    comp = await api("compare", "Comparison", ids=f"{swept.trials[0].run_id},{swept.run_id}")
    assert comp["directions"]["score"] == "minimize"
    assert comp["direction_sources"]["score"] == "recorded"
