"""R7: an empty database is moved aside (never silently replaced) and gc then refuses; a
store that cannot be written is read read-only; a store path that is a file says so.

SQLite only: empty, damaged and read-only database files and folders do not exist on a
database server (a role without write access is ReadOnlyStoreError there too)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from jupyter_xtrack.store import (
    ReadOnlyStoreError,
    StoreError,
    open_store,
    open_store_for_reading,
)
from tests.read_only import run_on_read_only_store


def _store_with_a_run(root: Path) -> str:
    with open_store(root) as store:
        blob = store.put_blob(b"the code of run 1")
        run_id, _ = store.create_run(name="kept")
        store.set_facts(run_id, code={"hash": blob})
        store.finish_run(run_id, status="finished")
    return blob


def test_empty_database_is_moved_aside_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "s"
    blob = _store_with_a_run(root)
    (root / "xtrack.db").write_bytes(b"")
    with pytest.warns(RuntimeWarning, match="moved aside") as caught:
        store = open_store(root)
    aside = list(root.glob("xtrack.db.damaged-*"))
    assert len(aside) == 1 and aside[0].stat().st_size == 0
    assert str(aside[0]) in str(caught[0].message)
    with store:
        assert store.blob_path(blob).is_file()
        # The new database starts empty, but gc must not orphan the old runs' blobs.
        with pytest.raises(StoreError, match=r"gc refused.*xtrack\.db\.damaged-"):
            store.gc(min_age_s=0)
        assert store.blob_path(blob).is_file()
        aside[0].unlink()
        assert store.gc(min_age_s=0)[0] == 1


def test_new_and_intact_stores_open_without_warnings(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _store_with_a_run(tmp_path / "s")
        open_store(tmp_path / "s").close()
    assert not list((tmp_path / "s").glob("xtrack.db.damaged-*"))


def test_store_path_that_is_a_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "store"
    path.write_text("not a folder")
    for opener in (open_store, open_store_for_reading):
        with pytest.raises(StoreError, match="the store path .* is a file, not a store folder"):
            opener(path)
    with pytest.raises(StoreError, match="is a file, not a store folder"):
        open_store(path, read_only=True)


def test_read_only_open_reads_and_refuses_writes(tmp_path: Path) -> None:
    root = tmp_path / "s"
    blob = _store_with_a_run(root)
    with open_store(root, read_only=True) as store:
        assert store.query_runs().rows()[0]["name"] == "kept"
        assert store.get_blob(blob) == b"the code of run 1"
        for write in (lambda: store.create_run(), lambda: store.put_blob(b"x"),
                      lambda: store.gc(min_age_s=0)):
            with pytest.raises(ReadOnlyStoreError, match="read-only"):
                write()


def test_read_only_open_of_no_store_does_not_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="there is no store"):
        open_store(tmp_path / "none", read_only=True)
    assert not (tmp_path / "none").exists()


def test_unwritable_store_can_be_read(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _store_with_a_run(root)
    res = run_on_read_only_store(root, f"""
        import json
        from jupyter_xtrack.store import open_store, open_store_for_reading, StoreError
        try:
            open_store({str(root)!r})
        except StoreError as exc:
            refused = str(exc)
        store = open_store_for_reading({str(root)!r})
        print(json.dumps({{"refused": refused, "read_only": store.read_only,
                          "names": [r["name"] for r in store.query_runs().rows()]}}))
    """)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "is read-only" in out["refused"]
    assert out["read_only"] is True and out["names"] == ["kept"]


def test_a_full_disk_is_reported_as_full_not_as_a_damaged_store(tmp_path: Path) -> None:
    """R4: a store on a disk that filled up said "damaged or unreadable ... move xtrack.db
    aside", advice that would orphan every run. A real full file system: a 1 MiB tmpfs in a
    private mount namespace (root only), filled after the store was made."""
    import os
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs in a private namespace")
    disk = tmp_path / "disk"
    disk.mkdir()
    code = (
        "import sys\n"
        f"root = {str(disk)!r}\n"
        "from jupyter_xtrack.store import StoreError, open_store\n"
        "with open_store(root + '/store') as s:\n"
        "    s.create_run(name='kept')\n"
        "with open(root + '/filler', 'wb', buffering=0) as f:  # fill the disk\n"
        "    try:\n"
        "        while True:\n"
        "            f.write(b'x' * 4096)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    open_store(root + '/store').create_run(name='late')\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    script = f"mount -t tmpfs -o size=1m tmpfs {disk} && {sys.executable} -c \"$0\""
    res = subprocess.run(["unshare", "-m", "sh", "-c", script, code], capture_output=True,
                         text=True, env=env, timeout=120)
    if res.returncode != 0 and "mount" in res.stderr and "Traceback" not in res.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr
    assert "is full" in res.stdout, res.stdout
    assert "damaged or unreadable" not in res.stdout and "aside" not in res.stdout
