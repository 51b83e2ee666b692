"""R4 through a real server: a run that lost points to a full disk is marked `incomplete`
in the run list (whatever columns are asked for) and in its detail, with its counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.disk_full import run_disk_full_scenario

pytestmark = pytest.mark.slow


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    run_disk_full_scenario(tmp_path)
    return tmp_path / "store"


async def test_an_incomplete_run_is_marked_in_the_list_and_its_detail(api: Any) -> None:
    page = await api("runs", "RunPage", order_by="number")
    assert [r["incomplete"] for r in page["runs"]] == [True, False]
    narrow = await api("runs", "RunPage", order_by="number", columns="metrics.*")
    assert [r["incomplete"] for r in narrow["runs"]] == [True, False]
    assert not any(c.startswith("tags.") for c in narrow["columns"])
    run = await api("runs/1", "RunDetail")
    assert run["incomplete"] is True
    assert run["not_stored"]["points"] > 0 and "is full" in run["not_stored"]["reason"]
    assert run["not_stored"]["points"] + run["metrics"]["x"] + 1 == 50_000  # x counts 0, 1, ...
    assert (await api("runs/2", "RunDetail"))["incomplete"] is False
