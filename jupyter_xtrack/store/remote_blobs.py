"""Blobs on any fsspec filesystem (`s3://bucket/prefix`, `gs://...`, `memory://...`), with a
local read-through cache for readers that need a real file.

The layout is the local folder's (`<prefix>/ab/cdef...`, named by the xxh3-128 hash of the
content), so a blob is written once and never changed: a put finds an existing object and
skips the upload. A key is only ever built from a validated hash, so nothing outside the
prefix is addressed, and every byte read back is re-hashed before it is returned or cached,
so an object changed or replaced on the remote side is refused, never served.

Credentials come from where fsspec and the filesystem's own library look (the environment,
`~/.aws` profiles, fsspec's config); the store keeps only the URL without its userinfo, and
every error is rewritten to name that URL and carry no secret (`location.redact`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import xxhash

from .blobs import HASH_ALGORITHM, HASH_PATTERN, Blobs, BlobStore, check_hash, hash_bytes
from .errors import BlobUnavailableError, StoreError
from .location import artifacts_folder, redact, secrets_of

TEAMS_EXTRA = "pip install 'jupyter_xtrack[teams]'"
_CHUNK = 1 << 20


def open_blob_store(root: Path, artifacts: str | None) -> Blobs:
    """The blob store of the store at `root`: its `blobs/` folder, or `artifacts` (a folder,
    `file://` URL or any fsspec URL). A local folder, shared or not, keeps the local
    backend (atomic rename, symlink checks); other URLs get `FsspecBlobStore`, cached in
    `<root>/blob-cache`."""
    if not artifacts:
        return BlobStore(root / "blobs")
    folder = artifacts_folder(artifacts)
    if folder is not None:
        return BlobStore(folder)
    return FsspecBlobStore(artifacts, cache=BlobStore(root / "blob-cache"))


class FsspecBlobStore:
    """Content-addressed blobs under one fsspec URL; the same methods as `BlobStore`."""

    def __init__(self, url: str, *, cache: BlobStore) -> None:
        self.url = url
        self.shown = redact(url)
        self.cache = cache
        self._secrets = secrets_of(url)
        try:
            import fsspec  # lazy: an optional dependency (the `teams` extra)
        except ImportError:
            raise StoreError(
                f"artifacts at {self.shown} need fsspec (and s3fs for s3://): {TEAMS_EXTRA}"
            ) from None
        try:
            self.fs, prefix = fsspec.core.url_to_fs(url)
        except ImportError as exc:
            raise StoreError(
                f"artifacts at {self.shown} need a filesystem library that is not installed "
                f"({self._clean(exc)}): {TEAMS_EXTRA}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any library's error, rewritten without secrets
            raise self._error("cannot open", exc) from None
        self.prefix = str(prefix).rstrip("/")

    @property
    def root(self) -> str:
        """The blob location as shown to users (no credentials)."""
        return self.shown

    def __repr__(self) -> str:
        return f"FsspecBlobStore({self.shown!r})"

    def key(self, h: str) -> str:
        """The object key of blob `h` under the prefix; ValueError for a malformed hash (a
        key is built only from 32 hex digits, so it cannot leave the prefix)."""
        digest = check_hash(h).split(":", 1)[1]
        return f"{self.prefix}/{digest[:2]}/{digest[2:]}"

    def path(self, h: str) -> Path:
        """Where blob `h`'s local copy is placed in the read-through cache (unchecked)."""
        return self.cache.path(h)

    def exists(self, h: str) -> bool:
        """True when blob `h` is stored remotely."""
        key = self.key(h)
        return bool(self._call("cannot reach", lambda: self.fs.exists(key)))

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Upload `data` unless its blob exists already; return its hash."""
        h = hash_bytes(data)
        if not self.exists(h):
            key = self.key(h)
            payload = bytes(data)
            self._call("cannot write a blob into", lambda: self.fs.pipe_file(key, payload))
        return h

    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        """Upload the file at `source` unless its blob exists; return (hash, size). The file
        is hashed in 1 MiB pieces first, so an existing blob costs no upload."""
        hasher = xxhash.xxh3_128()
        size = 0
        with open(source, "rb") as src:
            while piece := src.read(_CHUNK):
                hasher.update(piece)
                size += len(piece)
        h = f"{HASH_ALGORITHM}:{hasher.hexdigest()}"
        if not self.exists(h):
            key, local = self.key(h), os.fspath(source)
            self._call("cannot write a blob into", lambda: self.fs.put_file(local, key))
        return h, size

    def get(self, h: str) -> bytes:
        """The bytes of blob `h`, read from its checked local copy (see `resolve`)."""
        self.resolve(h)
        return self.cache.get(h)

    def resolve(self, h: str) -> Path:
        """A local regular file holding blob `h`: the cached copy, downloaded on first use
        (streamed to disk, never whole in memory) and checked against `h`
        (BlobUnavailableError if missing, or refused when altered remotely)."""
        try:
            return self.cache.resolve(h)
        except BlobUnavailableError:
            pass
        self._download(h)
        return self.cache.resolve(h)

    def all(self) -> Iterator[tuple[str, str]]:
        """Every stored blob as (hash, key)."""
        keys = self._call("cannot list", lambda: self.fs.find(self.prefix))
        for key in keys:
            parts = str(key).rstrip("/").rsplit("/", 2)
            if len(parts) != 3 or len(parts[1]) != 2:
                continue
            h = f"{HASH_ALGORITHM}:{parts[1]}{parts[2]}"
            if HASH_PATTERN.fullmatch(h):
                yield h, str(key)

    def remove_except(self, keep: Iterable[str], *, min_age_s: float) -> tuple[int, int]:
        """Delete remote blobs not in `keep` and older than `min_age_s` (by the object's
        modified time), and their cached copies. Returns (count, bytes)."""
        keep_set = set(keep)
        cutoff = time.time() - min_age_s
        count = freed = 0
        for h, key in list(self.all()):
            if h in keep_set:
                continue
            info = self._call("cannot read", lambda k=key: self.fs.info(k))
            if _modified(info) > cutoff:
                continue
            self._call("cannot delete from", lambda k=key: self.fs.rm_file(k))
            self.cache.path(h).unlink(missing_ok=True)
            count += 1
            freed += int(info.get("size") or 0)
        return count, freed

    # -- helpers -------------------------------------------------------------------------
    def _download(self, h: str) -> None:
        """Fetch blob `h` into the cache; refused (and nothing cached under `h`) when the
        object's content does not hash to `h`."""
        key = self.key(h)
        part = self.cache.root / ".tmp" / f"download-{os.getpid()}-{uuid.uuid4().hex}"
        part.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.fs.get_file(key, os.fspath(part))
            got, _ = self.cache.put_file(part)
        except FileNotFoundError:
            raise BlobUnavailableError(
                f"blob {h} is missing from {self.shown} (removed by gc, or never pushed)",
                refused=False,
            ) from None
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error("cannot read", exc, unavailable=True) from None
        finally:
            part.unlink(missing_ok=True)
        if got != h:
            self.cache.path(got).unlink(missing_ok=True)
            raise BlobUnavailableError(
                f"blob {h} in {self.shown} does not hold the content its name says (changed "
                "outside jupyter_xtrack); it was refused",
                refused=True,
            )

    def _call(self, doing: str, action: Any) -> Any:
        """Run one filesystem call; any error becomes a StoreError without secrets."""
        try:
            return action()
        except Exception as exc:  # noqa: BLE001
            raise self._error(doing, exc) from None

    def _clean(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact(text)

    def _error(self, doing: str, exc: BaseException, *, unavailable: bool = False) -> StoreError:
        message = (
            f"{doing} the artifact store {self.shown} ({self._clean(exc)}); check its URL "
            "(XTRACK_ARTIFACTS) and the credentials in your environment or profile"
        )
        if unavailable:
            return BlobUnavailableError(message, refused=False)
        return StoreError(message)


def _modified(info: dict[str, Any]) -> float:
    """An object's modified time in seconds from fsspec's `info` (keys differ by
    filesystem); now when it has none, so that an undated blob is never deleted."""
    for name in ("LastModified", "mtime", "created", "updated"):
        value = info.get(name)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return time.time()
