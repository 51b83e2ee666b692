"""A real PostgreSQL server for the tests and benchmarks: a throwaway cluster (`initdb`) in a
temporary folder, listening on a Unix socket in that folder and on a free loopback port only,
stopped (and its folder removed) afterwards.

`initdb` refuses to run as root, so as root the cluster is made and run by the `postgres`
user (Debian's packages create it); otherwise by the current user. Skips, saying how to get
PostgreSQL, where its binaries are missing (`make test` installs them as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOW_TO_GET = (
    "PostgreSQL's server binaries are missing: `apt-get install -y postgresql` (as root; "
    "`make test` does it) or put initdb and pg_ctl on PATH"
)


def pg_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "postgres").exists():
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        folder = Path(out.stdout.strip())
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    found = shutil.which("postgres")
    return Path(found).parent if found and Path(found).with_name("initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    """A running throwaway cluster. `url(db)` is a libpq URL for database `db` (made with
    `create_database`); the superuser is `xtrack`, trusted on loopback only."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.user = "xtrack"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server(*, durable: bool = False, max_connections: int = 300) -> Iterator[PostgresServer]:
    """Start a cluster; yield it; stop it. `durable=False` (tests) turns fsync off, which
    changes nothing a client can observe except speed; benchmarks pass `durable=True` to
    measure PostgreSQL as teams run it."""
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError(HOW_TO_GET)
    folder = Path(tempfile.mkdtemp(prefix="xtrack-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    os.chmod(folder, 0o700)
    port = _free_port()
    settings = [
        "-c", f"max_connections={max_connections}",
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"port={port}",
        "-c", f"unix_socket_directories={folder}",
        "-c", "shared_buffers=128MB",
    ]
    if not durable:
        settings += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
    log = folder / "server.log"
    try:
        subprocess.run(
            _as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "xtrack", "-A", "trust",
                       "-E", "UTF8", "--no-locale", "--no-sync"]),
            check=True, capture_output=True, text=True,
        )
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                       "-o", " ".join(settings), "start"]),
            check=True, capture_output=True, text=True,
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "") + (log.read_text() if log.exists() else "")
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail[-2000:]}") from exc
    try:
        yield PostgresServer(folder, port)
    finally:
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
