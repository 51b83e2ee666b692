"""S4: a blob file replaced by a symlink to a file outside the store is never read, on any
route or in Python: every blob read goes through the store's one contained read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.facts import Fact, blob_of, git_diff_blob, stdio_blob
from jupyter_xtrack.records.run import Run
from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.errors import BlobUnavailableError

from .conftest import API, Populated

SECRET = "root:x:0:0:outside-the-store-canary"


@pytest.fixture
def linked_out(populated: Populated, tmp_path: Path) -> dict[str, str]:
    """Run a's code, notebook, env, git diff, stdout and stderr blobs, each replaced by a
    link to a file outside the store. Returns fact name -> blob hash."""
    outside = tmp_path / "passwd"
    # Valid JSON, so a JSON blob read through the link would also show its content.
    outside.write_text(json.dumps({"python": {"version": SECRET}, "x": SECRET}))
    with open_store(populated.root) as store:
        rid = populated.ids["a"]
        store.set_facts(rid, stdio={"stdout": store.put_blob(b"out of run a"),
                                    "stderr": store.put_blob(b"err of run a")})
        record = store.get_run(rid)
        hashes = {
            "code": blob_of(record, Fact.CODE),
            "notebook": blob_of(record, Fact.NOTEBOOK),
            "env": blob_of(record, Fact.ENV),
            "diff": git_diff_blob(record),
            "stdout": stdio_blob(record, "stdout"),
            "stderr": stdio_blob(record, "stderr"),
        }
        for h in hashes.values():
            assert h
            path = store.blob_path(h)
            path.unlink()
            path.symlink_to(outside)
    return {k: str(v) for k, v in hashes.items()}


async def test_run_detail_shows_linked_out_blobs_as_unavailable(
    jp_fetch: Any, check_schema: Any, populated: Populated, linked_out: dict[str, str]
) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", populated.ids["a"])
    assert SECRET not in resp.body.decode()
    run = check_schema("RunDetail", json.loads(resp.body))
    assert run["code_text"] is None
    assert run["git"]["diff"] is None
    assert run["env_full"] is None
    assert run["stdout"] is None and run["stderr"] is None


async def test_compare_never_reads_linked_out_blobs(
    jp_fetch: Any, populated: Populated, linked_out: dict[str, str]
) -> None:
    ids = ",".join(populated.ids[k] for k in ("a", "b"))
    resp = await jp_fetch(*API.split("/"), "compare", params={"ids": ids})
    assert resp.code == 200 and SECRET not in resp.body.decode()


async def test_diff_and_blob_routes_refuse_linked_out_blobs(
    jp_fetch: Any, populated: Populated, linked_out: dict[str, str]
) -> None:
    a, b = populated.ids["a"], populated.ids["b"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), "diff", params={"a": a, "b": b, "kind": "notebook"})
    assert info.value.code == 403
    assert info.value.response is not None and SECRET not in info.value.response.body.decode()
    for h in linked_out.values():
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*API.split("/"), "runs", a, "blobs", h)
        assert info.value.code == 403


def test_python_readers_never_read_linked_out_blobs(
    populated: Populated, linked_out: dict[str, str]
) -> None:
    with open_store(populated.root) as store:
        run = Run(store.get_run(populated.ids["a"]), store)
        assert run.code is None
        assert run.env is None
        assert run.notebook is None
        assert run.stdout is None and run.stderr is None
        assert (run.git or {}).get("diff") is None
        for h in linked_out.values():
            with pytest.raises(BlobUnavailableError, match="outside the store") as info:
                store.get_blob(h)
            assert info.value.refused
            with pytest.raises(BlobUnavailableError):
                store.blob_file(h)
