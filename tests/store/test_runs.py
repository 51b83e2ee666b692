"""Run lifecycle, params/tags/facts/files/artifacts records, refs, deletion, archives."""

from __future__ import annotations

import math
import os
import re
import time

import pytest

from jupyter_xtrack.store import RUN_STATUSES, Store, UnknownRunError


def test_create_run_ids_numbers_and_defaults(store: Store) -> None:
    made = [store.create_run() for _ in range(5)]
    ids = [i for i, _ in made]
    assert [n for _, n in made] == [1, 2, 3, 4, 5]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids == sorted(ids), "ids sort by creation"
    run = store.get_run(ids[0])
    assert run["status"] == "running"
    assert run["experiment"] == "default"
    assert run["kind"] == "cell"
    assert run["pid"] == os.getpid()
    assert run["host"]
    assert run["heartbeat_at"] == pytest.approx(time.time(), abs=60)


def test_create_run_records_what_it_is_given(store: Store) -> None:
    parent, _ = store.create_run(kind="sweep")
    child, _ = store.create_run(
        name="trial-1",
        experiment="exp",
        tags={"team": "vision"},
        parent_id=parent,
        kind="trial",
        notebook_path="nb/train.ipynb",
        cell_id="cell-7",
        started_at=1000.0,
    )
    run = store.get_run(child)
    assert (run["name"], run["experiment"], run["kind"]) == ("trial-1", "exp", "trial")
    assert (run["notebook_path"], run["cell_id"], run["started_at"]) == (
        "nb/train.ipynb",
        "cell-7",
        1000.0,
    )
    assert run["tags"] == {"team": "vision"}
    assert run["parent_id"] == parent
    assert store.get_run(parent)["children"] == [child]


def test_create_run_rejects_bad_kind_and_unknown_parent(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown run kind 'notebook'"):
        store.create_run(kind="notebook")
    with pytest.raises(UnknownRunError):
        store.create_run(parent_id="0" * 32)


def test_finish_run_sets_status_end_and_duration(store: Store) -> None:
    run_id, _ = store.create_run(started_at=100.0)
    store.finish_run(run_id, status="failed", ended_at=112.5)
    run = store.get_run(run_id)
    assert (run["status"], run["ended_at"], run["duration_s"]) == ("failed", 112.5, 12.5)
    with pytest.raises(ValueError, match="unknown run status 'done'"):
        store.finish_run(run_id, status="done")
    assert "crashed" in RUN_STATUSES
    with pytest.raises(UnknownRunError):
        store.finish_run("f" * 32, status="finished")


def test_heartbeat_and_rename(store: Store) -> None:
    run_id, _ = store.create_run()
    store.heartbeat(run_id, at=12345.0)
    store.set_name(run_id, "renamed")
    run = store.get_run(run_id)
    assert (run["heartbeat_at"], run["name"]) == (12345.0, "renamed")


def test_params_keep_their_types_and_upsert(store: Store) -> None:
    run_id, _ = store.create_run()
    params = {
        "lr": 0.001,
        "epochs": 10,
        "big": 2**70,
        "name": "adam",
        "flag": True,
        "none": None,
        "layers": [64, 64],
        "opt": {"beta": [0.9, 0.99]},
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
    }
    store.set_params(run_id, params)
    store.set_params(run_id, {"lr": 0.01})
    got = store.get_run(run_id)["params"]
    assert math.isnan(got.pop("nan"))
    assert got == {**{k: v for k, v in params.items() if k != "nan"}, "lr": 0.01}
    assert type(got["epochs"]) is int and type(got["flag"]) is bool
    assert store.query_runs().columns["params.big"] == [2**70]


def test_tags_are_strings(store: Store) -> None:
    run_id, _ = store.create_run(tags={"a": "1"})
    store.set_tags(run_id, {"b": 2, "a": "one"})  # type: ignore[dict-item]
    assert store.get_run(run_id)["tags"] == {"a": "one", "b": "2"}


def test_facts_replace_by_kind_and_fill_git_columns(store: Store) -> None:
    run_id, _ = store.create_run()
    store.set_facts(run_id, code={"source": "x = 1"}, env={"python": "3.11"})
    store.set_facts(
        run_id, code={"source": "x = 2"}, git={"commit": "abc", "branch": "main", "dirty": True}
    )
    run = store.get_run(run_id)
    assert run["code"] == {"source": "x = 2"}
    assert run["env"] == {"python": "3.11"}
    assert run["git"]["commit"] == "abc"
    table = store.query_runs()
    assert (
        table.columns["git.commit"],
        table.columns["git.branch"],
        table.columns["git.dirty"],
    ) == (
        ["abc"],
        ["main"],
        [True],
    )
    store.set_facts(run_id, env=None)
    assert "env" not in store.get_run(run_id)
    # a fact whose kind is also a run field stays under "facts" only
    store.set_facts(run_id, outputs={"display": 2})
    run = store.get_run(run_id)
    assert run["outputs"] == [] and run["facts"]["outputs"] == {"display": 2}
    assert run["facts"]["code"] == {"source": "x = 2"}


def test_files_and_producer_of(store: Store) -> None:
    maker, _ = store.create_run()
    user, _ = store.create_run()
    h = "xxh3_128:" + "ab" * 16
    store.record_files(
        maker, [{"direction": "output", "path": "out.csv", "hash": h, "size": 3, "status": "ok"}]
    )
    store.record_files(
        user,
        [
            {"direction": "input", "path": "out.csv", "hash": h, "size": 3, "status": "ok"},
            {
                "direction": "input",
                "path": "gone.csv",
                "hash": None,
                "size": None,
                "status": "unreadable",
                "error": "permission denied",
            },
        ],
    )
    assert store.producer_of(h) == maker
    assert store.producer_of(h, exclude_run=maker) is None
    assert store.producer_of("xxh3_128:" + "cd" * 16) is None
    run = store.get_run(user)
    assert [f["path"] for f in run["inputs"]] == ["out.csv", "gone.csv"]
    assert run["inputs"][1]["error"] == "permission denied"
    assert store.get_run(maker)["outputs"][0]["hash"] == h
    later, _ = store.create_run()
    store.record_files(later, [{"direction": "output", "path": "o2.csv", "hash": h, "size": 3}])
    assert store.producer_of(h) == later
    with pytest.raises(ValueError, match="direction"):
        store.record_files(user, [{"direction": "sideways", "path": "x"}])


def test_artifacts(store: Store) -> None:
    run_id, _ = store.create_run()
    blob = store.put_blob(b"model bytes")
    rec = store.add_artifact(
        run_id, "model.pt", blob=blob, size=11, media_type="application/x", meta={"format": "torch"}
    )
    assert rec["hash"] == blob
    [art] = store.artifacts(run_id)
    assert (art["name"], art["hash"], art["size"], art["media_type"], art["meta"]) == (
        "model.pt",
        blob,
        11,
        "application/x",
        {"format": "torch"},
    )
    assert store.artifact_path(run_id, "model.pt").read_bytes() == b"model bytes"
    assert store.get_run(run_id)["artifacts"][0]["name"] == "model.pt"
    with pytest.raises(Exception, match="no artifact 'nope' .*model.pt"):
        store.artifact_path(run_id, "nope")
    with pytest.raises(Exception, match="not in store"):
        store.add_artifact(run_id, "x", blob="xxh3_128:" + "0" * 32, size=1)


def test_resolve_ref_forms_and_errors(store: Store) -> None:
    ids = [store.create_run()[0] for _ in range(3)]
    assert store.resolve_ref(ids[1]) == ids[1]
    assert store.resolve_ref(2) == ids[1]
    assert store.resolve_ref("2") == ids[1]
    assert store.resolve_ref("#2") == ids[1]
    assert store.resolve_ref(ids[2][:20].upper()) == ids[2]
    with pytest.raises(UnknownRunError, match=r"no run #42 in store .* \(runs are #1..#3\)"):
        store.resolve_ref(42)
    with pytest.raises(UnknownRunError, match="ambiguous.*give more characters") as exc:
        store.resolve_ref(ids[0][:4])
    assert ids[0] in str(exc.value) and ids[1] in str(exc.value)
    with pytest.raises(UnknownRunError, match="no run with id starting 'ffff'"):
        store.resolve_ref("ffff")
    with pytest.raises(UnknownRunError, match="not a run reference"):
        store.resolve_ref("ab")


def test_unknown_number_in_empty_store(store: Store) -> None:
    with pytest.raises(UnknownRunError, match="the store has no runs yet"):
        store.get_run(1)


def test_delete_runs_takes_children_and_records(store: Store) -> None:
    parent, _ = store.create_run(kind="sweep")
    child, _ = store.create_run(parent_id=parent, kind="trial")
    grandchild, _ = store.create_run(parent_id=child, kind="trial")
    keep, _ = store.create_run()
    store.set_params(child, {"a": 1})
    store.log_metrics([(grandchild, "m", 1.0, 0, time.time())])
    store.archive_outputs([{"notebook_path": "a.ipynb", "cell_id": "c", "run_id": child}])
    assert store.delete_runs([parent]) == 3
    assert store.query_runs().ids == [keep]
    assert store.archived_outputs("a.ipynb")[0]["run_id"] is None
    with pytest.raises(UnknownRunError):
        store.get_run(grandchild)
    with pytest.raises(UnknownRunError):
        store.delete_runs([keep, "#99"])
    assert store.query_runs().ids == [keep], "nothing deleted when a ref is unknown"
    # numbers are never reused
    assert store.create_run()[1] == 5


def test_archived_outputs_and_run_for_cell(store: Store) -> None:
    run_id, _ = store.create_run(cell_id="cell-1", notebook_path="a.ipynb")
    later, _ = store.create_run(cell_id="cell-1", notebook_path="a.ipynb")
    blob = store.put_blob(b'[{"output_type": "stream"}]')
    store.archive_outputs(
        [
            {
                "notebook_path": "a.ipynb",
                "cell_id": "cell-1",
                "source_hash": "s1",
                "notebook_hash": "n1",
                "outputs_blob": blob,
                "execution_count": 3,
                "run_id": run_id,
            },
            {
                "notebook_path": "a.ipynb",
                "cell_id": "cell-2",
                "source_hash": "s2",
                "notebook_hash": "n1",
                "outputs_blob": blob,
                "execution_count": 4,
                "run_id": None,
            },
            {
                "notebook_path": "b.ipynb",
                "cell_id": "x",
                "source_hash": "s3",
                "notebook_hash": "n2",
                "outputs_blob": blob,
                "execution_count": 1,
                "run_id": None,
            },
        ]
    )
    got = store.archived_outputs("a.ipynb")
    assert [r["cell_id"] for r in got] == ["cell-2", "cell-1"], "newest first"
    assert got[1]["run_id"] == run_id and got[1]["execution_count"] == 3
    assert got[1]["outputs_blob"] == blob and got[1]["archived_at"] > 0
    assert store.run_for_cell("cell-1") == later
    assert store.run_for_cell("nope") is None


def test_store_is_usable_from_many_threads(store: Store) -> None:
    import threading

    run_id, _ = store.create_run()
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(50):
                store.log_metrics([(run_id, f"t{k}", float(i), i, time.time())])
                store.query_runs(limit=1)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(len(store.metric_history(run_id, f"t{k}")["value"]) == 50 for k in range(4))


def test_get_tag_reads_one_tag_or_none(store: Store) -> None:
    rid, _ = store.create_run()
    store.set_tags(rid, {"xtrack.job.cancel": "requested", "other": "x"})
    assert store.get_tag(rid, "xtrack.job.cancel") == "requested"
    assert store.get_tag(rid, "missing") is None
    assert store.get_tag("no-such-run", "other") is None


def test_child_counts_count_each_parents_children(store: Store) -> None:
    parent, _ = store.create_run()
    lone, _ = store.create_run()
    for _ in range(3):
        store.create_run(parent_id=parent)
    assert store.child_counts([parent, lone, "unknown"]) == {parent: 3, lone: 0, "unknown": 0}
    assert store.child_counts([]) == {}


def test_cell_ids_of_runs_that_have_one(store: Store) -> None:
    in_cell, _ = store.create_run(cell_id="cell-1")
    script, _ = store.create_run()
    assert store.cell_ids([in_cell, script, in_cell, "unknown"]) == {in_cell: "cell-1"}


def _fp(name: str, digest: str | None) -> dict[str, object]:
    return {"name": name, "kind": "DataFrame", "shape": [3, 2], "hash": digest}


def test_dataset_producer_is_the_earliest_earlier_holder(store: Store) -> None:
    """A fingerprint names the run that first held that content, never the run itself nor a
    later one, and follows the datasets fact when it is replaced or the run deleted."""
    h, other = "xxh3_128:" + "ab" * 16, "xxh3_128:" + "cd" * 16
    maker, _ = store.create_run()
    reader, _ = store.create_run()
    later, _ = store.create_run()
    store.set_facts(maker, datasets=[_fp("df", h), _fp("bad", None)])
    store.set_facts(reader, datasets=[_fp("df", h), _fp("X", other)])
    store.set_facts(later, datasets=[_fp("df2", h)])
    assert store.dataset_producer(h, run_id=reader) == maker
    assert store.dataset_producer(h, run_id=later) == maker
    assert store.dataset_producer(h, run_id=maker) is None  # maker made it
    assert store.dataset_producer(other, run_id=reader) is None
    store.set_facts(maker, datasets=[_fp("df", other)])  # a replaced fact re-indexes
    assert store.dataset_producer(h, run_id=later) == reader
    store.delete_runs([reader])
    assert store.dataset_producer(h, run_id=later) is None


def test_every_run_records_who_ran_it_and_is_filterable_by_user(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    login, _ = store.create_run()
    monkeypatch.setenv("XTRACK_USER", "alice")
    alice, _ = store.create_run()
    copied, _ = store.create_run(user="bob")  # a copy from another store keeps its user
    assert store.get_run(login)["user"] == getpass.getuser()
    assert store.get_run(alice)["user"] == "alice"
    assert store.get_run(copied)["user"] == "bob"
    assert store.query_runs("user = 'alice'").ids == [alice]
    assert set(store.query_runs("user in ('alice', 'bob')").ids) == {alice, copied}
    assert store.query_runs(order_by="number").columns["user"] == [getpass.getuser(), "alice", "bob"]


def test_change_signature_moves_with_every_commit_and_not_with_reads(store: Store) -> None:
    before = store.change_signature()
    store.query_runs()
    assert store.change_signature() == before
    run_id, _ = store.create_run()
    after_create = store.change_signature()
    assert after_create != before
    store.get_run(run_id)
    assert store.change_signature() == after_create
    store.set_tags(run_id, {"k": "v"})
    assert store.change_signature() != after_create


def test_count_runs_by_a_plain_field_most_runs_first(store: Store) -> None:
    parent, _ = store.create_run(kind="sweep", user="carol")
    for user in ("alice", "bob", "alice", "alice", "bob", "dave"):
        store.create_run(kind="trial", parent_id=parent, user=user)
    assert store.count_runs_by("user") == [("alice", 3), ("bob", 2), ("carol", 1), ("dave", 1)]
    assert store.count_runs_by("user", "user != 'alice'", limit=2) == [("bob", 2), ("carol", 1)]
    assert store.count_runs_by("kind", parent_id=parent) == [("trial", 6)]
    assert store.count_runs_by("user", "user = 'nobody'") == []
    with pytest.raises(ValueError, match="cannot count runs by"):
        store.count_runs_by("metrics.acc")
