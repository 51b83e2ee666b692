"""FileAccessRecorder with real readers and writers."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_xtrack.capture.data import FileAccessRecorder


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


def record(fn) -> list[dict[str, str]]:
    rec = FileAccessRecorder()
    rec.start()
    try:
        fn()
    finally:
        out = rec.stop()
    return out


def test_plain_open_read_write_and_readwrite(tmp_path: Path) -> None:
    r, w, rw = tmp_path / "r.txt", tmp_path / "w.txt", tmp_path / "rw.txt"
    r.write_text("x")
    rw.write_text("x")

    def cell() -> None:
        r.read_text()
        w.write_text("y")
        with open(rw, "r+") as f:
            f.write("z")
        with open(r, "a"):
            pass

    assert record(cell) == [
        {"path": str(r), "mode": "rw"},  # read, then appended to
        {"path": str(w), "mode": "w"},
        {"path": str(rw), "mode": "rw"},
    ]


def test_os_open_and_relative_paths(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "rel.bin").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)

    def cell() -> None:
        os.close(os.open("rel.bin", os.O_RDONLY))
        os.close(os.open("out.bin", os.O_WRONLY | os.O_CREAT))

    assert record(cell) == [
        {"path": str(tmp_path / "rel.bin"), "mode": "r"},
        {"path": str(tmp_path / "out.bin"), "mode": "w"},
    ]


@pytest.mark.parametrize(
    ("suffix", "write", "read"),
    [
        ("csv", lambda d, p: d.to_csv(p), pd.read_csv),
        ("json", lambda d, p: d.to_json(p), pd.read_json),
        ("pkl", lambda d, p: d.to_pickle(p), pd.read_pickle),
        ("parquet", lambda d, p: d.to_parquet(p), pd.read_parquet),
        ("feather", lambda d, p: d.to_feather(p), pd.read_feather),
    ],
)
def test_pandas_readers_and_writers(tmp_path: Path, df: pd.DataFrame, suffix, write, read) -> None:
    src, dst = tmp_path / f"in.{suffix}", tmp_path / f"out.{suffix}"
    write(df, src)
    out = record(lambda: write(read(src), dst))
    assert out == [{"path": str(src), "mode": "r"}, {"path": str(dst), "mode": "w"}]


def test_pyarrow_parquet_read_and_write_table(tmp_path: Path, df: pd.DataFrame) -> None:
    import pyarrow.parquet as pq

    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.to_parquet(src)
    out = record(lambda: pq.write_table(pq.read_table(str(src)), str(dst)))
    assert out == [{"path": str(src), "mode": "r"}, {"path": str(dst), "mode": "w"}]


def test_numpy_load_and_loadtxt(tmp_path: Path) -> None:
    npy, txt = tmp_path / "a.npy", tmp_path / "a.txt"
    np.save(npy, np.arange(3))
    np.savetxt(txt, np.arange(3))
    out = record(lambda: (np.load(npy), np.loadtxt(txt)))
    assert out == [{"path": str(npy), "mode": "r"}, {"path": str(txt), "mode": "r"}]


def test_torch_save_and_load(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    torch.save(torch.ones(2), a)
    out = record(lambda: torch.save(torch.load(a), b))
    assert out == [{"path": str(a), "mode": "r"}, {"path": str(b), "mode": "w"}]


def test_other_threads_are_ignored_unless_named(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine.txt", tmp_path / "theirs.txt"
    mine.write_text("x")
    theirs.write_text("x")

    def cell() -> None:
        t = threading.Thread(target=theirs.read_text)
        t.start()
        t.join()
        mine.read_text()

    assert record(cell) == [{"path": str(mine), "mode": "r"}]

    # a worker thread can be named explicitly
    ready, go = threading.Event(), threading.Event()
    worker = threading.Thread(target=lambda: (ready.set(), go.wait(), theirs.read_text()))
    worker.start()
    ready.wait()
    rec = FileAccessRecorder()
    rec.start({threading.get_ident(), worker.ident})  # type: ignore[arg-type]
    go.set()
    worker.join()
    assert rec.stop() == [{"path": str(theirs), "mode": "r"}]


def test_ignores_directories_system_and_tracker_files(tmp_path: Path) -> None:
    store = tmp_path / ".xtrack"
    store.mkdir()
    (store / "runs.db").write_text("x")
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")

    def cell() -> None:
        os.close(os.open(tmp_path, os.O_RDONLY))  # a directory
        open(store / "runs.db").close()
        open("/proc/self/status").read()
        open(os.__file__).read()  # the standard library
        open(np.__file__).read()  # site-packages
        (tmp_path / "helper.py").write_text("x = 1\n")  # code, not data
        pd.read_csv(data)

    assert record(cell) == [{"path": str(data), "mode": "r"}]


def test_nothing_recorded_after_stop_and_recorders_are_independent(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("x")
    b.write_text("x")
    outer, inner = FileAccessRecorder(), FileAccessRecorder()
    outer.start()
    a.read_text()
    inner.start()
    b.read_text()
    assert inner.stop() == [{"path": str(b), "mode": "r"}]
    assert outer.recording and not inner.recording
    assert outer.stop() == [{"path": str(a), "mode": "r"}, {"path": str(b), "mode": "r"}]
    a.read_text()
    assert outer.stop() == []


def test_bad_paths_do_not_break_the_open_call(tmp_path: Path) -> None:
    def cell() -> None:
        with pytest.raises(FileNotFoundError):
            open(tmp_path / "missing.txt")

    # a failed open was still an attempt to read that file
    assert record(cell) == [{"path": str(tmp_path / "missing.txt"), "mode": "r"}]


def test_system_and_library_data_files_are_not_inputs(tmp_path: Path) -> None:
    import mimetypes
    import zoneinfo

    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    system = [p for p in ("/usr/share/zoneinfo/UTC", "/etc/mime.types") if os.path.exists(p)]
    assert system, "this machine has none of the system files this test opens"

    def cell() -> None:
        zoneinfo.ZoneInfo.no_cache("UTC")  # what the pandas import does
        mimetypes.init()  # reads /etc/mime.types
        for p in system:
            open(p, "rb").close()
        open(os.path.join(sys.prefix, "pyvenv.cfg")).close()  # the interpreter's prefix
        pd.read_csv(data)

    assert record(cell) == [{"path": str(data), "mode": "r"}]


def test_a_file_the_run_wrote_is_its_output_not_its_input(tmp_path: Path) -> None:
    out, scratch, old = tmp_path / "out.csv", tmp_path / "scratch.bin", tmp_path / "old.txt"
    old.write_text("before")

    def cell() -> None:
        pd.DataFrame({"a": [1]}).to_csv(out)
        pd.read_csv(out)  # read back: still only an output
        with open(scratch, "w+b") as f:  # w+ reads back only what it wrote
            f.write(b"x")
            f.seek(0)
            f.read()
        scratch.unlink()  # created and deleted by the run: neither input nor output
        old.write_text("after")
        old.read_text()
        np.save(tmp_path / "a.npy", np.arange(3))
        np.load(tmp_path / "a.npy")

    assert record(cell) == [
        {"path": str(out), "mode": "w"},
        {"path": str(old), "mode": "w"},
        {"path": str(tmp_path / "a.npy"), "mode": "w"},
    ]


def test_rmtree_of_a_relative_folder_leaves_no_inputs(tmp_path: Path, monkeypatch) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    for sub in ("cachedir/a/b", "cachedir/c"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "f.bin").write_bytes(b"x")
    (tmp_path / "a").mkdir()  # a folder of the same name in the working directory

    assert record(lambda: shutil.rmtree("cachedir")) == []
    assert not (tmp_path / "cachedir").exists()


def test_dir_fd_opens_resolve_against_their_directory(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"in the folder")
    (tmp_path / "data.bin").write_bytes(b"in the working directory")
    monkeypatch.chdir(tmp_path)

    def cell() -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.close(os.open("data.bin", os.O_RDONLY, dir_fd=fd))
            os.close(os.open("new.bin", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        finally:
            os.close(fd)

    assert record(cell) == [
        {"path": str(folder / "data.bin"), "mode": "r"},
        {"path": str(folder / "new.bin"), "mode": "w"},
    ]
    # callers that test os.supports_dir_fd still take their dir_fd code path
    assert os.open in os.supports_dir_fd


@pytest.mark.parametrize(
    ("mode", "flags", "kind"),
    [
        ("r", 0, "r"),
        ("rb", 0, "r"),
        ("r+", 0, "rw"),
        ("w", 0, "w"),
        ("w+b", 0, "w"),
        ("x+", 0, "w"),
        ("a", 0, "w"),
        ("a+", 0, "rw"),
        (None, os.O_RDONLY, "r"),
        (None, os.O_WRONLY | os.O_CREAT, "w"),
        (None, os.O_RDWR | os.O_CREAT, "rw"),
        (None, os.O_RDWR | os.O_TRUNC, "w"),
        (None, os.O_RDWR | os.O_CREAT | os.O_EXCL, "w"),
    ],
)
def test_open_modes(mode, flags, kind) -> None:
    from jupyter_xtrack.capture.file_access import _mode_of

    assert _mode_of(mode, flags) == kind


def test_a_library_reading_its_own_files_is_dropped_as_it_opens(
    tmp_path: Path, monkeypatch
) -> None:
    """importlib.metadata reading every distribution's `entry_points.txt` (matplotlib looks
    for backends so: ~250 opens in a cell) costs no stat and no entry to sort out at the
    end; a path that only normalises into such a folder, or a data file beside it, is
    still noted and judged at the end as before."""
    from importlib.metadata import entry_points

    from jupyter_xtrack.capture import file_access

    file_access.prepare()
    stats: list[str] = []
    real_is_dir = file_access._is_dir
    monkeypatch.setattr(
        file_access,
        "_is_dir",
        lambda path, base: stats.append(os.fsdecode(path)) or real_is_dir(path, base),
    )
    lib = tmp_path / "lib" / "site-packages" / "pkg"
    lib.mkdir(parents=True)
    (lib / "table.csv").write_text("a\n1\n")
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    rec = FileAccessRecorder()
    rec.start()
    try:
        entry_points(group="matplotlib.backend")
        open(lib / "table.csv").close()
        open(str(lib / ".." / "pkg" / "table.csv")).close()  # kept for the end to normalise
        open(data).close()
        noted = [os.fsdecode(raw[0]) for raw in rec._raw]
    finally:
        out = rec.stop()
    assert out == [{"path": str(data), "mode": "r"}]
    assert noted == [str(lib / ".." / "pkg" / "table.csv"), str(data)]
    assert stats == noted
