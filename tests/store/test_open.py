"""Opening stores: location rules, URLs, layout, pragmas, migrations, unwritable stores.

SQLite only: these are about the store folder and its database file (layout, pragmas,
permissions); PostgreSQL's opening is tested in test_postgres.py."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_xtrack.store import StoreError, default_store_path, open_store
from jupyter_xtrack.store.schema import SCHEMA_VERSION, migrate, schema_version

from .conftest import python


def test_new_store_has_layout_gitignore_and_wal(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "store"
    with open_store(root) as store:
        assert store.root == root
        assert (root / ".gitignore").read_text().strip() == "*"
        assert (root / "blobs").is_dir()
        assert (root / "xtrack.db").is_file()
    conn = sqlite3.connect(root / "xtrack.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(conn) == SCHEMA_VERSION


def test_store_ignores_itself_for_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    open_store(tmp_path / ".xtrack").close()
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".xtrack" not in status.stdout


def test_default_path_is_next_to_git_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    nested = tmp_path / "repo" / "notebooks" / "deep"
    nested.mkdir(parents=True)
    assert default_store_path(nested) == tmp_path / "repo" / ".xtrack"
    # a worktree or submodule has a .git *file*
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: /elsewhere\n")
    assert default_store_path(tmp_path / "wt") == tmp_path / "wt" / ".xtrack"


def test_default_path_without_git_is_start_dir(tmp_path: Path) -> None:
    if any((p / ".git").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("tmp_path lies inside a git work tree")
    assert default_store_path(tmp_path) == tmp_path / ".xtrack"


def test_path_resolution_env_start_dir_and_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.delenv("XTRACK_STORE", raising=False)
    with open_store(start_dir=tmp_path / "") as s:
        assert s.root == tmp_path / ".xtrack"
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "from-env"))
    with open_store(start_dir=tmp_path) as s:
        assert s.root == tmp_path / "from-env"
    with open_store(f"sqlite:///{tmp_path}/by-url") as s:
        assert s.root == tmp_path / "by-url"
    with open_store(f"file://{tmp_path}/file%20url") as s:
        assert s.root == tmp_path / "file url"
    with open_store(f"sqlite:///{tmp_path}/by-url/xtrack.db") as s:
        assert s.root == tmp_path / "by-url"
    with open_store("relative", start_dir=tmp_path) as s:
        assert s.root == tmp_path / "relative"


def test_unsupported_url_scheme_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="mysql stores are not supported.*postgresql://"):
        open_store("mysql://user@db/xtrack")
    with pytest.raises(StoreError, match="only local stores"):
        open_store("sqlite://otherhost/x")


def test_store_newer_than_code_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path / "s").close()
    conn = sqlite3.connect(tmp_path / "s" / "xtrack.db")
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 999, newer .* upgrade jupyter_xtrack"):
        open_store(tmp_path / "s")


def _old_store(root: Path, version: int) -> None:
    root.mkdir()
    conn = sqlite3.connect(root / "xtrack.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn, root, target=version)
    conn.execute(
        "INSERT INTO runs(id, experiment, status, kind, started_at) "
        "VALUES ('0' || hex(randomblob(15)) || 'a', 'old', 'finished', 'cell', 1.0)"
    )
    conn.close()


def test_two_processes_migrate_an_old_store_at_once(tmp_path: Path) -> None:
    root = tmp_path / "old"
    _old_store(root, version=1)
    go = tmp_path / "go"
    code = """
        import sys, time, pathlib
        from jupyter_xtrack.store import open_store
        go = pathlib.Path(sys.argv[2])
        while not go.exists():
            time.sleep(0.001)
        with open_store(sys.argv[1]) as s:
            print(len(s.query_runs()))
    """
    procs = [python(code, str(root), str(go)) for _ in range(2)]
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        # Running a migration twice would fail on CREATE TABLE in the loser.
        assert proc.returncode == 0, err
        assert out.strip() == "1"
    conn = sqlite3.connect(root / "xtrack.db")
    assert schema_version(conn) == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "archived_outputs" in tables
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_read_only_store_raises_store_error(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    open_store(root).close()
    code = f"""
        from jupyter_xtrack.store import open_store, StoreError
        try:
            open_store({str(root)!r})
        except StoreError as exc:
            print(exc)
        else:
            print("opened")
    """
    if os.geteuid() != 0:
        os.chmod(root / "xtrack.db", 0o444)
        os.chmod(root, 0o555)
        try:
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        finally:
            os.chmod(root, 0o755)
            os.chmod(root / "xtrack.db", 0o644)
    else:
        # Permission bits do not stop root: use a read-only bind mount in a private
        # mount namespace instead.
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare to make a read-only mount as root")
        script = (
            f"mount --bind {root} {root} && mount -o remount,bind,ro {root} && "
            f"{sys.executable} -c {_sh_quote(code)}"
        )
        res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
        if res.returncode != 0 and "mount" in res.stderr:
            pytest.skip(f"cannot make a read-only mount here: {res.stderr.strip()}")
        out = res.stdout
    assert "is read-only" in out and str(root) in out and "XTRACK_STORE" in out


def _sh_quote(text: str) -> str:
    import shlex

    return shlex.quote(__import__("textwrap").dedent(text))


def test_uncreatable_store_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create store .*XTRACK_STORE"):
        open_store(blocker / "store")


def test_deleted_store_is_reported_as_gone(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    store.create_run()
    shutil.rmtree(tmp_path / "s")
    with pytest.raises(StoreError, match="is gone"):
        store.create_run()
    store.close()


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.query_runs()


def test_version_4_indexes_the_datasets_facts_of_an_older_store(tmp_path: Path) -> None:
    """Runs recorded before the dataset index existed find their producers once migrated."""
    root = tmp_path / "v2"
    _old_store(root, version=2)
    conn = sqlite3.connect(root / "xtrack.db", isolation_level=None)
    digest = "xxh3_128:" + "ef" * 16
    for _ in range(2):
        conn.execute(
            "INSERT INTO runs(id, experiment, status, kind, started_at) "
            "VALUES ('0' || hex(randomblob(15)) || 'b', 'old', 'finished', 'cell', 2.0)"
        )
    numbers = [r[0] for r in conn.execute("SELECT number FROM runs ORDER BY number")]
    fact = json.dumps([{"name": "df", "kind": "DataFrame", "hash": digest}])
    for number in numbers[1:]:
        conn.execute("INSERT INTO facts(run, kind, data) VALUES (?, 'datasets', ?)", (number, fact))
    first, last = (
        conn.execute("SELECT id FROM runs WHERE number = ?", (n,)).fetchone()[0]
        for n in (numbers[1], numbers[2])
    )
    conn.close()
    with open_store(root) as store:
        assert store.dataset_producer(digest, run_id=last) == first
