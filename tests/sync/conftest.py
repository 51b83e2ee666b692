"""The team store of a sync test on both backends: a folder (SQLite) or a fresh
PostgreSQL database on the session's throwaway server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def team_location(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "team")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # its local blob folder
    return str(request.getfixturevalue("pg_url"))
