"""MLflow's experiment book lives in the store: two servers of one team database (each
with its own local folder) give the same experiments, ids, tags and deletions, and a book
file that an earlier server left in the store's folder is imported on first use."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.server.mlflow.errors import INVALID_STATE, RESOURCE_ALREADY_EXISTS, MlflowError
from jupyter_xtrack.server.mlflow.experiments import BOOK_FILE
from jupyter_xtrack.server.mlflow.mapping import experiment_id
from jupyter_xtrack.server.mlflow.request import Req
from jupyter_xtrack.server.mlflow.service import MlflowService

pytestmark = pytest.mark.filterwarnings("ignore:store .* keeps its blobs:RuntimeWarning")


@pytest.fixture
def two_servers(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MlflowService, MlflowService]]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    a = MlflowService(pg_url, tmp_path / "server-a")
    b = MlflowService(pg_url, tmp_path / "server-b")
    yield a, b
    a.close()
    b.close()


def _experiment(svc: MlflowService, exp_id: str) -> dict[str, Any]:
    body: dict[str, Any] = svc.get_experiment(Req({"experiment_id": exp_id}))["experiment"]
    return body


def _active_names(svc: MlflowService) -> list[str]:
    return [e["name"] for e in svc.search_experiments(Req({}))["experiments"]]


def test_two_servers_of_one_database_share_experiments_tags_and_deletions(
    two_servers: tuple[MlflowService, MlflowService],
) -> None:
    a, b = two_servers
    tags = [{"key": "team", "value": "risk"}]
    exp_id = a.create_experiment(Req({"name": "churn", "tags": tags}))["experiment_id"]
    assert exp_id == experiment_id("churn")
    seen = _experiment(b, exp_id)  # no run has it: known from the store, not from a
    assert (seen["name"], seen["tags"]) == ("churn", tags)
    with pytest.raises(MlflowError) as again:
        b.create_experiment(Req({"name": "churn"}))
    assert again.value.code == RESOURCE_ALREADY_EXISTS
    b.set_experiment_tag(Req({"experiment_id": exp_id, "key": "stage", "value": "dev"}))
    b.delete_experiment_tag(Req({"experiment_id": exp_id, "key": "team"}))
    assert _experiment(a, exp_id)["tags"] == [{"key": "stage", "value": "dev"}]
    assert _experiment(a, exp_id)["creation_time"] == seen["creation_time"]
    a.delete_experiment(Req({"experiment_id": exp_id}))
    assert _experiment(b, exp_id)["lifecycle_stage"] == "deleted"
    assert "churn" not in _active_names(b)
    with pytest.raises(MlflowError) as refused:
        b.create_run(Req({"experiment_id": exp_id}))
    assert refused.value.code == INVALID_STATE
    b.restore_experiment(Req({"experiment_id": exp_id}))
    assert "churn" in _active_names(a)
    assert a.create_run(Req({"experiment_id": exp_id}))["run"]["info"]["experiment_id"] == exp_id


def test_two_servers_creating_one_experiment_at_once_make_it_once(
    two_servers: tuple[MlflowService, MlflowService],
) -> None:
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def create(svc: MlflowService) -> None:
        start.wait()
        try:
            outcomes.append(svc.create_experiment(Req({"name": "race"}))["experiment_id"])
        except MlflowError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=create, args=(svc,)) for svc in two_servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([experiment_id("race"), RESOURCE_ALREADY_EXISTS])


def test_a_book_file_of_an_earlier_server_is_imported_once(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    old = {
        "empty": {"tags": {"k": "v"}, "deleted": False, "created": 1_000, "updated": 2_000},
        "gone": {"tags": {}, "deleted": True, "created": 3_000, "updated": 4_000},
    }
    (folder / BOOK_FILE).write_text(json.dumps(old))
    first = MlflowService(str(folder), folder)
    try:
        names = _active_names(first)
        assert "empty" in names and "gone" not in names
        empty = _experiment(first, experiment_id("empty"))
        assert empty["tags"] == [{"key": "k", "value": "v"}]
        assert (empty["creation_time"], empty["last_update_time"]) == (1_000, 2_000)
        assert _experiment(first, experiment_id("gone"))["lifecycle_stage"] == "deleted"
    finally:
        first.close()
    assert not (folder / BOOK_FILE).exists()
    assert json.loads((folder / f"{BOOK_FILE}.imported").read_text()) == old  # kept aside
    # A later server reads the store (the file is gone), and a change sticks.
    second = MlflowService(str(folder), folder)
    try:
        second.set_experiment_tag(
            Req({"experiment_id": experiment_id("empty"), "key": "k", "value": "w"})
        )
        assert _experiment(second, experiment_id("empty"))["tags"] == [{"key": "k", "value": "w"}]
    finally:
        second.close()
