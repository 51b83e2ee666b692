"""hash_file and HashCache on real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import xxhash

from jupyter_xtrack.capture.data import HashCache, hash_file, supported_algorithms

OLD = 1_600_000_000_000_000_000  # an mtime long past, so the racy-timestamp guard is not hit


def write(path: Path, data: bytes, mtime_ns: int = OLD) -> Path:
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 17])
def test_hash_file_matches_xxhash_over_whole_content(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    p = write(tmp_path / "f.bin", data)
    assert hash_file(str(p)) == ("xxh3_128:" + xxhash.xxh3_128_hexdigest(data), size)


def test_hash_file_blake3(tmp_path: Path) -> None:
    blake3 = pytest.importorskip("blake3")
    data = os.urandom(3 << 20)
    p = write(tmp_path / "f.bin", data)
    assert "blake3" in supported_algorithms()
    assert hash_file(str(p), "blake3") == ("blake3:" + blake3.blake3(data).hexdigest(), len(data))


def test_hash_file_rejects_unknown_algorithm_with_the_fix(tmp_path: Path) -> None:
    p = write(tmp_path / "f.bin", b"x")
    with pytest.raises(ValueError, match="xxh3_128"):
        hash_file(str(p), "md5")


def test_cache_answers_for_unchanged_file_without_reading(tmp_path: Path) -> None:
    p = write(tmp_path / "data.csv", b"a,b\n1,2\n")
    cache = HashCache()
    first = cache.lookup_or_hash(str(p))
    assert first["status"] == "ok" and cache.hashed == 1
    assert first["hash"] == "xxh3_128:" + xxhash.xxh3_128_hexdigest(b"a,b\n1,2\n")
    assert first["size"] == 8 and first["mtime_ns"] == OLD and first["abs_path"] == str(p)
    # same size and mtime, different bytes: only a cache answer can still say the old hash
    write(p, b"a,b\n9,9\n")
    again = cache.lookup_or_hash(str(p))
    assert again["hash"] == first["hash"] and cache.hashed == 1


def test_cache_rehashes_when_mtime_or_size_changes(tmp_path: Path) -> None:
    p = write(tmp_path / "data.csv", b"a,b\n1,2\n")
    cache = HashCache()
    h1 = cache.lookup_or_hash(str(p))["hash"]
    write(p, b"a,b\n9,9\n", OLD + 1)
    h2 = cache.lookup_or_hash(str(p))["hash"]
    write(p, b"a,b\n9,9,9\n", OLD + 1)
    h3 = cache.lookup_or_hash(str(p))["hash"]
    assert len({h1, h2, h3}) == 3 and cache.hashed == 3


def test_cache_does_not_trust_a_file_modified_as_it_was_hashed(tmp_path: Path) -> None:
    # mtime == now: a write in the same timestamp tick would be invisible, so re-read
    p = tmp_path / "fresh.csv"
    p.write_bytes(b"x")
    cache = HashCache()
    cache.lookup_or_hash(str(p))
    cache.lookup_or_hash(str(p))
    assert cache.hashed == 2


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda d: d / "nope.csv", "missing"),
        (lambda d: d, "not-a-file"),
    ],
)
def test_cache_reports_bad_paths(tmp_path: Path, make, status: str) -> None:
    rec = HashCache().lookup_or_hash(str(make(tmp_path)))
    assert rec["status"] == status and rec["hash"] is None and str(tmp_path) in rec["error"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_cache_reports_unreadable(tmp_path: Path) -> None:
    p = write(tmp_path / "secret.csv", b"x")
    p.chmod(0)
    rec = HashCache().lookup_or_hash(str(p))
    assert rec["status"] == "unreadable" and "secret.csv" in rec["error"]


def test_cache_reports_unreadable_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert HashCache().lookup_or_hash(str(fifo))["status"] == "not-a-file"


def test_dump_and_load_carry_entries_to_a_new_cache(tmp_path: Path) -> None:
    p = write(tmp_path / "d.bin", b"hello")
    cache = HashCache()
    h = cache.lookup_or_hash(str(p))["hash"]
    other = HashCache()
    assert other.load(cache.dump()) == 1
    write(p, b"jello")  # same size and mtime: the loaded entry answers
    assert other.lookup_or_hash(str(p))["hash"] == h and other.hashed == 0


def test_load_ignores_foreign_or_malformed_data() -> None:
    cache = HashCache()
    assert cache.load({"version": 99, "algo": "xxh3_128", "entries": [[1, 2, 3, 4, "x", 5]]}) == 0
    good = [1, 2, 3, 4, "xxh3_128:" + "0" * 32, 5]
    assert cache.load({"version": 1, "algo": "xxh3_128", "entries": [good, ["bad"], None]}) == 1
    assert cache.load("nonsense") == 0  # type: ignore[arg-type]


def test_relative_path_gets_absolute_path(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "rel.txt", b"x")
    monkeypatch.chdir(tmp_path)
    rec = HashCache().lookup_or_hash("rel.txt")
    assert rec["path"] == "rel.txt" and rec["abs_path"] == str(tmp_path / "rel.txt")


def test_cache_reports_read_errors_as_unreadable() -> None:
    # a regular file by stat whose read fails (EIO at offset 0), even for root
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs Linux /proc")
    rec = HashCache().lookup_or_hash("/proc/self/mem")
    assert rec["status"] == "unreadable" and rec["hash"] is None and "cannot read" in rec["error"]
