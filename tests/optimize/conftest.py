"""Fixtures of the optimize tests: a fresh store per test in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def store_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh run store (used through the API) in `workdir/.xtrack`."""
    from jupyter_xtrack import api
    from jupyter_xtrack.tracking.session import CONTEXT

    api.flush()
    CONTEXT.reset()
    CONTEXT.start_dir = str(workdir)
    path = workdir / ".xtrack"
    monkeypatch.setenv("XTRACK_STORE", str(path))
    yield path
    api.flush()
    CONTEXT.reset()
