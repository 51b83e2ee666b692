"""Data identity: full-content file hashes, cached by file metadata.

Also the public home of the other data facts, which live in their own modules:
``FileAccessRecorder`` (which files a cell opened, ``file_access.py``) and ``fingerprint``
(content hashes of in-memory tables and arrays, ``fingerprint.py``).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from typing import Any

from jupyter_xtrack.capture.file_access import FileAccessRecorder
from jupyter_xtrack.capture.fingerprint import fingerprint

__all__ = ["FileAccessRecorder", "HashCache", "fingerprint", "hash_file", "supported_algorithms"]

# 1 MiB stays in L2/L3 while the hash reads it; larger buffers measured no faster.
_CHUNK = 1 << 20
_local = threading.local()


def _buffer() -> memoryview:
    # one reusable buffer per thread: hashing in a background thread must not share it
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = memoryview(bytearray(_CHUNK))
    return buf


def supported_algorithms() -> tuple[str, ...]:
    """Return the hash algorithm names ``hash_file`` accepts here (``blake3`` when installed)."""
    try:
        import blake3  # noqa: F401
    except ImportError:
        return ("xxh3_128",)
    return ("xxh3_128", "blake3")


def _new_hasher(algo: str) -> Any:
    if algo == "xxh3_128":
        import xxhash

        return xxhash.xxh3_128()
    if algo == "blake3":
        try:
            from blake3 import blake3
        except ImportError as exc:
            raise ValueError(
                "hash algorithm 'blake3' needs the blake3 package: pip install blake3"
            ) from exc
        return blake3()
    raise ValueError(f"unknown hash algorithm {algo!r}: use 'xxh3_128' or 'blake3'")


def hash_file(path: str, algo: str = "xxh3_128") -> tuple[str, int]:
    """Hash the full content of the file at ``path``; return ``("<algo>:<hex>", size)``.

    Reads the whole file (never a sample) through a reused 1 MiB buffer. ``algo`` is
    ``"xxh3_128"`` (default, 32 hex digits) or ``"blake3"`` (64 hex digits, needs the blake3
    package). Raises ``OSError`` when the file cannot be read and ``ValueError`` for an unknown
    algorithm; ``HashCache.lookup_or_hash`` is the never-raising front door.
    """
    hasher = _new_hasher(algo)
    buf = _buffer()
    size = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            hasher.update(buf[:n])
            size += n
    return f"{algo}:{hasher.hexdigest()}", size


# A file whose mtime is this close to the moment it was hashed may still be being written in
# the same timestamp tick ("racy git"); such hashes are not trusted on the next lookup.
_RACY_NS = 2_000_000_000


class HashCache:
    """In-memory map from file identity to content hash, so unchanged files are not re-read.

    The key is ``(st_dev, st_ino, st_size, st_mtime_ns)`` plus the algorithm: a file edited in
    place changes size or mtime, a file replaced by rename changes inode. Thread-safe.
    """

    def __init__(self, algo: str = "xxh3_128") -> None:
        _new_hasher(algo)  # fail now, with the fix in the message, not on first use
        self.algo = algo
        self._entries: dict[tuple[int, int, int, int], tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.hashed = 0  # files actually read, for callers' and tests' accounting

    def __len__(self) -> int:
        return len(self._entries)

    def lookup_or_hash(self, path: str) -> dict[str, Any]:
        """Return a FileRecord for ``path``, hashing only when the file changed since last seen.

        FileRecord: ``{path, abs_path, hash, size, mtime_ns, status}`` with status ``"ok"``,
        ``"missing"``, ``"not-a-file"`` or ``"unreadable"`` (then ``hash`` is None and ``error``
        says why). Never raises for bad paths.
        """
        abs_path = os.path.abspath(path) if isinstance(path, str) else str(path)
        record: dict[str, Any] = {
            "path": path,
            "abs_path": abs_path,
            "hash": None,
            "size": None,
            "mtime_ns": None,
            "status": "ok",
        }
        try:
            st = os.stat(abs_path)
        except FileNotFoundError:
            record["status"] = "missing"
            record["error"] = f"no such file: {abs_path}"
            return record
        except (OSError, ValueError) as exc:
            record["status"] = "unreadable"
            record["error"] = f"cannot stat {abs_path}: {exc}"
            return record
        record["size"] = st.st_size
        record["mtime_ns"] = st.st_mtime_ns
        if not stat.S_ISREG(st.st_mode):
            record["status"] = "not-a-file"
            record["error"] = f"not a regular file: {abs_path}"
            return record
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self._entries.get(key)
        if cached is not None and cached[1] - st.st_mtime_ns > _RACY_NS:
            record["hash"] = cached[0]
            return record
        hashed_at = time.time_ns()
        try:
            digest, size = hash_file(abs_path, self.algo)
        except OSError as exc:
            record["status"] = "unreadable"
            record["error"] = f"cannot read {abs_path}: {exc.strerror or exc}"
            return record
        record["hash"] = digest
        with self._lock:
            self.hashed += 1
            if size == st.st_size:  # a file growing while we read it is not cached
                self._entries[key] = (digest, hashed_at)
        return record

    def dump(self) -> dict[str, Any]:
        """Return the cache as JSON-able data, for ``load`` in a later process."""
        with self._lock:
            entries = [[*key, digest, at] for key, (digest, at) in self._entries.items()]
        return {"version": 1, "algo": self.algo, "entries": entries}

    def load(self, data: dict[str, Any]) -> int:
        """Merge entries produced by ``dump``; return how many were taken.

        Data of another version or algorithm, or malformed rows, are ignored (the cache only
        ever costs a re-hash, never a wrong answer from data it does not understand).
        """
        if not isinstance(data, dict) or data.get("version") != 1 or data.get("algo") != self.algo:
            return 0
        taken = 0
        with self._lock:
            for row in data.get("entries") or ():
                try:
                    dev, ino, size, mtime_ns, digest, at = row
                    key = (int(dev), int(ino), int(size), int(mtime_ns))
                    if not (isinstance(digest, str) and digest.startswith(self.algo + ":")):
                        continue
                    self._entries[key] = (digest, int(at))
                    taken += 1
                except (TypeError, ValueError):
                    continue
        return taken
