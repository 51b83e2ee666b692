"""Whether anything `git status` reads may have changed since the last look (Linux inotify).

`git status` costs 12-18 ms of CPU per cell in a 10,000-file repository. A kernel's cells
mostly change nothing in the work tree, so `capture/git.py` keeps the last status and asks
this module for an *epoch*: a number that moves whenever the work tree, the index, HEAD, the
refs or the ignore rules may have changed. Equal epochs mean git would print the same status.

How it stays exact:

- Every non-ignored folder of the work tree (all but those `git status --ignored=matching`
  lists as ignored folders, and `.git`) and the git folders (`HEAD`, `index`, `config`,
  `packed-refs`, `info/`, `refs/` recursively) are watched for writes, attribute changes,
  creations, deletions and moves. An edit that keeps the mtime is a write all the same.
- Events are read without blocking when the epoch is asked for, not by a thread: the kernel
  queues an event before the write that caused it returns, so every change finished before
  the question is seen; a change made while status runs is still queued and moves the next
  epoch.
- A new folder git does not ignore is watched, and its content walked, while the events are
  read, so before the status that follows; anything written into it before its watch
  existed is in that status. A new ignored one (a virtual environment) is left alone.
- An event on a path that git ignores (`git check-ignore`, cached per path until the rules
  or the index change) moves nothing: the store's own SQLite writes under `.xtrack/` do not
  cost a status.
- Anything that would make the folder list stale rebuilds it: a `.gitignore` or
  `info/exclude` event, a folder moved, a lost event (queue overflow), other git settings
  (the caller's settings key, which holds the excludes file), and an index that now tracks
  a file in a folder left unwatched as ignored (`git add -f`).

Not watched, so never trusted (the caller runs status every time): non-Linux systems, a
repository on a file system other processes or hosts can change behind the kernel's back
(NFS, SMB, FUSE, ... : only known local file systems are trusted), repositories with
submodules, git variables that move the index or refs elsewhere (``GIT_INDEX_FILE``, ...),
more than ``MAX_FOLDERS`` folders, a watch the system refuses (its watch limit), and
``XTRACK_GIT_WATCH=0``. What inotify cannot see either: writes through a shared memory
mapping of a tracked file, and writes through a hard link that lives outside the work tree.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import itertools
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["GitRun", "epoch"]

# Runs `git <args>` in the work tree with `stdin` as its input: (exit status or None when it
# could not run or ran too long, stdout). Handed in by capture/git.py, which owns git's env.
GitRun = Callable[[list[str], bytes], tuple[int | None, bytes]]

MAX_FOLDERS = 20_000  # beyond this the watches would eat a good part of a user's limit

_IN_MODIFY, _IN_ATTRIB = 0x2, 0x4
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
_IN_ONLYDIR, _IN_DONT_FOLLOW, _IN_ISDIR = 0x1000000, 0x2000000, 0x40000000
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, 0o2000000
_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
    | _IN_ONLYDIR
    | _IN_DONT_FOLLOW
)
_EVENT = struct.Struct("iIII")

# statfs f_type of file systems whose every change goes through this kernel: ext2/3/4, xfs,
# btrfs, tmpfs, overlayfs, zfs, f2fs, reiserfs, jfs, bcachefs.
_LOCAL_FS = {
    0xEF53,
    0x58465342,
    0x9123683E,
    0x01021994,
    0x794C7630,
    0x2FC12FC1,
    0xF2F52010,
    0x52654973,
    0x3153464A,
    0xCA451A4E,
}

# Entries of the git folders that `git status` does not read (lock files aside).
_GIT_NOISE = ("FETCH_HEAD", "ORIG_HEAD", "COMMIT_EDITMSG", "gc.pid", "gc.log", "logs", "objects")


class Unsupported(Exception):
    """The repository cannot be watched exactly: its status must run every time."""


class _Statfs(ctypes.Structure):
    # struct statfs starts with f_type (a long); only that is read. 120 bytes on 64-bit
    # Linux: the rest is room to spare for any layout
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_long * 63)]


_loaded_libc: Any = None


def _libc() -> Any:
    """The C library, loaded once: glibc by its soname (`find_library` would run `ldconfig
    -p` in a process of its own, a few milliseconds, each time), else as found."""
    global _loaded_libc
    if not sys.platform.startswith("linux"):
        raise Unsupported("inotify is Linux only")
    if _loaded_libc is None:
        try:
            _loaded_libc = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:  # not glibc (musl): ask where it is
            name = ctypes.util.find_library("c")
            if name is None:
                raise Unsupported("no C library") from None
            _loaded_libc = ctypes.CDLL(name, use_errno=True)
    return _loaded_libc


def _fs_type(libc: Any, path: str) -> int:
    buf = _Statfs()
    if libc.statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
        raise Unsupported(f"statfs {path}: {os.strerror(ctypes.get_errno())}")
    return int(buf.f_type) & 0xFFFFFFFF


class _Inotify:
    """One inotify instance: watches by descriptor, events read without blocking."""

    def __init__(self, libc: Any) -> None:
        self._libc = libc
        self.fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self.fd < 0:
            raise Unsupported(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        self.paths: dict[int, tuple[bool, str]] = {}  # wd -> (in the git folders, path)

    def add(self, path: str, git: bool) -> bool:
        """Watch one folder; False when it is gone (or not a folder any more)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), _MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.ENOTDIR):
                return False
            raise Unsupported(f"inotify_add_watch {path}: {os.strerror(err)}")
        if len(self.paths) >= MAX_FOLDERS:
            raise Unsupported(f"more than {MAX_FOLDERS} folders")
        self.paths[wd] = (git, path)
        return True

    def read(self) -> list[tuple[int, int, str]]:
        """Every queued event as (watch, mask, name)."""
        events: list[tuple[int, int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                wd, mask, _, size = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset : offset + size].rstrip(b"\0")
                offset += size
                events.append((wd, mask, os.fsdecode(name)))

    def close(self) -> None:
        os.close(self.fd)


def _listing(run: GitRun) -> set[str]:
    """The work tree's ignored folders (relative, with a trailing slash). git lists a folder
    only when a pattern matches it and it holds no tracked file, so nothing under it can
    show in a status while the rules stay."""
    rc, out = run(["status", "--porcelain=v2", "-z", "--ignored=matching", "-unormal"], b"")
    if rc != 0:
        raise Unsupported("git status --ignored failed")
    return {e[2:].decode("utf-8", "surrogateescape") for e in out.split(b"\0") if e[:2] == b"! "}


class _Watch:
    """The watch of one repository; see the module docstring."""

    def __init__(self, root: str, gitdir: str, commondir: str) -> None:
        # real paths: a watch is set on the folder itself, never through a symbolic link
        self.root, self.gitdir, self.commondir = map(os.path.realpath, (root, gitdir, commondir))
        self.lock = threading.Lock()
        self.epoch = 0
        self.broken = False  # a watch failed: this repository's status runs every time
        self.stale = False
        self.settings: Any = None
        self._libc = _libc()
        self._ino: _Inotify | None = None
        self._pruned: set[str] = set()
        self._ignored: dict[str, bool] = {}  # path relative to root (folders end in "/")
        self._new: set[str] = set()  # folders created since the last look, relative
        self._dev = os.stat(self.root).st_dev
        for folder in {self.root, self.gitdir, self.commondir}:
            self._check_fs(folder)

    def _check_fs(self, path: str) -> None:
        if _fs_type(self._libc, path) not in _LOCAL_FS:
            raise Unsupported(f"{path} is not on a local file system")

    @property
    def closed(self) -> bool:
        return self._ino is None

    def folders(self) -> list[str]:
        """The folders watched now (absolute), for diagnosis."""
        return sorted(p for _, p in self._ino.paths.values()) if self._ino is not None else []

    def close(self) -> None:
        if self._ino is not None:
            self._ino.close()
            self._ino = None

    def build(self, settings: Any, run: GitRun) -> None:
        """Watch everything afresh. The listing is taken again after the folders are
        watched, until two agree: a rule changed before its folder's watch existed is then
        in the second listing, and every later change is an event."""
        self.close()
        if os.path.exists(os.path.join(self.root, ".gitmodules")):
            raise Unsupported("submodules: their state lives in folders not watched")
        self._ino = ino = _Inotify(self._libc)
        self._ignored, self._new = {}, set()
        self.settings, self.stale = settings, False
        for folder in {self.gitdir, self.commondir}:
            if not ino.add(folder, git=True):
                raise Unsupported(f"{folder} cannot be watched")
        ino.add(os.path.join(self.commondir, "info"), git=True)  # made later: an event
        self._walk(os.path.join(self.commondir, "refs"), git=True)
        if self.gitdir != self.commondir:
            self._walk(os.path.join(self.gitdir, "refs"), git=True)
        self._pruned = _listing(run)
        for _ in range(3):
            self._walk(self.root, git=False)
            if self.root not in self.folders():
                raise Unsupported(f"{self.root} cannot be watched")
            listed = _listing(run)
            if listed == self._pruned:
                return
            self._pruned = listed
        raise Unsupported("the ignore rules kept changing")

    def _walk(self, top: str, git: bool) -> None:
        """Watch `top` and every folder under it that is not pruned: each folder is watched
        before it is listed, so a child created meanwhile is either listed or an event."""
        assert self._ino is not None
        stack = [top]
        while stack:
            folder = stack.pop()
            if not self._ino.add(folder, git):
                continue
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue  # gone since: its parent's event says so
            for entry in entries:
                if entry.name == ".git" or not entry.is_dir(follow_symlinks=False):
                    continue
                if not git and self._rel(entry.path) + "/" in self._pruned:
                    continue
                if entry.stat(follow_symlinks=False).st_dev != self._dev:
                    self._check_fs(entry.path)  # a mount inside the work tree
                stack.append(entry.path)

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def changed(self, run: GitRun) -> bool:
        """Read the queued events: whether any may change git's status. Sets `stale` when
        the folder list may be wrong (then the rest of the events do not matter)."""
        assert self._ino is not None
        index_or_refs = False
        paths: list[str] = []
        for wd, mask, name in self._ino.read():
            if mask & _IN_Q_OVERFLOW:
                return self._mark_stale()  # events were lost
            where = self._ino.paths.get(wd)
            if where is None:
                continue  # a watch already dropped
            git, folder = where
            if mask & _IN_IGNORED:  # the folder is gone: its parent's event says so
                del self._ino.paths[wd]
                if folder in (self.root, self.gitdir, self.commondir):
                    return self._mark_stale()
                continue
            if not name:  # the folder itself: git keeps no mode of it; its removal is the
                if mask & _IN_MOVE_SELF and folder in (self.root, self.gitdir, self.commondir):
                    return self._mark_stale()  # parent's event, but a moved top has none
                continue
            if git:
                if self._git_event(folder, name, mask):
                    return self._mark_stale()
                index_or_refs = index_or_refs or not self._git_noise(folder, name)
                continue
            if name in (".gitignore", ".gitmodules", ".git") or (
                mask & _IN_ISDIR and mask & (_IN_MOVED_FROM | _IN_MOVED_TO)
            ):
                return self._mark_stale()  # the rules, or the paths of a moved subtree
            isdir = mask & _IN_ISDIR
            paths.append(self._rel(os.path.join(folder, name)) + ("/" if isdir else ""))
            if isdir and mask & _IN_CREATE:
                self._new.add(paths[-1])
        if index_or_refs:
            self._ignored = {}  # the index may have changed what is tracked
            if self._tracked_in_unwatched(run):
                return self._mark_stale()
        relevant = self._any_not_ignored(paths, run) or index_or_refs
        self._watch_new()
        return relevant

    def _watch_new(self) -> None:
        """Watch the folders created since the last look that git does not ignore (with
        what is already in them); an ignored one is only remembered, as a pruned one."""
        for rel in sorted(self._new):
            if self._ignored.get(rel, False):
                self._pruned.add(rel)
            else:
                self._walk(os.path.join(self.root, rel.rstrip("/")), git=False)
        self._new = set()

    def _tracked_in_unwatched(self, run: GitRun) -> bool:
        """Whether the index now tracks a file under a folder left unwatched as ignored (a
        `git add -f`, a checkout): that folder must be watched."""
        if not self._pruned:
            return False
        rc, out = run(["ls-files", "-z", "--", *sorted(self._pruned)], b"")
        return rc != 0 or bool(out)

    def _git_noise(self, folder: str, name: str) -> bool:
        """Whether a write in the git folders leaves the status as it was: a lock file (git
        renames it onto the real file, an event of its own) or another command's notes."""
        if name.endswith(".lock"):
            return True
        return name in _GIT_NOISE and folder in (self.gitdir, self.commondir)

    def _git_event(self, folder: str, name: str, mask: int) -> bool:
        """Watch a new folder of refs; True when the watch must be built again: the ignore
        rules may have changed, or a folder of refs moved (its watches' paths are old)."""
        if mask & _IN_ISDIR and mask & (_IN_MOVED_FROM | _IN_MOVED_TO):
            return True
        if mask & _IN_ISDIR and mask & _IN_CREATE:
            self._walk(os.path.join(folder, name), git=True)
        return name == "exclude" and folder == os.path.join(self.commondir, "info")

    def _any_not_ignored(self, paths: Iterable[str], run: GitRun) -> bool:
        """Whether a path is one git does not ignore; git is asked once per path while the
        rules and the index stay (a path git cannot judge counts as not ignored)."""
        unknown = sorted({p for p in paths if p not in self._ignored})
        if unknown:
            stdin = "\0".join(unknown).encode("utf-8", "surrogateescape")
            rc, out = run(["check-ignore", "-z", "--stdin"], stdin)
            if rc not in (0, 1):  # 1: none of them is ignored
                return True
            ignored = {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
            for path in unknown:
                self._ignored[path] = path in ignored or path.rstrip("/") in ignored
        return any(not self._ignored[p] for p in paths)

    def _mark_stale(self) -> bool:
        self.stale = True  # the folder list may be wrong: epoch() builds it again
        return True


# git variables that make status read an index or refs outside the folders watched
_OTHER_FILES = ("GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")

MAX_REPOSITORIES = 4  # watched at once per process (each is an inotify instance of the
# user's 128); the least recently asked one is closed, and built again when asked again

_watches: dict[str, _Watch | None] = {}  # per root, least recently asked first; None: unwatchable
_watches_lock = threading.Lock()
# Epochs are unique in the process, not per watch: a watch closed and built again never
# hands out a number an earlier status was stored under.
_epochs = itertools.count(1)
_owner = os.getpid()


def _watch_of(root: str, gitdir: str, commondir: str) -> _Watch | None:
    global _owner
    evicted: list[_Watch | None] = []
    with _watches_lock:
        if os.getpid() != _owner:  # a forked child: the watches' events are the parent's
            _watches.clear()
            _owner = os.getpid()
        if root in _watches:
            watch = _watches.pop(root)
        else:
            try:
                watch = _Watch(root, gitdir, commondir)
            except Exception:  # Unsupported, an OS error: status runs, as without a watch
                watch = None
        _watches[root] = watch
        while len(_watches) > MAX_REPOSITORIES:
            evicted.append(_watches.pop(next(iter(_watches))))
    for old in evicted:
        if old is not None:
            with old.lock:
                old.close()
    return watch


def epoch(
    root: str, gitdir: str, commondir: str, settings: Any, run: GitRun, build: bool = True
) -> int | None:
    """A number that changes whenever `git status` in `root` may print something else than
    when this returned its last number; `settings` are git's settings files and variables
    (a change rebuilds the watch). None: the repository cannot be watched (see the module
    docstring), so status must run. The first call of a repository builds its watch (a walk
    of the work tree in Python); with `build` False, nothing is built: None where a build
    would be needed."""
    if os.environ.get("XTRACK_GIT_WATCH", "1") == "0" or settings is None:
        return None
    if any(name in os.environ for name in _OTHER_FILES):
        return None
    if not build:
        with _watches_lock:
            if _watches.get(root) is None or os.getpid() != _owner:
                return None
    watch = _watch_of(root, gitdir, commondir)
    if watch is None:
        return None
    with watch.lock:
        if watch.broken:
            return None
        try:
            stale = watch.settings != settings or watch.closed
            if stale or watch.changed(run):
                if stale or watch.stale:
                    if not build:
                        return None  # stays stale: the next call that may build does
                    watch.build(settings, run)
                watch.epoch = next(_epochs)
            return watch.epoch
        except Exception:  # Unsupported, an OS error, a git that failed: from now on status
            watch.close()  # runs every time for this repository, which is always exact
            watch.broken = True
            return None
