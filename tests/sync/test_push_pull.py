"""`xtrack push` / `pull` between two real SQLite stores: everything of a run copied,
idempotent, changed runs updated, a killed push resumed, parents and children kept."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.store import Store, open_store
from jupyter_xtrack.store.sync import sync_runs


def _make_run(
    store: Store,
    name: str,
    *,
    parent: str | None = None,
    points: int = 5,
    lr: float = 0.1,
    finish: bool = True,
) -> str:
    """A run with something of everything: params, metric points (a NaN among them),
    tags, a code fact and a file in blobs, recorded files and an artifact."""
    run_id, _ = store.create_run(
        name=name,
        parent_id=parent,
        experiment="exp",
        kind="trial" if parent else "cell",
        notebook_path="nb.ipynb",
        cell_id=f"cell-{name}",
    )
    store.set_params(run_id, {"lr": lr, "layers": [64, 32], "opt": "adam"})
    store.set_tags(run_id, {"team": "blue"})
    code = store.put_blob(f"print({name!r})".encode())
    store.set_facts(run_id, code={"blob": code, "size": 12}, env={"python": "3.11"})
    art = store.put_blob(f"model of {name}".encode() * 100)
    store.add_artifact(
        run_id,
        "model.bin",
        blob=art,
        size=len(f"model of {name}") * 100,
        media_type="application/octet-stream",
        meta={"format": "raw"},
    )
    store.record_files(
        run_id,
        [
            {"direction": "input", "path": "data.csv", "hash": code, "size": 3, "status": "read"},
            {
                "direction": "output",
                "path": "out.txt",
                "hash": None,
                "size": None,
                "status": "written",
                "lines": 2,
            },
        ],
    )
    now = time.time()
    pts = [(run_id, "loss", 1.0 / (i + 1), i, now + i) for i in range(points)]
    pts.append((run_id, "acc", math.nan, None, now))
    store.log_metrics(pts)
    if finish:
        store.finish_run(run_id, status="finished", ended_at=now + points)
    return run_id


def _same_run(a: Store, b: Store, run_id: str) -> None:
    ra, rb = a.get_run(run_id), b.get_run(run_id)
    for key in (
        "name",
        "experiment",
        "status",
        "kind",
        "parent_id",
        "children",
        "started_at",
        "ended_at",
        "duration_s",
        "notebook_path",
        "cell_id",
        "params",
        "tags",
        "inputs",
        "outputs",
        "facts",
    ):
        assert ra[key] == rb[key], key
    assert json.dumps(ra["metrics"]) == json.dumps(rb["metrics"])  # NaN included
    assert [{k: v for k, v in x.items() if k != "created_at"} for x in ra["artifacts"]] == [
        {k: v for k, v in x.items() if k != "created_at"} for x in rb["artifacts"]
    ]
    assert a.metric_keys(run_id) == b.metric_keys(run_id)
    for key in a.metric_keys(run_id):
        assert json.dumps(a.metric_history(run_id, key)) == json.dumps(
            b.metric_history(run_id, key)
        )
    for art in ra["artifacts"]:
        assert b.get_blob(art["hash"]) == a.get_blob(art["hash"])
    assert b.get_blob(ra["facts"]["code"]["blob"]) == a.get_blob(ra["facts"]["code"]["blob"])


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Store, Store]:
    return open_store(tmp_path / "local"), open_store(tmp_path / "team")


def _push(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(
        ["push", "--store", str(tmp_path / "local"), "--to", str(tmp_path / "team"), *extra]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_push_copies_runs_with_everything_and_twice_copies_nothing(
    stores: tuple[Store, Store],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, team = stores
    monkeypatch.setenv("XTRACK_USER", "carol")
    parent = _make_run(local, "search")
    children = [_make_run(local, f"trial{i}", parent=parent, lr=i / 10) for i in range(3)]
    monkeypatch.setenv("XTRACK_USER", "dave")
    out = _push(tmp_path, capsys)
    assert "runs: 4 copied, 0 updated, 0 unchanged; blobs: 8 copied" in out
    for run_id in [parent, *children]:
        _same_run(local, team, run_id)
        # who ran it travels with the run, not who pushed it
        assert team.get_run(run_id)["user"] == "carol"
    again = _push(tmp_path, capsys)
    assert "runs: 0 copied, 0 updated, 4 unchanged; blobs: 0 copied (0 B)" in again


def test_a_run_changed_since_is_updated(
    stores: tuple[Store, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local, team = stores
    done = _make_run(local, "done")
    live = _make_run(local, "live", finish=False)
    out = _push(tmp_path, capsys)
    assert "runs: 1 copied" in out and "1 still running (or under a running run)" in out
    with pytest.raises(LookupError):
        team.get_run(live)
    # More points, a new tag and a fact, then the live run ends.
    local.log_metrics([(done, "loss", 0.01, 99, time.time())])
    local.set_tags(done, {"reviewed": "yes"})
    local.set_facts(done, env=None, error={"type": "none"})
    local.log_metrics([(live, "loss", 0.5, 5, time.time())])
    local.finish_run(live, status="failed")
    out = _push(tmp_path, capsys)
    assert "runs: 1 copied, 1 updated, 0 unchanged" in out
    _same_run(local, team, done)
    _same_run(local, team, live)
    assert len(team.metric_history(done, "loss")["value"]) == 6


def test_children_of_a_running_run_wait_for_it(stores: tuple[Store, Store]) -> None:
    local, team = stores
    search = _make_run(local, "search", finish=False)
    trial = _make_run(local, "trial", parent=search)
    summary = sync_runs(local, team)
    assert (summary.copied, summary.running) == (0, 2)
    local.finish_run(search, status="finished")
    summary = sync_runs(local, team)
    assert (summary.copied, summary.running) == (2, 0)
    assert team.get_run(search)["children"] == [trial]


def test_a_filter_brings_parents_and_children_along(stores: tuple[Store, Store]) -> None:
    local, team = stores
    parent = _make_run(local, "search")
    picked = _make_run(local, "picked", parent=parent, lr=0.9)
    _make_run(local, "sibling", parent=parent, lr=0.1)
    grandchild = _make_run(local, "nested", parent=picked, lr=0.2)
    other = _make_run(local, "other", lr=0.3)
    summary = sync_runs(local, team, "params.lr > 0.5")
    assert summary.copied == 4  # picked, its parent, and the parent's other child
    assert set(team.query_runs().ids) == {
        parent,
        picked,
        grandchild,
        *local.get_run(parent)["children"],
    }
    assert other not in team.query_runs().ids
    assert team.get_run(grandchild)["parent_id"] == picked


def test_pull_copies_from_the_team_store(
    stores: tuple[Store, Store],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, team = stores
    run_id = _make_run(team, "teammate")
    monkeypatch.setenv("XTRACK_TEAM_STORE", str(tmp_path / "team"))
    assert main(["pull", "--store", str(tmp_path / "local")]) == 0
    out, err = capsys.readouterr()
    assert "pulled into" in out and "runs: 1 copied" in out
    assert "1/1 runs" in err  # the progress bar, on stderr
    _same_run(team, local, run_id)


def test_push_without_a_team_store_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XTRACK_TEAM_STORE", raising=False)
    assert main(["push", "--store", str(tmp_path / "local")]) == 2
    assert "--to URL or set XTRACK_TEAM_STORE" in capsys.readouterr().err


def test_a_team_url_password_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://alice:pg-Secret-99@db.example/xtrack"
    assert main(["push", "--store", str(tmp_path / "local"), "--to", url]) == 2
    err = capsys.readouterr().err
    assert "postgresql" in err and "pg-Secret-99" not in err


def test_a_killed_push_resumes_and_ends_complete(tmp_path: Path) -> None:
    local = open_store(tmp_path / "local")
    n = 600
    with local.batch():
        ids = [_make_run(local, f"r{i}", points=100) for i in range(n)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [
        sys.executable,
        "-m",
        "jupyter_xtrack.cli",
        "push",
        "--store",
        str(tmp_path / "local"),
        "--to",
        str(tmp_path / "team"),
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert proc.stderr is not None
    seen = b""
    # Runs are committed 100 at a time, after which progress passes 100: kill past that.
    while b"runs" not in seen.rsplit(b"\r", 1)[-1] or _done(seen) < 150:
        chunk = os.read(proc.stderr.fileno(), 256)
        assert chunk, "the push ended before it could be killed"
        seen += chunk
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    team = open_store(tmp_path / "team")
    partial = team.query_runs().ids
    assert 100 <= len(partial) < n
    for run_id in partial:  # whole runs or none: each copied run is complete
        assert len(team.metric_history(run_id, "loss")["value"]) == 100
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    assert f"runs: {n - len(partial)} copied, 0 updated, {len(partial)} unchanged" in result.stdout
    assert set(team.query_runs().ids) == set(ids)
    for run_id in ids[:: n // 10]:
        _same_run(local, team, run_id)


def _done(progress: bytes) -> int:
    last = progress.rsplit(b"\r", 1)[-1].split(b"] ", 1)[-1]
    try:
        return int(last.split(b"/", 1)[0])
    except ValueError:
        return 0


def test_push_to_a_team_store_with_blobs_in_s3(
    stores: tuple[Store, Store],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.store.s3server import bucket_keys, make_bucket, moto_server, use_endpoint

    local, _ = stores
    run_id = _make_run(local, "to-s3")
    with moto_server() as endpoint:
        use_endpoint(monkeypatch, endpoint)
        make_bucket(endpoint, "team-bucket")
        out = _push(tmp_path, capsys, "--artifacts", "s3://team-bucket/xt")
        assert "runs: 1 copied" in out and "blobs: 2 copied" in out
        assert len(bucket_keys(endpoint, "team-bucket")) == 2
        # Pull it into a fresh store: blobs come back from the bucket.
        assert (
            main(
                [
                    "pull",
                    "--store",
                    str(tmp_path / "fresh"),
                    "--from",
                    str(tmp_path / "team"),
                    "--artifacts",
                    "s3://team-bucket/xt",
                ]
            )
            == 0
        )
        assert "runs: 1 copied" in capsys.readouterr().out
        _same_run(local, open_store(tmp_path / "fresh"), run_id)
        assert not any(p.is_file() for p in (tmp_path / "team" / "blobs").rglob("*"))
