"""Which store the server reads, and what it answers before the store exists or when it
cannot be read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.server.config import XTrack
from jupyter_xtrack.store import open_store

from .conftest import API


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "not-yet" / ".xtrack"


async def test_missing_store_is_an_empty_state_not_an_error(api: Any, store_path: Path) -> None:
    status = await api("status", "Status")
    assert status["state"] == "missing" and status["store"] == str(store_path)
    page = await api("runs", "RunPage")
    assert page["total"] == 0 and page["store_state"] == "missing"
    ev = await api("events", "Events")
    assert ev["changed"] == []
    # Looking never creates a store.
    assert not store_path.exists()


async def test_missing_store_still_checks_filters(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), "runs", params={"filter": "params.lr >"})
    assert info.value.code == 400


async def test_run_of_missing_store_says_how_to_start(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), "runs", "1")
    assert info.value.code == 404 and info.value.response is not None
    body = json.loads(info.value.response.body)
    assert body["reason"] == "no_store" and "%%track" in body["message"]


async def test_store_created_after_start_is_found(api: Any, store_path: Path) -> None:
    first = await api("events", "Events")
    with open_store(store_path) as store:
        rid, _ = store.create_run(name="first")
    ev = await api("events", "Events", cursor=str(first["cursor"]), timeout="5")
    assert rid in ev["changed"]
    page = await api("runs", "RunPage")
    assert [r["name"] for r in page["runs"]] == ["first"]


def test_default_store_is_the_root_dirs_repository(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XTRACK_STORE", raising=False)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "notebooks").mkdir()
    location = XTrack().store_location
    assert location(tmp_path / "repo" / "notebooks") == str(tmp_path / "repo" / ".xtrack")
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "env-store"))
    assert location(tmp_path / "repo") == str(tmp_path / "env-store")
    configured = XTrack(store="sqlite:///" + str(tmp_path / "cfg" / "xtrack.db"))
    assert configured.store_location(tmp_path / "repo") == str(tmp_path / "cfg")
    # A database server's URL is kept as given (opened, and masked when shown, later).
    monkeypatch.setenv("XTRACK_STORE", "postgresql://team:pw@db/xtrack")
    assert location(tmp_path / "repo") == "postgresql://team:pw@db/xtrack"


class TestUnreadableStore:
    @pytest.fixture
    def store_path(self, tmp_path: Path) -> Path:
        root = tmp_path / "broken"
        (root / "blobs").mkdir(parents=True)
        (root / "xtrack.db").write_bytes(b"this is not a database" * 100)
        return root

    async def test_status_reports_the_error(self, api: Any) -> None:
        status = await api("status", "Status")
        assert status["state"] == "error" and "broken" in status["message"]

    async def test_reads_are_503_naming_the_store(self, jp_fetch: Any, check_schema: Any,
                                                  store_path: Path) -> None:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*API.split("/"), "runs")
        assert info.value.code == 503 and info.value.response is not None
        body = check_schema("Error", json.loads(info.value.response.body))
        assert body["reason"] == "store" and str(store_path) in body["message"]


class TestStorePathIsAFile:
    @pytest.fixture
    def store_path(self, tmp_path: Path) -> Path:
        path = tmp_path / "store"
        path.write_text("not a folder")
        return path

    async def test_status_and_reads_say_it_is_a_file(
        self, api: Any, jp_fetch: Any, check_schema: Any, store_path: Path
    ) -> None:
        status = await api("status", "Status")
        assert status["state"] == "error"
        assert f"the store path {store_path} is a file, not a store folder" in status["message"]
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*API.split("/"), "runs")
        assert info.value.code == 503 and info.value.response is not None
        body = check_schema("Error", json.loads(info.value.response.body))
        assert "is a file, not a store folder" in body["message"]


class TestUnwritableStore:
    """The server's fallback to a read-only open, through a real server. As root,
    permission bits do not stop writes, so the store is made to look unwritable to
    `os.access` (what the store checks); test_reader_serves_a_read_only_mount below reads
    a store on a really read-only mount."""

    @pytest.fixture
    def store_path(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        import os

        root = tmp_path / "ro"
        with open_store(root) as store:
            rid, _ = store.create_run(name="kept")
            store.finish_run(rid, status="finished")
        real_access = os.access

        def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
            if mode & os.W_OK and str(path).startswith(str(root)):
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
        return root

    async def test_runs_are_served_and_changes_refused(
        self, api: Any, jp_fetch: Any, store_path: Path
    ) -> None:
        page = await api("runs", "RunPage")
        assert [r["name"] for r in page["runs"]] == ["kept"]
        assert (await api("status", "Status"))["state"] == "ok"
        run = await api(f"runs/{page['runs'][0]['id']}", "RunDetail")
        assert run["name"] == "kept"
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*API.split("/"), "runs", run["id"], method="PATCH",
                           body=json.dumps({"name": "renamed"}),
                           headers={"Content-Type": "application/json"})
        assert info.value.code == 503 and info.value.response is not None
        assert b"read-only" in info.value.response.body


def test_reader_serves_a_read_only_mount(tmp_path: Path) -> None:
    from tests.read_only import run_on_read_only_store

    root = tmp_path / "ro"
    with open_store(root) as store:
        rid, _ = store.create_run(name="kept")
        store.finish_run(rid, status="finished")
    res = run_on_read_only_store(root, f"""
        from pathlib import Path
        from jupyter_xtrack.server.reader import StoreReader
        reader = StoreReader(Path({str(root)!r}))
        page = reader.page(None, None, 0, 10, None)
        print(reader.status()["state"], [r["name"] for r in page["runs"]],
              reader.run("1")["name"])
        reader.close()
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ok", "['kept']", "kept"]
