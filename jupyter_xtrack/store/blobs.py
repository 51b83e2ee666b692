"""Content-addressed blobs: `blobs/ab/cdef...` named by the xxh3-128 hash of their bytes.

Writes go to a temporary file that is fsynced and renamed into place, so a blob is either
absent or complete; identical content is stored once.
"""

from __future__ import annotations

import os
import re
import stat
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import xxhash

from .errors import BlobUnavailableError, StoreError

HASH_ALGORITHM = "xxh3_128"
HASH_PATTERN = re.compile(r"xxh3_128:[0-9a-f]{32}")
_HASH_PATTERN_BYTES = re.compile(rb"xxh3_128:[0-9a-f]{32}")
_CHUNK = 1 << 20


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """`"xxh3_128:<32 lowercase hex>"` for `data`: the name its blob is stored under."""
    return f"{HASH_ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def hashes_in(data: bytes | str | None) -> set[str]:
    """Every blob hash written anywhere in `data` (the rule `gc` uses for references)."""
    if not data:
        return set()
    raw = data.encode() if isinstance(data, str) else data
    return {m.decode() for m in _HASH_PATTERN_BYTES.findall(raw)}


def check_hash(h: object) -> str:
    """`h` if it is a well-formed blob hash, else ValueError. A hash is turned into a path,
    so anything but `xxh3_128:` followed by 32 lowercase hex digits is refused."""
    if not isinstance(h, str) or not HASH_PATTERN.fullmatch(h):
        raise ValueError(
            f"{h!r:.80} is not a blob hash: expected 'xxh3_128:' followed by 32 lowercase hex "
            "digits (as returned by put_blob)"
        )
    return h


class Blobs(Protocol):
    """What the Store asks of its blobs, wherever they live: `BlobStore` (a local or shared
    folder) and `remote_blobs.FsspecBlobStore` (any fsspec URL) implement it."""

    def path(self, h: str) -> Path:
        """Where blob `h`'s local file is (or would be) placed; unchecked."""
        ...

    def exists(self, h: str) -> bool:
        """True when blob `h` is stored."""
        ...

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Store `data` once and return its hash."""
        ...

    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a file, streamed, and return (hash, size)."""
        ...

    def get(self, h: str) -> bytes:
        """Blob `h`'s bytes, checked (BlobUnavailableError when missing or refused)."""
        ...

    def resolve(self, h: str) -> Path:
        """A checked local regular file holding blob `h`."""
        ...

    def remove_except(self, keep: Iterable[str], *, min_age_s: float) -> tuple[int, int]:
        """Delete unreferenced blobs older than `min_age_s`; (count, bytes)."""
        ...


