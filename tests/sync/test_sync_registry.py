"""`xtrack push` / `pull` copy the model registry with the runs: versions under their own
numbers with their runs, blobs, tags, descriptions and aliases; idempotent, resumable, and
a version that differs under the same number is reported, never overwritten. The team
store is a folder and a PostgreSQL database (`team_location`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.store import Store, open_store, sync
from jupyter_xtrack.store.registry import COPIED_FROM_TAG, VersionSource
from jupyter_xtrack.store.sync import sync_runs
from tests.store.conftest import open_quietly

pytestmark = pytest.mark.filterwarnings("ignore:store .* keeps its blobs:RuntimeWarning")


def _model_run(store: Store, name: str, *, finish: bool = True) -> VersionSource:
    """A run with a model artifact; the source of a version made from it."""
    run_id, _ = store.create_run(name=name, experiment="exp")
    payload = f"weights of {name}".encode() * 50
    blob = store.put_blob(payload)
    store.add_artifact(run_id, "model.pkl", blob=blob, size=len(payload))
    if finish:
        store.finish_run(run_id, status="finished")
    return {
        "run_id": run_id,
        "artifact": "model.pkl",
        "blob": blob,
        "size": len(payload),
        "format": "pickle",
    }


def _register(store: Store, name: str, source: VersionSource, **kw: Any) -> int:
    return store.register_model_version(name, source, user="carol", **kw)["version"]


def _push(local: Path, team: str, capsys: pytest.CaptureFixture[str], code: int = 0) -> str:
    assert main(["push", "--store", str(local), "--to", team]) == code
    out, err = capsys.readouterr()
    return out + err


def _versions(store: Store, name: str) -> list[dict[str, Any]]:
    """The versions of `name` by number, without the tag saying where a copy came from."""
    found = sorted(store.search_model_versions(name), key=lambda v: v["version"])
    return [
        {**v, "tags": {k: t for k, t in v["tags"].items() if k != COPIED_FROM_TAG}} for v in found
    ]


@pytest.fixture
def local(tmp_path: Path) -> Store:
    return open_store(tmp_path / "local")


def test_push_copies_models_with_versions_runs_blobs_and_aliases_once(
    local: Store, tmp_path: Path, team_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = (_model_run(local, n) for n in "abc")
    _register(local, "churn", a, tags={"data": "v1"}, description="first", aliases=["champion"])
    _register(local, "churn", b)
    _register(local, "churn", c, tags={"data": "v2"}, aliases=["challenger"])
    local.delete_model_version("churn", 2, user="carol", reason="bad split")
    local.set_model_tags("churn", {"owner": "risk"})
    local.set_model_description("churn", "who leaves next month")
    local.set_model_alias("churn", "champion", 3, user="dave", reason="better AUC")

    out = _push(tmp_path / "local", team_location, capsys)
    assert "runs: 3 copied" in out
    assert "model versions: 2 copied, 0 updated, 0 unchanged; aliases: 2 set" in out
    assert "2/2 model versions" in out  # the progress bar's second phase
    with open_quietly(team_location) as team:
        assert _versions(team, "churn") == _versions(local, "churn")  # numbers 1 and 3
        model = team.search_models("churn")[0]
        assert (model["description"], model["tags"]) == ("who leaves next month", {"owner": "risk"})
        assert model["aliases"] == {"champion": 3, "challenger": 3}
        moved = team.model_alias_history("churn", "champion")[-1]
        assert (moved["to_version"], moved["user"], moved["reason"]) == (3, "dave", "better AUC")
        for version in team.search_model_versions("churn"):
            assert version["tags"][COPIED_FROM_TAG] == str(tmp_path / "local")
            assert team.get_run(version["run_id"])["status"] == "finished"
            assert team.get_blob(version["blob"]) == local.get_blob(version["blob"])
        history = team.model_alias_history("churn")
        # Numbers are never reused at the target either: the next one follows 3.
        assert _register(team, "churn", a) == 4
    again = _push(tmp_path / "local", team_location, capsys)
    assert "model versions: 0 copied, 0 updated, 2 unchanged; aliases: 0 set" in again
    assert "models' tags or description updated" not in again
    with open_quietly(team_location) as team:
        assert team.model_alias_history("churn") == history
    local.set_model_description("churn", "who leaves this quarter")
    local.set_model_tags("churn", {"reviewed": "yes"}, version=3)
    out = _push(tmp_path / "local", team_location, capsys)
    assert "model versions: 0 copied, 1 updated, 1 unchanged" in out
    assert "1 models' tags or description updated" in out
    with open_quietly(team_location) as team:
        assert team.search_models("churn")[0]["description"] == "who leaves this quarter"
        assert team.get_model_version("churn", 3)["tags"] == {
            "data": "v2",
            "reviewed": "yes",
            COPIED_FROM_TAG: str(tmp_path / "local"),
        }


def test_a_version_that_differs_under_the_same_number_is_reported_never_overwritten(
    local: Store, tmp_path: Path, team_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, same = _model_run(local, "mine"), _model_run(local, "same")
    _register(local, "churn", mine)
    _register(local, "fraud", same, tags={"new": "yes"})
    with open_quietly(team_location) as team:
        # The team registered another model as churn v1, and the same one as fraud v1.
        theirs = _model_run(team, "theirs")
        assert _register(team, "churn", theirs) == 1
        assert _register(team, "fraud", same) == 1
    out = _push(tmp_path / "local", team_location, capsys, code=1)
    assert "model versions: 0 copied, 1 updated, 0 unchanged" in out
    assert "1 conflicts, not copied" in out
    assert "xtrack: conflict: model 'churn' version 1: the target's is another model" in out
    with open_quietly(team_location) as team:
        assert team.get_model_version("churn", 1)["run_id"] == theirs["run_id"]
        assert team.get_model_version("fraud", 1)["tags"] == {"new": "yes"}


def test_an_alias_moves_to_the_latest_change_either_way(
    local: Store, tmp_path: Path, team_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _model_run(local, "first"), _model_run(local, "second")
    _register(local, "churn", first, aliases=["champion"])
    _register(local, "churn", second)
    _push(tmp_path / "local", team_location, capsys)
    local.set_model_alias("churn", "champion", 2, user="carol", reason="retrained")
    assert "aliases: 1 set" in _push(tmp_path / "local", team_location, capsys)
    with open_quietly(team_location) as team:
        assert team.get_model_version("churn", alias="champion")["version"] == 2
        # A teammate moves it back after that: the stale local alias does not win...
        team.set_model_alias("churn", "champion", 1, user="dave", reason="rollback")
    out = _push(tmp_path / "local", team_location, capsys, code=1)
    assert "alias 'champion': moved to version 1 in the target after this store" in out
    with open_quietly(team_location) as team:
        assert team.get_model_version("churn", alias="champion")["version"] == 1
        # ...and a pull brings the teammate's move home, with who made it and why.
        summary = sync_runs(team, local)
    assert (summary.registry.aliases, summary.registry.conflicts) == (1, [])
    change = local.model_alias_history("churn", "champion")[-1]
    assert (change["to_version"], change["user"], change["reason"]) == (1, "dave", "rollback")


def test_a_version_waits_for_its_running_run_and_a_filter_picks_versions(
    local: Store, team_location: str
) -> None:
    live = _model_run(local, "live", finish=False)
    done = _model_run(local, "done")
    _register(local, "churn", live)
    _register(local, "fraud", done)
    with open_quietly(team_location) as team:
        summary = sync_runs(local, team, "name = 'live'")
        assert (summary.registry.copied, summary.registry.waiting) == (0, 1)
        assert team.search_models() == []  # fraud's run is not selected
        local.finish_run(live["run_id"] or "", status="finished")
        summary = sync_runs(local, team)
        assert (summary.registry.copied, summary.registry.waiting) == (2, 0)


class _Stop(Exception):
    pass


def test_an_interrupted_copy_resumes(
    local: Store, team_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "VERSIONS_PER_TRANSACTION", 2)  # 100 in use: 5 are one group
    for i in range(5):
        _register(local, "churn", _model_run(local, f"r{i}"))

    def stop_after_two(done: int, total: int, what: str) -> None:
        if what == "model versions" and done == 2:
            raise _Stop

    with open_quietly(team_location) as team:
        with pytest.raises(_Stop):
            sync_runs(local, team, progress=stop_after_two)
        assert [v["version"] for v in _versions(team, "churn")] == [1, 2]
        summary = sync_runs(local, team)
        assert (summary.registry.copied, summary.registry.skipped) == (3, 2)
        assert _versions(team, "churn") == _versions(local, "churn")


def test_a_pulled_pickle_loads_only_when_trusted_but_ones_own_pushed_back_does(
    local: Store, tmp_path: Path, team_location: str
) -> None:
    import pickle

    from jupyter_xtrack.registry import Registry
    from jupyter_xtrack.registry.loading import UntrustedModelError

    def pickled_run(store: Store, name: str, obj: object) -> VersionSource:
        run_id, _ = store.create_run(name=name)
        data = pickle.dumps(obj)
        blob = store.put_blob(data)
        store.add_artifact(run_id, "model.pkl", blob=blob, size=len(data))
        store.finish_run(run_id, status="finished")
        return {
            "run_id": run_id,
            "artifact": "model.pkl",
            "blob": blob,
            "size": len(data),
            "format": "pickle",
        }

    _register(local, "mine", pickled_run(local, "mine", {"who": "me"}))
    with open_quietly(team_location) as team:
        _register(team, "theirs", pickled_run(team, "theirs", {"who": "dave"}))
        sync_runs(local, team)
        summary = sync_runs(team, local)  # my own version comes back unchanged
        assert (summary.registry.copied, summary.registry.skipped) == (1, 1)
    registry = Registry(local)
    assert registry.load("models:/mine/1") == {"who": "me"}  # owned, never copied
    with pytest.raises(UntrustedModelError, match="copied from store"):
        registry.load("models:/theirs/1")
    assert registry.load("models:/theirs/1", trusted=True) == {"who": "dave"}


def test_a_deleted_version_is_deleted_in_the_target_and_never_copied_back(
    local: Store, tmp_path: Path, team_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _model_run(local, "first"), _model_run(local, "second")
    _register(local, "churn", first)
    _register(local, "churn", second, aliases=["champion"])
    _push(tmp_path / "local", team_location, capsys)
    local.delete_model_version("churn", 2, user="carol", reason="leaks the label")
    gone = local.model_version_deletions("churn")
    assert [(d["version"], d["run_id"], d["blob"], d["user"], d["reason"]) for d in gone] == [
        (2, second["run_id"], second["blob"], "carol", "leaks the label")
    ]

    out = _push(tmp_path / "local", team_location, capsys)
    assert "1 unchanged, 1 deleted; aliases: 0 set" in out
    with open_quietly(team_location) as team:
        assert [v["version"] for v in _versions(team, "churn")] == [1]
        assert team.search_models("churn")[0]["aliases"] == {}  # went with its version
        deletion = team.model_version_deletions("churn")[0]
        assert (deletion["user"], deletion["reason"], deletion["at"]) == (
            "carol",
            "leaks the label",
            gone[0]["at"],
        )
        assert _register(team, "churn", first) == 3  # its number is not reused there either
    again = _push(tmp_path / "local", team_location, capsys)
    assert "deleted" not in again.split("model versions:")[1].split(";")[0]  # once only

    # A teammate deletes version 1 in the team store: a pull deletes it here too, and a
    # push from a store that still holds it does not bring it back.
    elsewhere = open_store(tmp_path / "elsewhere")
    with open_quietly(team_location) as team:
        assert sync_runs(team, elsewhere).registry.copied == 2  # versions 1 and 3
        team.delete_model_version("churn", 1, user="dave", reason="retired")
        summary = sync_runs(team, local)
    assert summary.registry.deleted == 1 and summary.registry.conflicts == []
    assert [v["version"] for v in _versions(local, "churn")] == [3]  # 3 came with the pull
    with open_quietly(team_location) as team:
        summary = sync_runs(elsewhere, team)
        assert (summary.registry.left_deleted, summary.registry.copied) == (1, 0)
        assert "1 versions deleted in the target, not copied again" in str(summary)
        assert [v["version"] for v in _versions(team, "churn")] == [3]


def test_a_removed_alias_is_removed_in_the_target_unless_set_there_since(
    local: Store, tmp_path: Path, team_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _model_run(local, "first"), _model_run(local, "second")
    _register(local, "churn", first, aliases=["champion", "shadow"])
    _register(local, "churn", second)
    _push(tmp_path / "local", team_location, capsys)
    local.delete_model_alias("churn", "champion", user="carol", reason="under review")
    out = _push(tmp_path / "local", team_location, capsys)
    assert "aliases: 0 set, 1 removed" in out
    with open_quietly(team_location) as team:
        assert team.search_models("churn")[0]["aliases"] == {"shadow": 1}
        removal = team.model_alias_history("churn", "champion")[-1]
        assert (removal["to_version"], removal["user"], removal["reason"]) == (
            None,
            "carol",
            "under review",
        )
        # A teammate sets it again afterwards: the older local removal does not undo that,
        team.set_model_alias("churn", "champion", 2, user="dave", reason="approved")
    assert "aliases: 0 set\n" in _push(tmp_path / "local", team_location, capsys)
    with open_quietly(team_location) as team:
        assert team.search_models("churn")[0]["aliases"]["champion"] == 2
        # and a pull brings it home.
        assert sync_runs(team, local).registry.aliases == 1
    assert local.get_model_version("churn", alias="champion")["version"] == 2

    # The other way: the team removes an alias that this store still holds from before:
    # a push does not set it again (reported), a pull removes it here.
    with open_quietly(team_location) as team:
        team.delete_model_alias("churn", "shadow", user="dave", reason="unused")
    out = _push(tmp_path / "local", team_location, capsys, code=1)
    assert "alias 'shadow': removed in the target after this store moved it to 1" in out
    with open_quietly(team_location) as team:
        assert "shadow" not in team.search_models("churn")[0]["aliases"]
        assert sync_runs(team, local).registry.aliases_removed == 1
    assert local.search_models("churn")[0]["aliases"] == {"champion": 2}
