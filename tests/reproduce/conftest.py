"""Helpers for the reproduction tests: record real notebooks through nbclient in a working
folder whose store is `.xtrack/` inside it (the default layout), and snapshot folders to
prove a reproduction writes nothing outside its temporary folder and the store."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.store import Store
from tests.conftest import python_notebook


def record(folder: Path, *sources: str, timeout: int = 120) -> Store:
    """Run `sources` as one notebook session in `folder`, %%track on the store
    `folder/.xtrack`; return the store (every run of the session finished)."""
    nb = python_notebook(*sources)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return open_store(folder / ".xtrack")


def snapshot(root: Path, skip: str = ".xtrack") -> dict[str, str]:
    """Every file under `root` (but `skip`) with a hash of its bytes."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == skip or rel.startswith(skip + "/") or not path.is_file():
            continue
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder, the current directory, with its store in `.xtrack/`."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("XTRACK_STORE", str(folder / ".xtrack"))
    return folder


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temporary folder reproductions use, one per test, checked empty afterwards:
    a reproduction removes everything it made there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == []
