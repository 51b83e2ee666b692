"""Which files a cell opened, and whether for reading or writing.

Two sources: a ``sys.addaudithook`` hook on the ``open`` event, which sees every
``open``/``io.open``/``os.open`` (so pandas ``read_csv``, numpy ``load``, ``torch.load``,
``pickle`` files...), and wrappers around the few readers and writers that open files in C++
without passing through Python (pyarrow, parquet/feather in pandas, ``torch.save``).

The ``open`` audit event does not say which directory a ``dir_fd=`` open is relative to
(``shutil.rmtree`` and ``os.fwalk`` open every subfolder that way), so ``os.open`` is wrapped
too: a call with ``dir_fd`` tells the hook, through a thread-local, the directory to resolve
the name against.
"""

from __future__ import annotations

import functools
import importlib
import os
import site
import stat
import sys
import sysconfig
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FileAccessRecorder", "prepare"]

# (module, attribute path, positional index of the path argument, its keyword name, mode).
# Installed only for modules already imported when recording starts; never imports them.
_NATIVE_IO: tuple[tuple[str, str, int, str, str], ...] = (
    ("pandas", "read_parquet", 0, "path", "r"),
    ("pandas", "read_feather", 0, "path", "r"),
    ("pandas", "read_orc", 0, "path", "r"),
    ("pandas", "read_hdf", 0, "path_or_buf", "r"),
    ("pandas", "DataFrame.to_parquet", 1, "path", "w"),
    ("pandas", "DataFrame.to_feather", 1, "path", "w"),
    ("pandas", "DataFrame.to_orc", 1, "path", "w"),
    ("pandas", "DataFrame.to_hdf", 1, "path_or_buf", "w"),
    ("pyarrow.parquet", "read_table", 0, "source", "r"),
    ("pyarrow.parquet", "write_table", 1, "where", "w"),
    ("pyarrow.feather", "read_table", 0, "source", "r"),
    ("pyarrow.feather", "read_feather", 0, "source", "r"),
    ("pyarrow.feather", "write_feather", 1, "dest", "w"),
    ("torch", "save", 1, "f", "w"),
    ("polars", "read_csv", 0, "source", "r"),
    ("polars", "read_parquet", 0, "source", "r"),
    ("polars", "read_ipc", 0, "source", "r"),
    ("polars", "DataFrame.write_csv", 1, "file", "w"),
    ("polars", "DataFrame.write_parquet", 1, "file", "w"),
    ("polars", "DataFrame.write_ipc", 1, "file", "w"),
)

# Recorders currently recording. Replaced, never mutated, so the hook can iterate it from any
# thread without a lock.
_active: tuple[FileAccessRecorder, ...] = ()
_hook_lock = threading.Lock()
_hook_installed = False
_wrapped: set[tuple[str, str]] = set()
# The dir_fd of the os.open call running on this thread, if any (set by _os_open).
_opening = threading.local()

# One open seen: (path as given, mode string or None, os.open flags, mode of a native
# reader/writer or None, the directory a relative path is relative to, whether the path was
# a directory when it was opened).
_Raw = tuple[Any, Any, int, str | None, str | None, bool]


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    # Runs for every audited event in the process for the rest of its life (hooks cannot be
    # removed): the first test must be the cheapest.
    if not _active or event != "open":
        return
    try:
        path, mode, flags = args
        if isinstance(path, int):
            return  # opening an existing descriptor names no file
        _note(path, mode, flags, None)
    except Exception:  # an exception here would fail the user's open(): never let it out
        pass


def _note(path: Any, mode: Any, flags: int, native_mode: str | None) -> None:
    ident = threading.get_ident()
    raw: _Raw | None = None
    for rec in _active:
        if ident in rec._threads:
            if raw is None:
                name = os.fsdecode(os.fspath(path))
                if name.endswith(_CODE_SUFFIXES) or _never_data(name):
                    return  # an import, or a library's file: not worth a stat
                base = _base_for(path)
                raw = (path, mode, flags, native_mode, base, _is_dir(path, base))
            rec._raw.append(raw)


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit_hook)
            _install_os_open()
            _hook_installed = True


def _install_os_open() -> None:
    """Put ``_os_open`` in place of ``os.open`` (keeping its place in ``os.supports_dir_fd``,
    which callers check to choose the ``dir_fd`` code path)."""
    real = os.open

    @functools.wraps(real)
    def _os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if dir_fd is None or not _active:
            return real(path, flags, mode, dir_fd=dir_fd)
        _opening.dir_fd = dir_fd
        try:
            return real(path, flags, mode, dir_fd=dir_fd)
        finally:
            _opening.dir_fd = None

    os.open = _os_open
    if real in os.supports_dir_fd:
        os.supports_dir_fd.add(_os_open)


def _base_for(path: Any) -> str | None:
    """The directory a relative ``path`` is relative to at the moment it is opened: the
    ``dir_fd`` of the ``os.open`` call running, else the working directory."""
    if os.path.isabs(path):
        return None
    dir_fd = getattr(_opening, "dir_fd", None)
    try:
        return os.getcwd() if dir_fd is None else _directory_of(dir_fd)
    except OSError:
        return None


def _directory_of(fd: int) -> str | None:
    if sys.platform == "linux":
        return os.readlink(f"/proc/self/fd/{fd}")
    if sys.platform == "darwin":
        import fcntl  # lazy: only macOS needs it

        name = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))  # type: ignore[attr-defined]
        return os.fsdecode(name.rstrip(b"\0"))
    return None  # unknown: the open is left out rather than resolved against the wrong folder


def _is_dir(path: Any, base: str | None) -> bool:
    # asked when it is opened: a folder that the cell then deletes (rmtree) is still a folder
    try:
        full = os.path.join(base, os.fsdecode(path)) if base else path
        return stat.S_ISDIR(os.stat(full).st_mode)
    except (OSError, ValueError, TypeError):
        return False


def _note_native(path: Any, mode: str) -> None:
    _note(path, None, 0, mode)


def _wrap(func: Callable[..., Any], index: int, keyword: str, mode: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        if _active:
            try:
                target = kwargs.get(keyword, args[index] if len(args) > index else None)
                if isinstance(target, (str, bytes, os.PathLike)):
                    _note_native(target, mode)
            except Exception:
                pass
        return func(*args, **kwargs)

    recorded._xtrack_recorded = True  # type: ignore[attr-defined]
    return recorded


def _install_wrappers() -> None:
    for module_name, attr_path, index, keyword, mode in _NATIVE_IO:
        if (module_name, attr_path) in _wrapped or module_name not in sys.modules:
            continue
        try:
            owner: Any = importlib.import_module(module_name)  # already imported: a dict lookup
            *parents, attr = attr_path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            func = getattr(owner, attr)
            if not getattr(func, "_xtrack_recorded", False):
                setattr(owner, attr, _wrap(func, index, keyword, mode))
        except Exception:
            continue  # a library version without this function: nothing to wrap
        _wrapped.add((module_name, attr_path))


def _mode_of(mode: Any, flags: int) -> str:
    """Return "r", "w" or "rw": "rw" only when content that was there before can be read (r+, a+,
    O_RDWR without O_TRUNC or O_EXCL); w+ and x+ read back only what the run wrote."""
    if isinstance(mode, str) and mode:
        if "r" in mode or "a" in mode:
            if "+" in mode:
                return "rw"
            return "r" if "r" in mode else "w"
        return "w"
    access = flags & os.O_ACCMODE
    if access == os.O_RDONLY:
        return "r"
    if access == os.O_WRONLY or flags & (os.O_TRUNC | os.O_EXCL):
        return "w"
    return "rw"


# Suffixes of code the interpreter loads: imports and tracebacks open these, a cell's data
# is not in them.
_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".pth")


@functools.cache
def _ignored_prefixes() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    # system files: devices, kernel views, configuration, shared data (zoneinfo, mime types,
    # locales), system libraries
    dirs: set[str] = {"/dev", "/proc", "/sys", "/etc", "/usr/share", "/usr/lib"}
    dirs.update((sysconfig.get_config_var("TZPATH") or "").split(os.pathsep))
    for value in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        dirs.add(value)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(p)
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except Exception:
        pass
    dirs.add(os.environ.get("IPYTHONDIR") or os.path.join(home, ".ipython"))
    dirs.add(os.path.join(home, ".jupyter"))
    try:
        from jupyter_core.paths import jupyter_data_dir, jupyter_runtime_dir

        dirs.update((jupyter_runtime_dir(), jupyter_data_dir()))
    except Exception:
        dirs.add(os.environ.get("JUPYTER_RUNTIME_DIR") or "")
        dirs.add(os.path.join(home, ".local", "share", "jupyter"))
    # matplotlib's font cache and rc files are read by the first plot
    dirs.add(os.environ.get("MPLCONFIGDIR") or "")
    dirs.add(os.path.join(home, ".cache", "matplotlib"))
    dirs.add(os.path.join(home, ".config", "matplotlib"))
    out = []
    for d in dirs:
        d = os.path.abspath(d) if d else ""
        # never let a prefix swallow everything (a Python installed at / or in $HOME)
        if d and d not in ("/", home):
            out.append(d.rstrip(os.sep) + os.sep)
    return tuple(sorted(out))


# `_ignored_prefixes()` once `prepare` has worked it out; until then opens are noted in full
# and sorted out when the recording stops (working it out on the cell's path costs ~10 ms)
_prepared_prefixes: tuple[str, ...] | None = None


def prepare() -> None:
    """Work out ahead, off the first tracked cell's path, what its end needs: the prefixes of
    files that are never data (reading them imports jupyter_core's paths: ~10 ms)."""
    global _prepared_prefixes
    _prepared_prefixes = _ignored_prefixes()


def _never_data(name: str) -> bool:
    """Whether an open of `name` can be dropped as it happens: an absolute path, already
    normal (no `..` that could lead out), under a prefix `_ignored` drops or in a package
    folder. A library reading its own files (importlib.metadata reads every installed
    distribution's `entry_points.txt` when matplotlib looks for backends: ~250 opens) then
    costs no `stat` and no entry to sort out when the recording stops."""
    prefixes = _prepared_prefixes
    if prefixes is None or not name.startswith(os.sep) or f"{os.sep}.." in name:
        return False
    return name.startswith(prefixes) or any(
        f"{os.sep}{part}{os.sep}" in name for part in _NEVER_DATA_PARTS
    )


# folders whose files are never a run's data, wherever they are
_NEVER_DATA_PARTS = (".xtrack", "__pycache__", "site-packages", "dist-packages")


def _ignored(path: str) -> bool:
    if path.endswith(_CODE_SUFFIXES) or path.startswith(_ignored_prefixes()):
        return True
    parts = path.split(os.sep)
    return any(part in parts for part in _NEVER_DATA_PARTS)


class FileAccessRecorder:
    """Record the files opened between ``start()`` and ``stop()`` by the recording thread(s).

    Catches Python-level opens (``open``, ``io.open``, ``os.open`` and everything built on
    them) through an audit hook installed once per process, plus parquet/feather/orc/hdf
    readers and writers of pandas and pyarrow, ``torch.save`` and polars, which open files
    natively. Opens from other threads (e.g. the tracker's own background work) are ignored,
    as are directories (also those deleted by the cell), devices, /proc and /sys, /etc,
    /usr/share, /usr/lib and the time zone database, the Python installation and
    site-packages, ``.xtrack`` stores, IPython/Jupyter/matplotlib configuration, and code
    files (.py, .pyc, .so) opened by imports.

    Limitations: wrappers for native readers are installed when recording starts, so a module
    first imported inside the recorded cell is seen from the next recording on (pandas'
    ``read_csv``/``read_json``/``read_pickle`` are unaffected: they use Python's open). A
    ``dir_fd`` open is resolved only through ``os.open`` (not an ``opener=`` of ``open()``,
    whose own event names the file relative to the working directory), and only where the
    folder of a descriptor can be read back (Linux, macOS); elsewhere it is left out.
    """

    def __init__(self) -> None:
        self._threads: frozenset[int] = frozenset()
        self._raw: list[_Raw] = []

    @property
    def recording(self) -> bool:
        """Whether this recorder is between ``start()`` and ``stop()``."""
        return self in _active

    def start(self, thread_ids: set[int] | None = None) -> None:
        """Begin recording opens made by ``thread_ids`` (default: the calling thread)."""
        global _active
        _install_hook()
        _install_wrappers()
        self._threads = frozenset(thread_ids or {threading.get_ident()})
        self._raw = []
        with _hook_lock:
            if self not in _active:
                _active = (*_active, self)

    def stop(self) -> list[dict[str, str]]:
        """Stop recording; return ``[{path, mode}]`` (absolute paths, mode "r", "w" or "rw").

        One entry per file, in order of first access. A file read, then written, is "rw"; a
        file the run wrote first stays "w" whatever it reads back (its own output is not its
        input), and is left out if it is gone when the run stops (a scratch file). Folders
        (also those the run deleted) are left out.
        """
        global _active
        with _hook_lock:
            _active = tuple(r for r in _active if r is not self)
        raw, self._raw = self._raw, []
        seen: dict[str, str] = {}
        for path, mode, flags, native_mode, base, was_dir in raw:
            if was_dir or (hasattr(os, "O_DIRECTORY") and flags & os.O_DIRECTORY):
                continue
            try:
                path = _absolute(path, base)
                kind = native_mode or _mode_of(mode, flags)
            except Exception:
                continue
            if path is None:
                continue
            before = seen.get(path)
            if before is None:
                seen[path] = kind
            elif before == "r" and kind != "r":
                seen[path] = "rw"
        out: list[dict[str, str]] = []
        for path, kind in seen.items():
            if not _ignored(path) and _still_wanted(path, kind):
                out.append({"path": path, "mode": kind})
        return out


def _absolute(path: Any, base: str | None) -> str | None:
    """The normalised absolute path of an open, or None for a URL or an unresolvable name."""
    name = os.fspath(os.fsdecode(path) if isinstance(path, bytes) else path)
    if not isinstance(name, str) or "://" in name:
        return None  # a URL handed to a native reader is not a local file
    name = os.path.expanduser(name)
    if not os.path.isabs(name):
        if base is None:
            return None
        name = os.path.join(base, name)
    return os.path.normpath(name)


def _still_wanted(path: str, kind: str) -> bool:
    """Not a folder now, and, for a file the run only wrote, still there."""
    try:
        return not stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return kind != "w"