class BlobStore:
    """The blob folder of one store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"

    def path(self, h: str) -> Path:
        """Where blob `h` lives (whether or not it exists); ValueError for a malformed hash."""
        digest = check_hash(h).split(":", 1)[1]
        return self.root / digest[:2] / digest[2:]

    def exists(self, h: str) -> bool:
        """True when blob `h` is stored."""
        return self.path(h).is_file()

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Store `data` (once, however often it is put) and return its hash."""
        h = hash_bytes(data)
        target = self.path(h)
        if self._refresh(target):
            return h
        self._write_atomically(target, [bytes(data)])
        return h

    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        """Store the file at `source`, streamed in 1 MiB pieces (never read whole into
        memory), and return (hash, size). OSError if `source` cannot be read."""
        hasher = xxhash.xxh3_128()
        size = 0
        tmp = self._tmp_path()
        with open(source, "rb") as src:
            try:
                with self._open_tmp(tmp) as dst:
                    while piece := src.read(_CHUNK):
                        hasher.update(piece)
                        dst.write(piece)
                        size += len(piece)
                    dst.flush()
                    os.fsync(dst.fileno())
                h = f"{HASH_ALGORITHM}:{hasher.hexdigest()}"
                target = self.path(h)
                if self._refresh(target):
                    tmp.unlink()
                else:
                    self._place(tmp, target)
                return h, size
            except BaseException as exc:
                tmp.unlink(missing_ok=True)
                if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                    raise self._write_error(exc) from exc
                raise

    def resolve(self, h: str) -> Path:
        """The real path of blob `h` (every symlink followed), checked to be a regular file
        inside the blob folder: the one gate every read of blob content goes through.
        BlobUnavailableError when it is missing or leads elsewhere (refused)."""
        path = self.path(h)
        root = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root or real == root:
            raise BlobUnavailableError(
                f"blob {h} in {self.root} resolves to a file outside the store's blob folder; "
                "it was refused (replace the link by the blob's own content, or run gc)",
                refused=True,
            )
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            raise BlobUnavailableError(
                f"blob {h} is missing from {self.root} (removed by gc, or the store was copied "
                "without its blobs folder)", refused=False,
            ) from None
        if not stat.S_ISREG(mode):
            raise BlobUnavailableError(
                f"blob {h} in {self.root} is not a regular file; it was refused", refused=True,
            )
        return Path(real)

    def get(self, h: str) -> bytes:
        """The bytes of blob `h`, read only through `resolve` (BlobUnavailableError, a
        StoreError, when it is missing or refused)."""
        real = self.resolve(h)
        # O_NOFOLLOW: a link swapped in after the check is refused, not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise BlobUnavailableError(
                f"blob {h} is missing from {self.root} (removed by gc, or the store was copied "
                "without its blobs folder)", refused=False,
            ) from None
        except OSError as exc:
            raise BlobUnavailableError(
                f"blob {h} in {self.root} cannot be read ({exc.strerror or exc})",
                refused=True,
            ) from exc
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise BlobUnavailableError(
                    f"blob {h} in {self.root} is not a regular file; it was refused",
                    refused=True,
                )
            return fh.read()

    def all(self) -> Iterator[tuple[str, Path]]:
        """Every stored blob as (hash, path)."""
        if not self.root.is_dir():
            return
        for sub in self.root.iterdir():
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for file in sub.iterdir():
                h = f"{HASH_ALGORITHM}:{sub.name}{file.name}"
                if HASH_PATTERN.fullmatch(h):
                    yield h, file

    def remove_except(self, keep: Iterable[str], *, min_age_s: float) -> tuple[int, int]:
        """Delete blobs not in `keep` that are older than `min_age_s` (younger ones may be
        about to be referenced by a write still in flight). Returns (count, bytes)."""
        keep_set = set(keep)
        cutoff = time.time() - min_age_s
        count = freed = 0
        for h, path in self.all():
            if h in keep_set:
                continue
            try:
                st = path.stat()
                if st.st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            count += 1
            freed += st.st_size
        # Leftovers of writers that died between write and rename.
        if self._tmp.is_dir():
            for tmp in self._tmp.iterdir():
                try:
                    if tmp.stat().st_mtime <= cutoff:
                        tmp.unlink()
                except FileNotFoundError:
                    pass
        return count, freed

    # -- writing -----------------------------------------------------------------------
    def _refresh(self, target: Path) -> bool:
        """True if the blob exists; its mtime is renewed so that a gc running right now
        treats it as young (gc keeps young blobs) while its new reference is recorded."""
        try:
            os.utime(target)
            return True
        except FileNotFoundError:
            return False
        except OSError:
            return target.exists()

    def _tmp_path(self) -> Path:
        return self._tmp / f"{os.getpid()}-{uuid.uuid4().hex}"

    def _open_tmp(self, tmp: Path) -> BinaryIO:
        try:
            return open(tmp, "xb")
        except FileNotFoundError:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            return open(tmp, "xb")
        except OSError as exc:
            raise self._write_error(exc) from exc

    def _write_atomically(self, target: Path, parts: list[bytes]) -> None:
        tmp = self._tmp_path()
        try:
            with self._open_tmp(tmp) as dst:
                for part in parts:
                    dst.write(part)
                dst.flush()
                os.fsync(dst.fileno())
            self._place(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._write_error(exc) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _place(self, tmp: Path, target: Path) -> None:
        try:
            os.replace(tmp, target)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)

    def _write_error(self, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write a blob into {self.root} ({exc.strerror or exc}); make the store "
            "writable and free disk space, or set XTRACK_STORE to another folder"
        )
