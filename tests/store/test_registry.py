"""The registry's tables (store/registry.py) on real SQLite stores: version numbers, aliases
and their append-only history, tags, search, concurrency, gc and the migration."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from jupyter_xtrack.store import Store, open_store
from jupyter_xtrack.store.registry import UnknownModelError, VersionSource
from jupyter_xtrack.store.schema import SCHEMA_VERSION, migrate, schema_version

from .conftest import python


def _source(store: Store, content: bytes = b"model") -> VersionSource:
    blob = store.put_blob(content)
    return {
        "run_id": None,
        "artifact": "model.pkl",
        "blob": blob,
        "size": len(content),
        "format": "pickle",
    }


def test_versions_go_up_and_are_never_reused_after_a_delete(store: Store) -> None:
    src = _source(store)
    assert [store.register_model_version("churn", src, user="u")["version"] for _ in range(3)] == [
        1,
        2,
        3,
    ]
    store.delete_model_version("churn", 3, user="u")
    assert store.register_model_version("churn", src, user="u")["version"] == 4
    assert store.register_model_version("other", src, user="u")["version"] == 1
    with pytest.raises(UnknownModelError, match="no version 3"):
        store.get_model_version("churn", 3)


def test_a_deleted_version_is_kept_as_a_deletion(store: Store) -> None:
    src = _source(store)
    store.register_model_version("churn", src, user="u")
    store.register_model_version("fraud", _source(store, b"other"), user="u")
    store.delete_model_version("churn", 1, user="ann", reason="leaks the label")
    store.delete_model_version("fraud", 1, user="bob", at=1234.5)
    deletions = store.model_version_deletions()
    assert [(d["name"], d["version"], d["user"], d["reason"]) for d in deletions] == [
        ("churn", 1, "ann", "leaks the label"),
        ("fraud", 1, "bob", None),
    ]
    assert deletions[0]["blob"] == src["blob"] and deletions[0]["run_id"] is None
    assert deletions[0]["at"] > 1234.5 and deletions[1]["at"] == 1234.5
    assert [d["name"] for d in store.model_version_deletions("fraud")] == ["fraud"]


def test_a_version_6_store_gains_the_deletions_table(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    v6 = sqlite3.connect(root / "xtrack.db", isolation_level=None)
    migrate(v6, root, target=6)
    v6.close()
    store = open_store(root)
    store.register_model_version("churn", _source(store), user="u")
    store.delete_model_version("churn", 1, user="u")
    assert [d["version"] for d in store.model_version_deletions()] == [1]
    store.close()


def test_latest_is_computed_and_reserved(store: Store) -> None:
    src = _source(store)
    for _ in range(2):
        store.register_model_version("churn", src, user="u")
    assert store.get_model_version("churn")["version"] == 2
    assert store.get_model_version("churn", alias="latest")["version"] == 2
    with pytest.raises(ValueError, match="reserved"):
        store.set_model_alias("churn", "latest", 1, user="u")
    with pytest.raises(ValueError, match="reserved"):
        store.register_model_version("churn", src, user="u", aliases=["Latest"])


def test_every_alias_change_is_kept_in_order_and_the_history_is_append_only(
    store: Store,
) -> None:
    src = _source(store)
    store.register_model_version("churn", src, user="ann", aliases=["champion"])
    store.register_model_version("churn", src, user="ann")
    store.set_model_alias(
        "churn", "champion", 2, user="bob", reason="better AUC", evaluation="run-eval"
    )
    store.set_model_alias("churn", "candidate", 1, user="bob")
    store.delete_model_alias("churn", "candidate", user="cy", reason="retired")
    changes = [
        (c["alias"], c["from_version"], c["to_version"], c["user"], c["reason"], c["evaluation"])
        for c in store.model_alias_history("churn")
    ]
    assert changes == [
        ("champion", None, 1, "ann", "set when registered", None),
        ("champion", 1, 2, "bob", "better AUC", "run-eval"),
        ("candidate", None, 1, "bob", None, None),
        ("candidate", 1, None, "cy", "retired", None),
    ]
    assert [c["to_version"] for c in store.model_alias_history("churn", "champion")] == [1, 2]
    assert store.get_model_version("churn", alias="champion")["aliases"] == ["champion"]
    conn = store._conn()  # the database's own trigger refuses, whoever writes
    for statement in (
        "UPDATE model_alias_history SET reason = 'x'",
        "DELETE FROM model_alias_history",
    ):
        with pytest.raises(store._errors, match="append-only"):
            conn.execute(statement)
    assert len(store.model_alias_history("churn")) == 4


def test_deleting_a_version_removes_its_aliases_with_a_history_entry(store: Store) -> None:
    src = _source(store)
    store.register_model_version("churn", src, user="u", aliases=["champion"])
    store.delete_model_version("churn", 1, user="u")
    last = store.model_alias_history("churn")[-1]
    assert (last["from_version"], last["to_version"], last["reason"]) == (
        1,
        None,
        "version 1 deleted",
    )
    with pytest.raises(UnknownModelError, match="no alias 'champion'"):
        store.get_model_version("churn", alias="champion")


def test_search_by_name_tag_and_alias(store: Store) -> None:
    src = _source(store)
    store.register_model_version("churn", src, user="u", tags={"team": "risk"})
    store.register_model_version(
        "churn", src, user="u", tags={"team": "growth"}, aliases=["champion"]
    )
    store.register_model_version("fraud_v2", src, user="u", tags={"team": "risk"})
    store.set_model_tags("fraud_v2", {"owner": "ann"})
    assert [
        (v["name"], v["version"]) for v in store.search_model_versions(tags={"team": "risk"})
    ] == [("churn", 1), ("fraud_v2", 1)]
    assert [v["version"] for v in store.search_model_versions("churn")] == [2, 1]
    assert [v["version"] for v in store.search_model_versions(alias="champion")] == [2]
    assert [v["version"] for v in store.search_model_versions(tags={"team": None})] == [2, 1, 1]
    assert [m["name"] for m in store.search_models("CHU")] == ["churn"]
    store.register_model_version("fraudXv2", src, user="u")
    assert [m["name"] for m in store.search_models("d_v")] == ["fraud_v2"]  # _ is literal
    assert [m["name"] for m in store.search_models("%")] == []  # so is %
    assert [m["name"] for m in store.search_models(tags={"owner": "ann"})] == ["fraud_v2"]
    # a model matches a tag on any of its versions
    assert [m["name"] for m in store.search_models(tags={"team": "growth"})] == ["churn"]
    (churn,) = store.search_models(alias="champion")
    assert (churn["latest_version"], churn["versions"], churn["aliases"]) == (2, 2, {"champion": 2})


def test_unknown_names_and_invalid_ones_say_what_exists(store: Store) -> None:
    store.register_model_version("churn", _source(store), user="u", aliases=["champion"])
    with pytest.raises(UnknownModelError, match="did you mean churn"):
        store.get_model_version("churny")
    with pytest.raises(UnknownModelError, match="versions: 1; aliases: champion=1"):
        store.set_model_alias("churn", "champion", 7, user="u")
    with pytest.raises(ValueError, match="no '/' or '@'"):
        store.register_model_version("a/b", _source(store), user="u")


def test_gc_keeps_a_registered_blob_after_its_run_is_deleted(store: Store) -> None:
    run_id, _ = store.create_run()
    blob = store.put_blob(b"weights")
    store.add_artifact(run_id, "model.pkl", blob=blob, size=7)
    src: VersionSource = {
        "run_id": run_id,
        "artifact": "model.pkl",
        "blob": blob,
        "size": 7,
        "format": "pickle",
    }
    store.register_model_version("churn", src, user="u")
    store.delete_runs([run_id])
    store.gc(min_age_s=0)
    assert store.get_blob(blob) == b"weights"
    assert store.get_model_version("churn")["run_id"] == run_id


def test_a_version_2_store_is_migrated_with_its_runs_kept(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    v2 = sqlite3.connect(root / "xtrack.db", isolation_level=None)
    migrate(v2, root, target=2)
    v2.execute(
        "INSERT INTO runs(id, experiment, status, kind, started_at) "
        "VALUES ('r1', 'default', 'finished', 'cell', 0)"
    )
    v2.close()
    store = open_store(root)
    assert store.resolve_ref(1) == "r1"
    assert store.register_model_version("churn", _source(store), user="u")["version"] == 1
    check = sqlite3.connect(store.db_path)
    assert schema_version(check) == SCHEMA_VERSION  # the registry (3) and what followed
    check.close()
    store.close()


REGISTRAR = """
    import sys, time, pathlib
    from jupyter_xtrack.store import open_store
    root, go = sys.argv[1], pathlib.Path(sys.argv[2])
    store = open_store(root)
    blob = store.put_blob(b"m")
    while not go.exists():
        time.sleep(0.001)
    src = {"run_id": None, "artifact": None, "blob": blob, "size": 1, "format": None}
    print(" ".join(str(store.register_model_version("churn", src, user="p")["version"])
                   for _ in range(20)))
"""


def test_concurrent_registrations_get_distinct_numbers(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    open_store(root).close()
    go = tmp_path / "go"
    procs = [python(REGISTRAR, str(root), str(go)) for _ in range(4)]
    time.sleep(0.5)
    go.touch()
    numbers: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        numbers += [int(n) for n in out.split()]
    assert sorted(numbers) == list(range(1, 81))
