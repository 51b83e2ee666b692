"""Content-addressed blobs and garbage collection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import xxhash

from jupyter_xtrack.store import Store, StoreError, hash_bytes
from jupyter_xtrack.store.errors import BlobUnavailableError


def test_hash_format() -> None:
    h = hash_bytes(b"abc")
    assert h == "xxh3_128:" + xxhash.xxh3_128_hexdigest(b"abc")
    assert len(h.split(":")[1]) == 32


def test_identical_content_is_stored_once(store: Store) -> None:
    h1 = store.put_blob(b"same bytes")
    h2 = store.put_blob(bytearray(b"same bytes"))
    assert h1 == h2 == hash_bytes(b"same bytes")
    path = store.blob_path(h1)
    assert path.parent.parent == store.root / "blobs"
    assert path.parent.name + path.name == h1.split(":")[1]
    assert store.get_blob(h1) == b"same bytes"
    assert len([p for p in (store.root / "blobs").rglob("*") if p.is_file()]) == 1
    assert not any((store.root / "blobs" / ".tmp").glob("*"))


def test_put_blob_file_streams_and_matches_put_blob(store: Store, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several read pieces
    src = tmp_path / "data.bin"
    src.write_bytes(data)
    h, size = store.put_blob_file(src)
    assert (h, size) == (hash_bytes(data), len(data))
    assert store.get_blob(h) == data
    assert store.put_blob(data) == h
    with pytest.raises(FileNotFoundError):
        store.put_blob_file(tmp_path / "missing")


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "xxh3_128:../../../../etc/passwd",
        "xxh3_128:" + "A" * 32,
        "xxh3_128:" + "a" * 31,
        "xxh3_128:" + "a" * 32 + "/..",
        "sha256:" + "a" * 32,
        "xxh3_128:" + "a" * 30 + "/b",
        "",
    ],
)
def test_blob_path_refuses_crafted_hashes(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match="not a blob hash"):
        store.blob_path(bad)
    with pytest.raises(ValueError):
        store.get_blob(bad)


def test_missing_blob_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="missing from"):
        store.get_blob("xxh3_128:" + "0" * 32)


def test_gc_removes_only_unreferenced_blobs(store: Store) -> None:
    run_id, _ = store.create_run()
    by_fact = store.put_blob(b"fact")
    by_nested_fact = store.put_blob(b"nested")
    by_artifact = store.put_blob(b"artifact")
    by_file = store.put_blob(b"file")
    by_archive = store.put_blob(b"archive")
    orphan = store.put_blob(b"orphan!")
    store.set_facts(
        run_id, code={"blob": by_fact}, outputs={"items": [{"x": {"hash": by_nested_fact}}]}
    )
    store.add_artifact(run_id, "a", blob=by_artifact, size=8)
    store.record_files(run_id, [{"direction": "output", "path": "f", "hash": by_file, "size": 4}])
    store.archive_outputs(
        [{"notebook_path": "n.ipynb", "cell_id": "c", "outputs_blob": by_archive}]
    )
    assert store.gc() == (0, 0), "young blobs are kept by default"
    assert store.gc(min_age_s=0) == (1, len(b"orphan!"))
    assert not store.blob_path(orphan).exists()
    for h in (by_fact, by_nested_fact, by_artifact, by_file, by_archive):
        assert store.get_blob(h)
    store.delete_runs([run_id])
    count, _ = store.gc(min_age_s=0)
    assert count == 4, "only the archived output still refers to its blob"
    assert store.get_blob(by_archive) == b"archive"


def test_put_of_existing_blob_renews_it_for_gc(store: Store) -> None:
    h = store.put_blob(b"old")
    path = store.blob_path(h)
    os.utime(path, (1, 1))
    store.put_blob(b"old")
    assert store.gc() == (0, 0)
    assert path.exists()


def test_blob_reads_stay_inside_the_blob_folder(store: Store) -> None:
    """A link to another file of the store (the database) or to a folder is refused by the
    one contained read, get_blob and blob_file alike; a link inside the blob folder is fine."""
    real = store.put_blob(b"real blob")
    to_db, to_dir, to_blob = (store.put_blob(f"link {i}".encode()) for i in range(3))
    targets = {to_db: store.root / "xtrack.db", to_dir: store.root / "blobs",
               to_blob: store.blob_path(real)}
    for h, target in targets.items():
        store.blob_path(h).unlink()
        store.blob_path(h).symlink_to(target)
    for h in (to_db, to_dir):
        with pytest.raises(BlobUnavailableError) as info:
            store.get_blob(h)
        assert info.value.refused
        with pytest.raises(BlobUnavailableError):
            store.blob_file(h)
    assert store.get_blob(to_blob) == b"real blob"
    assert store.blob_file(to_blob) == store.blob_path(real).resolve()
