"""Which files a cell opened, and whether for reading or writing.

Two sources: a ``sys.addaudithook`` hook on the ``open`` event, which sees every
``open``/``io.open``/``os.open`` (so pandas ``read_csv``, numpy ``load``, ``torch.load``,
``pickle`` files...), and wrappers around the few readers and writers that open files in C++
without passing through Python (pyarrow, parquet/feather in pandas, ``torch.save``).
"""

from __future__ import annotations

import functools
import importlib
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FileAccessRecorder"]

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


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    # Runs for every audited event in the process for the rest of its life (hooks cannot be
    # removed): the first test must be the cheapest.
    if not _active or event != "open":
        return
    try:
        path, mode, flags = args
        if isinstance(path, int):
            return  # opening an existing descriptor names no file
        ident = threading.get_ident()
        for rec in _active:
            if ident in rec._threads:
                rec._raw.append((path, mode, flags, None, _cwd_for(path)))
    except Exception:  # an exception here would fail the user's open(): never let it out
        pass


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit_hook)
            _hook_installed = True


def _cwd_for(path: Any) -> str | None:
    # a relative path is relative to the cwd of the moment it is opened
    if isinstance(path, str) and path.startswith(os.sep):
        return None
    try:
        return os.getcwd()
    except OSError:
        return None


def _note_native(path: Any, mode: str) -> None:
    ident = threading.get_ident()
    for rec in _active:
        if ident in rec._threads:
            rec._raw.append((path, None, 0, mode, _cwd_for(path)))


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
    if isinstance(mode, str) and mode:
        if "+" in mode:
            return "rw"
        return "r" if "r" in mode else "w"
    access = flags & os.O_ACCMODE
    if access == os.O_RDWR:
        return "rw"
    return "w" if access == os.O_WRONLY else "r"


# Suffixes of code the interpreter loads: imports and tracebacks open these, a cell's data
# is not in them.
_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".pth")


@functools.cache
def _ignored_prefixes() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    dirs: set[str] = {"/dev", "/proc", "/sys"}
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


def _ignored(path: str) -> bool:
    if path.endswith(_CODE_SUFFIXES) or path.startswith(_ignored_prefixes()):
        return True
    parts = path.split(os.sep)
    return (
        ".xtrack" in parts
        or "__pycache__" in parts
        or "site-packages" in parts
        or "dist-packages" in parts
    )


class FileAccessRecorder:
    """Record the files opened between ``start()`` and ``stop()`` by the recording thread(s).

    Catches Python-level opens (``open``, ``io.open``, ``os.open`` and everything built on
    them) through an audit hook installed once per process, plus parquet/feather/orc/hdf
    readers and writers of pandas and pyarrow, ``torch.save`` and polars, which open files
    natively. Opens from other threads (e.g. the tracker's own background work) are ignored,
    as are directories, devices, /proc and /sys, the Python installation and site-packages,
    ``.xtrack`` stores, IPython/Jupyter/matplotlib configuration, and code files (.py, .pyc,
    .so) opened by imports.

    Limitation: wrappers for native readers are installed when recording starts, so a module
    first imported inside the recorded cell is seen from the next recording on (pandas'
    ``read_csv``/``read_json``/``read_pickle`` are unaffected: they use Python's open).
    """

    def __init__(self) -> None:
        self._threads: frozenset[int] = frozenset()
        self._raw: list[tuple[Any, Any, int, str | None, str | None]] = []

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

        One entry per file, in order of first access; a file both read and written is "rw".
        """
        global _active
        with _hook_lock:
            _active = tuple(r for r in _active if r is not self)
        raw, self._raw = self._raw, []
        seen: dict[str, str] = {}
        for path, mode, flags, native_mode, cwd in raw:
            try:
                if isinstance(path, bytes):
                    path = os.fsdecode(path)
                path = os.fspath(path)
                if not isinstance(path, str) or "://" in path:
                    continue  # a URL handed to a native reader is not a local file
                path = os.path.expanduser(path)
                if not os.path.isabs(path):
                    if cwd is None:
                        continue
                    path = os.path.join(cwd, path)
                path = os.path.normpath(path)
                if hasattr(os, "O_DIRECTORY") and flags & os.O_DIRECTORY:
                    continue
                kind = native_mode or _mode_of(mode, flags)
            except Exception:
                continue
            before = seen.get(path)
            if before is None:
                seen[path] = kind
            elif before != kind:
                seen[path] = "rw"
        out: list[dict[str, str]] = []
        for path, kind in seen.items():
            if _ignored(path) or os.path.isdir(path):
                continue
            out.append({"path": path, "mode": kind})
        return out
