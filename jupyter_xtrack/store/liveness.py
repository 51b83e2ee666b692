"""Is the process that owns a running run still alive? Used to mark crashed runs."""

from __future__ import annotations

import getpass
import os
import socket
from functools import lru_cache

import psutil

# A run whose heartbeat is older than this, on a host we cannot inspect, is presumed dead.
STALE_HEARTBEAT_S = 30.0
# Create times of one process read twice agree exactly on Linux; allow clock-tick rounding.
_CREATE_TIME_SLACK_S = 1.0


@lru_cache(maxsize=1)
def this_host() -> str:
    """This machine's host name, as recorded on runs."""
    return socket.gethostname()


USER_ENV_VAR = "XTRACK_USER"


def current_user() -> str:
    """Who runs this process, as recorded on runs and alias changes: `$XTRACK_USER` (a team
    member's name where login names are all `root` or `jovyan`), else the login name, else
    the uid."""
    named = os.environ.get(USER_ENV_VAR, "").strip()
    return named or _login_name()


@lru_cache(maxsize=1)
def _login_name() -> str:
    """The login name (read once: without USER/LOGNAME set it is a passwd lookup)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without /etc/passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


_own: tuple[int, float | None] | None = None


def own_process_started_at() -> float | None:
    """The create time of the current process (cached; recomputed after a fork)."""
    global _own
    pid = os.getpid()
    if _own is None or _own[0] != pid:
        _own = (pid, process_started_at(pid))
    return _own[1]


def process_started_at(pid: int) -> float | None:
    """The create time of process `pid`, or None if it cannot be read."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def process_alive(pid: int, started_at: float | None) -> bool:
    """True while process `pid` runs and is the same process that started at `started_at`
    (a recycled pid belongs to a newer process). Zombies count as dead."""
    if pid <= 0 or not psutil.pid_exists(pid):
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started_at is not None and abs(proc.create_time() - started_at) > _CREATE_TIME_SLACK_S:
            return False
    except psutil.NoSuchProcess:
        return False
    except (psutil.Error, OSError):
        return True  # exists but cannot be inspected (another user): assume alive
    return True
