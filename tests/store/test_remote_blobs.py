"""Blobs outside the store folder: a shared folder (file://) and a real S3-protocol server
(moto's standalone server, tests/store/s3server.py), with a tracked cell's blobs landing in
the bucket, reads checked against their hash, gc keeping what is referenced, and no
credential in any error."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.facts import Fact, blob_of
from jupyter_xtrack.store import StoreError, hash_bytes, open_store
from jupyter_xtrack.store.errors import BlobUnavailableError
from tests.conftest import run_cell
from tests.store.s3server import (
    SECRET_KEY,
    bucket_keys,
    make_bucket,
    moto_server,
    use_endpoint,
)

BUCKET = "xtrack-team"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: Any) -> str:
    """A fresh bucket on the test server; s3fs pointed at it through the environment."""
    use_endpoint(monkeypatch, s3_endpoint)
    name = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    make_bucket(s3_endpoint, name)
    return name


# -- a shared folder ---------------------------------------------------------------------
def test_file_url_puts_blobs_in_the_shared_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "blobs"
    url = shared.as_uri()
    a = open_store(tmp_path / "a", artifacts=url)
    b = open_store(tmp_path / "b", artifacts=url)
    h = a.put_blob(b"team data")
    assert a.blob_path(h).parent.parent == shared
    assert b.has_blob(h) and b.get_blob(h) == b"team data"
    assert not any((tmp_path / "a" / "blobs").iterdir())
    with pytest.raises(ValueError, match="not a blob hash"):
        b.get_blob("xxh3_128:../../../etc/passwd")


def test_xtrack_artifacts_env_is_used_by_open_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    monkeypatch.setenv("XTRACK_ARTIFACTS", shared.as_uri())
    store = open_store(tmp_path / "s")
    h = store.put_blob(b"x")
    assert (shared / h[9:11] / h[11:]).read_bytes() == b"x"


def test_file_url_with_a_host_is_refused_without_its_secret(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "s", artifacts="file://user:hunter22@server/share")
    assert "hunter22" not in str(info.value)
    assert "***@" in str(info.value)


# -- an S3-protocol server ---------------------------------------------------------------
def test_blobs_round_trip_through_s3(tmp_path: Path, bucket: str, s3_endpoint: str) -> None:
    store = open_store(tmp_path / "s", artifacts=f"s3://{bucket}/xt")
    data = b"weights" * 1000
    h = store.put_blob(data)
    digest = h.split(":")[1]
    assert bucket_keys(s3_endpoint, bucket) == [f"xt/{digest[:2]}/{digest[2:]}"]
    assert store.put_blob(data) == h  # written once
    assert store.get_blob(h) == data
    src = tmp_path / "big.bin"
    src.write_bytes(b"\x01" * (3 << 20))
    h2, size = store.put_blob_file(src)
    assert (h2, size) == (hash_bytes(src.read_bytes()), 3 << 20)
    # blob_file gives a real local file: the read-through cache, filled on first use.
    path = store.blob_file(h2)
    assert path.is_file() and path.read_bytes() == src.read_bytes()
    assert tmp_path / "s" / "blob-cache" in path.parents
    assert not any((tmp_path / "s" / "blobs").iterdir())
    # A crafted hash never becomes a key: nothing outside the prefix is addressed.
    for bad in ("xxh3_128:../../other-bucket/x", "xxh3_128:" + "A" * 32):
        with pytest.raises(ValueError, match="not a blob hash"):
            store.get_blob(bad)
        with pytest.raises(ValueError, match="not a blob hash"):
            store.has_blob(bad)


def test_an_object_changed_remotely_is_refused(
    tmp_path: Path, bucket: str, s3_endpoint: str
) -> None:
    import boto3

    store = open_store(tmp_path / "s", artifacts=f"s3://{bucket}/xt")
    h = store.put_blob(b"original")
    digest = h.split(":")[1]
    boto3.client("s3", endpoint_url=s3_endpoint).put_object(
        Bucket=bucket, Key=f"xt/{digest[:2]}/{digest[2:]}", Body=b"tampered"
    )
    with pytest.raises(BlobUnavailableError) as info:
        store.get_blob(h)
    assert info.value.refused
    assert not store.blob_path(h).exists()  # nothing cached
    with pytest.raises(BlobUnavailableError) as missing:
        store.get_blob(hash_bytes(b"never stored"))
    assert not missing.value.refused


def test_a_tracked_run_keeps_its_blobs_in_the_bucket(
    shell: Any, bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_xtrack import api as xt

    monkeypatch.setenv("XTRACK_ARTIFACTS", f"s3://{bucket}/team")
    source = "%%track --name s3run\nx = 41 + 1\nxt.log_artifact(b'model bytes', 'model.bin')"
    run_cell(shell, "import jupyter_xtrack as xt")
    run_cell(shell, source)
    run = xt.get_run(1)
    keys = set(bucket_keys(s3_endpoint, bucket))
    art = {a["name"]: a for a in run.artifacts}["model.bin"]
    hashes = [art["hash"], blob_of(run.record, Fact.CODE), blob_of(run.record, Fact.LINEAGE)]
    for h in hashes:
        assert h is not None
        digest = h.split(":")[1]
        assert f"team/{digest[:2]}/{digest[2:]}" in keys
    assert run.artifact_bytes("model.bin") == b"model bytes"
    assert run.code is not None and "41 + 1" in run.code
    assert run.lineage is not None
    store_blobs = Path.cwd() / ".xtrack" / "blobs"
    assert not any(p.is_file() for p in store_blobs.rglob("*"))


def test_gc_keeps_referenced_remote_blobs(tmp_path: Path, bucket: str, s3_endpoint: str) -> None:
    store = open_store(tmp_path / "s", artifacts=f"s3://{bucket}/xt")
    run_id, _ = store.create_run(name="r")
    kept = store.put_blob(b"kept")
    store.add_artifact(run_id, "a.bin", blob=kept, size=4)
    orphan = store.put_blob(b"orphan")
    store.get_blob(orphan)  # cached locally too
    assert store.gc(min_age_s=3600) == (0, 0)  # young blobs stay
    assert store.gc(min_age_s=0) == (1, 6)
    keys = bucket_keys(s3_endpoint, bucket)
    assert [k.replace("/", "")[2:] for k in keys] == [kept.split(":")[1]]
    assert not store.blob_path(orphan).exists()
    assert store.get_blob(kept) == b"kept"


# -- credentials never shown -------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["ftp", "nosuchfs"])
def test_a_url_password_never_appears_in_an_error(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}://alice:s3cr3t-Pa55@127.0.0.1:{_closed_port()}/blobs"
    with pytest.raises(StoreError) as info:
        store = open_store(tmp_path / "s", artifacts=url)
        store.put_blob(b"x")
    text = f"{info.value} {info.value!r} {info.value.__cause__!r} {info.value.__context__!r}"
    assert "s3cr3t-Pa55" not in text
    assert "alice:***@" not in text and "***@127.0.0.1" in str(info.value)


def test_a_failing_s3_login_shows_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # INITIAL_NO_AUTH_ACTION_COUNT=0: moto checks every request's keys (ours are unknown).
    with moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as endpoint:
        use_endpoint(monkeypatch, endpoint)
        store = open_store(tmp_path / "s", artifacts="s3://locked-bucket/xt")
        with pytest.raises(StoreError) as info:
            store.put_blob(b"x")
    text = str(info.value)
    assert "InvalidAccessKeyId" in text or "InvalidClientTokenId" in text or "Forbidden" in text
    assert "s3://locked-bucket/xt" in text and "XTRACK_ARTIFACTS" in text
    assert SECRET_KEY not in f"{text} {info.value.__cause__!r} {info.value.__context__!r}"


def test_missing_fsspec_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if not installed
    with pytest.raises(StoreError, match=r"jupyter_xtrack\[teams\]"):
        open_store(tmp_path / "s", artifacts="s3://bucket/xt")


def test_an_unreachable_artifact_store_never_breaks_the_cell(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_xtrack import api as xt

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNREACHABLE00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unreachable-Secret-Value")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("XTRACK_ARTIFACTS", "s3://nowhere/xt")
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    run_cell(shell, "import jupyter_xtrack as xt")
    result = run_cell(shell, "%%track --name offline\ny = 6 * 7\ny")
    assert result.success and result.result == 42
    assert shell.user_ns["y"] == 42
    run = xt.get_run(1)
    assert run.status == "finished" and run.name == "offline"
    # What could not be stored is said on the run, naming the artifact store, no secret.
    problems = " ".join(run.record["facts"]["capture_problems"])
    assert "code: StoreError: cannot reach the artifact store s3://nowhere/xt" in problems
    assert "unreachable-Secret-Value" not in problems
