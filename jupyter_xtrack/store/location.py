"""Where a store lives: the default `.xtrack/` next to the git root, and store URLs."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import StoreError

STORE_DIRNAME = ".xtrack"
ENV_VAR = "XTRACK_STORE"
ARTIFACTS_ENV_VAR = "XTRACK_ARTIFACTS"
POSTGRES_SCHEMES = ("postgresql", "postgres")
_PASSWORD_PARAM = re.compile(r"(password=)[^&]*", re.IGNORECASE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# The userinfo of a URL anywhere in a text: `scheme://user:secret@` -> `scheme://***@`.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]*@")
# Environment variables whose values must never appear in an error message.
_SECRET_ENV_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY",
                    "AZURE_STORAGE_SAS_TOKEN")


def default_store_path(start_dir: str | os.PathLike[str]) -> Path:
    """`<root>/.xtrack` for the nearest enclosing git work tree of `start_dir` (the first
    folder holding a `.git` directory or file), else `<start_dir>/.xtrack`.

    Looks only at the file system (no `git` subprocess), so it is cheap and works without git.
    """
    start = Path(os.path.abspath(os.path.expanduser(os.fspath(start_dir))))
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder / STORE_DIRNAME
    return start / STORE_DIRNAME


def store_root(
    path: str | os.PathLike[str] | None, start_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The absolute store folder named by `path`, `$XTRACK_STORE`, or the default.

    `path` may be a folder (relative ones are taken from `start_dir`, else the current
    directory) or a `sqlite:///abs/path` / `file:///abs/path` URL. A URL naming the
    database file itself (`.../xtrack.db`) means the folder holding it.
    """
    base = os.fspath(start_dir) if start_dir is not None else os.getcwd()
    if path is None:
        path = os.environ.get(ENV_VAR) or None
        if path is None:
            return default_store_path(base)
    text = os.fspath(path)
    if is_postgres_url(text):
        return local_folder(text)
    if _URL.match(text):
        text = _path_from_url(text)
    full = Path(os.path.abspath(os.path.join(base, os.path.expanduser(text))))
    if full.name == "xtrack.db":
        full = full.parent
    return full


def is_postgres_url(text: str) -> bool:
    """True when `text` is a postgresql:// or postgres:// URL."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in POSTGRES_SCHEMES


def shown_url(url: str) -> str:
    """`url` with its password (in the userinfo or a `password=` parameter) as `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    shown = parts._replace(netloc=netloc).geturl()
    return _PASSWORD_PARAM.sub(r"\1***", shown)


def local_folder(url: str) -> Path:
    """The per-database folder for what a database store keeps locally (blobs when no
    artifacts location is given, blob caches): `$XDG_CACHE_HOME/xtrack/<host>-<port>-<db>`
    (default `~/.cache`)."""
    parts = urlsplit(url)
    host = parts.hostname or "local"
    database = unquote(parts.path.lstrip("/")) or parts.username or "postgres"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    label = re.sub(r"[^A-Za-z0-9._-]", "_", f"{host}-{parts.port or 5432}-{database}")
    return Path(cache) / "xtrack" / label


def redact(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`, so that a URL carrying
    `user:secret@` can be shown in an error or a summary."""
    return _USERINFO.sub(r"\1***@", text)


def secrets_of(url: str) -> list[str]:
    """The secrets an error about `url` must not show: the URL's password and the values
    of the usual cloud credential variables of the environment (longest first)."""
    found = [urlsplit(url).password or ""]
    found += [os.environ.get(name, "") for name in _SECRET_ENV_VARS]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def artifacts_url(artifacts: str | os.PathLike[str] | None) -> str | None:
    """Where blobs go: `artifacts`, else `$XTRACK_ARTIFACTS`, else None (the store's own
    `blobs/` folder)."""
    if artifacts is not None:
        return os.fspath(artifacts) or None
    return os.environ.get(ARTIFACTS_ENV_VAR) or None


def artifacts_folder(artifacts: str) -> Path | None:
    """The local folder an artifacts location names (a path, or `file://` URL, absolute
    after `~` expansion), or None for any other URL (an fsspec filesystem)."""
    if not _URL.match(artifacts):
        return Path(os.path.abspath(os.path.expanduser(artifacts)))
    parts = urlsplit(artifacts)
    if parts.scheme.lower() != "file":
        return None
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise StoreError(
            f"artifacts URL {redact(artifacts)!r} must name a local folder: write "
            "file:///abs/path (three slashes)"
        )
    return Path(os.path.abspath(unquote(parts.path)))


DAMAGED_SUFFIX = ".damaged-"


def check_store_folder(root: Path) -> Path:
    """`root`, unless it exists and is not a folder: StoreError saying so (a file there
    would otherwise read as a missing store, or fail with "File exists")."""
    if root.exists() and not root.is_dir():
        raise StoreError(
            f"the store path {root} is a file, not a store folder; move the file away, or "
            "set XTRACK_STORE=/other/folder (or --store) to use another store"
        )
    return root


def moved_aside_databases(root: Path) -> list[Path]:
    """Databases of this store that were moved aside as empty or damaged
    (`xtrack.db.damaged-<time>`), oldest first; their runs may still refer to blobs."""
    try:
        found = [p for p in root.glob(f"xtrack.db{DAMAGED_SUFFIX}*")
                 if not p.name.endswith(("-wal", "-shm"))]
    except OSError:
        return []
    return sorted(found)


def _path_from_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("sqlite", "file"):
        kind = scheme.split("+")[0]
        raise StoreError(
            f"{kind} stores are not supported: jupyter_xtrack keeps runs in a local folder "
            f"(SQLite + blobs) or in PostgreSQL. Give a folder path, sqlite:///abs/path or "
            f"postgresql://user@host:port/db instead of {redact(url)!r}."
        )
    if parts.netloc not in ("", "localhost"):
        raise StoreError(
            f"store URL {redact(url)!r} names host {parts.hostname!r}; only local stores are supported: "
            "write sqlite:///abs/path (three slashes)."
        )
    if not parts.path:
        raise StoreError(f"store URL {redact(url)!r} has no path; write sqlite:///abs/path")
    path = unquote(parts.path)
    # sqlite:////abs/path (SQLAlchemy's absolute form) leaves a doubled slash.
    return "/" + path.lstrip("/") if path.startswith("/") else path
