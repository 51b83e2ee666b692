"""The software and hardware a run used: Python, platform, installed and imported
distributions, CPU, memory, GPUs, and the allowlisted environment variables.
"""

from __future__ import annotations

import copy
import itertools
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from jupyter_xtrack.capture.redact import allowed_env

__all__ = [
    "environment",
    "imported_distributions",
    "imported_with_signature",
    "installed_distributions",
    "packages_signature",
    "static_environment",
]

_lock = threading.Lock()
_static: dict[str, Any] | None = None
_dist_index: tuple[tuple[Any, ...], tuple[dict[str, str], dict[str, list[str]]]] | None = None
_imported_cache: dict[tuple[tuple[Any, ...], frozenset[str]], dict[str, str]] = {}
_IMPORTED_CACHE_SIZE = 32
# The last computed set under a packages signature: (module names, their top-level names, result)
_imported_last: dict[tuple[Any, ...], tuple[frozenset[str], frozenset[str], dict[str, str]]] = {}


def _canonical(name: str) -> str:
    # PEP 503 normalisation, so "Scikit_Learn" and "scikit-learn" are one distribution
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level_names(info_dir: str) -> list[str]:
    try:
        with open(os.path.join(info_dir, "top_level.txt"), encoding="utf-8") as f:
            return f.read().split()
    except OSError:
        pass
    names: set[str] = set()
    try:
        with open(os.path.join(info_dir, "RECORD"), encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.split(",", 1)[0]
                first, sep, _ = path.partition("/")
                if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__", ""):
                    continue
                if sep:
                    names.add(first)
                elif path.endswith(".py"):
                    names.add(path[:-3])
                elif path.endswith((".so", ".pyd")):
                    names.add(path.split(".", 1)[0])
    except OSError:
        pass
    return sorted(names)


def _egg_info_version(info_dir: str) -> str:
    path = os.path.join(info_dir, "PKG-INFO") if os.path.isdir(info_dir) else info_dir
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Version:"):
                    return line[8:].strip()
                if not line.strip():
                    break
    except OSError:
        pass
    return ""


# One sys.path entry's distributions: (canonical name, version, top-level modules) each.
_Found = list[tuple[str, str, list[str]]]
# An index: ({canonical dist name: version}, {top-level module: [dist names]}).
_Index = tuple[dict[str, str], dict[str, list[str]]]

# A listing taken within this many seconds of a change to its folder is not trusted to be
# complete: file systems stamp times from a coarse clock, so a later change could leave the
# folder's stat as it was. Such an entry is listed again next time.
RACY_S = 2.0


def _stat_key(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _scan_entry(folder: str) -> tuple[_Found, list[str]]:
    """The distributions installed in one sys.path folder, and the files besides the folder
    itself their versions were read from (an egg-info's PKG-INFO)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return [], []
    # A notebook's folder is on sys.path and is listed again whenever a cell writes to it;
    # with thousands of data files, names (not DirEntry objects) and one search of them
    # joined (at C speed) tell that no distribution is there: 2,000 files, 0.8 -> 0.5 ms.
    joined = "/".join(names)
    if ".dist-info" not in joined and ".egg-info" not in joined:
        return [], []
    found: _Found = []
    read: list[str] = []
    for name in names:
        if name.endswith(".dist-info"):
            stem = name[: -len(".dist-info")]
        elif name.endswith(".egg-info"):
            stem = name[: -len(".egg-info")]
        else:
            continue
        path = os.path.join(folder, name)
        dist, _, version = stem.partition("-")
        if name.endswith(".egg-info"):
            version = version.split("-", 1)[0]
            if not version:
                version = _egg_info_version(path)
                read.append(os.path.join(path, "PKG-INFO") if os.path.isdir(path) else path)
        found.append((_canonical(dist), version, _top_level_names(path)))
    return found, read


# Per sys.path folder: (its stat and its read files' stats, what it holds).
_entries: dict[str, tuple[tuple[Any, ...], _Found]] = {}

# The listings outlive the kernel in a small file of the user's cache folder: a new
# kernel's first run reads one file instead of every distribution's top_level.txt or RECORD
# (250 distributions: 45 ms of CPU beside the first tracked cell, to 1-2 ms). An entry is
# used only while its folder's stat (and its version files' stats) are what they were when
# it was listed, as in memory. `XTRACK_CACHE_DIR` moves the folder; `off` keeps nothing.
_CACHE_VERSION = 1
_CACHE_FOLDERS = 256  # at most this many sys.path folders are kept (several environments)
_disk_loaded = False
_disk_dirty = False


def cache_dir() -> str | None:
    """The folder the tracker keeps its per-user caches in, or None when turned off."""
    chosen = os.environ.get("XTRACK_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "none") else chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jupyter_xtrack")


def _cache_file() -> str | None:
    folder = cache_dir()
    return None if folder is None else os.path.join(folder, "distributions.json")


def _stat_tuple(raw: Any) -> tuple[int, ...] | None:
    return None if raw is None else tuple(int(x) for x in raw)


def _load_disk() -> None:
    """Fill `_entries` from the cache file once per process (called under `_lock`); a
    missing, unreadable or foreign file is ignored."""
    global _disk_loaded
    _disk_loaded = True
    path = _cache_file()
    if path is None:
        return
    try:
        with open(path, "rb") as f:
            data = orjson.loads(f.read())
        if data.get("version") != _CACHE_VERSION:
            return
        for folder, (before, read, found) in data["folders"].items():
            key = (_stat_tuple(before), *((p, _stat_tuple(st)) for p, st in read))
            rows = [(str(c), str(v), [str(m) for m in tops]) for c, v, tops in found]
            _entries.setdefault(folder, (key, rows))
    except Exception:  # noqa: BLE001 - a cache: anything odd means it is not used
        return


def _save_disk() -> None:
    """Write the kept listings for the next kernel (called under `_lock`, after a folder was
    listed anew): to a new file, renamed over the old, so a reader never sees half."""
    global _disk_dirty
    _disk_dirty = False
    path = _cache_file()
    if path is None:
        return
    folders = {
        folder: [key[0], [[p, st] for p, st in key[1:]], found]
        for folder, (key, found) in list(_entries.items())[-_CACHE_FOLDERS:]
    }
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(orjson.dumps({"version": _CACHE_VERSION, "folders": folders}))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _entry(folder: str) -> tuple[tuple[Any, ...], _Found]:
    """One folder's distributions, listed again only when the folder or a file its versions
    came from changed (an install or uninstall adds or removes a `*.dist-info` folder, which
    changes the folder's mtime). Called under `_lock`."""
    global _disk_dirty
    if not _disk_loaded:
        _load_disk()
    cached = _entries.get(folder)
    if cached is not None:
        key = cached[0]
        if key == (_stat_key(folder), *((p, _stat_key(p)) for p, _ in key[1:])):
            return cached
    before = _stat_key(folder)
    found, read = _scan_entry(folder)
    key = (before, *((p, _stat_key(p)) for p in read))
    stamps = [k[2:] for k in (before, *(k for _, k in key[1:])) if k is not None]
    if before == _stat_key(folder) and all(max(t) < (time.time() - RACY_S) * 1e9 for t in stamps):
        _entries.pop(folder, None)  # re-inserted last: the most recently listed are kept
        _entries[folder] = (key, found)
        # a folder without distributions (the notebook's, written to by cells) costs one
        # listing to look at again: not worth a write of the file each time it changes
        _disk_dirty = _disk_dirty or bool(found)
    return key, found


_contents: dict[str, tuple[_Found, int]] = {}
_tokens = itertools.count()


def _content_token(folder: str, found: _Found) -> int:
    """A number for what `folder` holds, new whenever its distributions differ from the last
    look's: a notebook's folder that a cell wrote a data file to is listed again (its stat
    changed) but keeps its token, so the index, the imported set and the run's environment
    blob are not rebuilt for it. Called under `_lock`."""
    known = _contents.get(folder)
    if known is not None and (known[0] is found or known[0] == found):
        return known[1]
    token = next(_tokens)
    _contents[folder] = (found, token)
    return token


def _merge(entries: list[tuple[str, _Found]]) -> _Index:
    """One index from the folders' distributions, in sys.path order."""
    versions: dict[str, str] = {}
    modules: dict[str, list[str]] = {}
    for _, found in entries:
        for canon, version, tops in found:
            if canon in versions:
                continue  # shadowed by an earlier sys.path entry, as for imports
            versions[canon] = version
            for module in tops:
                modules.setdefault(module, []).append(canon)
    return versions, modules


def _index() -> tuple[tuple[Any, ...], _Index]:
    """(signature, index) of the distributions installed on sys.path. The signature is
    equal for two calls when every folder holds the same distributions as it did (see
    `_content_token`; a folder whose other files changed keeps its token); the index is
    rebuilt only when it changes, so a `pip install` in the kernel is seen by the next call.

    Reads directory names and top_level.txt/RECORD directly: about 20x faster than
    importlib.metadata, which parses every METADATA file; a folder is read again only when
    it changed, so a repeat call costs a stat per folder.
    """
    global _dist_index
    with _lock:
        entries: list[tuple[str, _Found]] = []
        keys: list[Any] = []
        for entry in list(sys.path):
            folder = os.path.abspath(entry or ".")
            _, found = _entry(folder)
            entries.append((folder, found))
            keys.append((folder, _content_token(folder, found)))
        if _disk_dirty:
            _save_disk()
        signature = tuple(keys)
        if _dist_index is None or _dist_index[0] != signature:
            _dist_index = (signature, _merge(entries))
        return _dist_index


def packages_signature() -> tuple[Any, ...]:
    """Equal for two calls exactly when the installed distributions are the same: cache
    anything derived from ``installed_distributions`` under it."""
    return _index()[0]


def installed_distributions() -> dict[str, str]:
    """Return ``{canonical distribution name: version}`` for everything on ``sys.path``
    (the names are PEP 503 normalised: ``scikit-learn``, ``pyyaml``). Kept per folder of
    sys.path and read again when the folder changes, so a call after ``pip install`` sees
    the new distribution and a repeat call costs a stat per folder."""
    return dict(_index()[1][0])


def imported_distributions(modules: Iterable[str]) -> dict[str, str]:
    """Return ``{distribution: version}`` for the installed distributions providing the given
    imported module names (typically ``sys.modules``). Standard-library and local modules map
    to nothing. Cached per set of names and installed distributions: a repeat call costs
    tens of microseconds.
    """
    return imported_with_signature(modules)[1]


def imported_with_signature(modules: Iterable[str]) -> tuple[tuple[Any, ...], dict[str, str]]:
    """``(packages_signature(), imported_distributions(modules))`` from one look at sys.path:
    half the stats of the two calls, half the listings of a folder changed in the last
    `RACY_S` (a notebook's folder a cell just wrote to is read again on every look), and the
    two agree even when a package is installed meanwhile."""
    signature, (versions, by_module) = _index()
    try:
        # keyed on the full names: building this set runs at C speed, splitting names does not
        names = frozenset(modules)
    except Exception:
        return signature, {}
    key = (signature, names)
    cached = _imported_cache.get(key)
    if cached is not None:
        return signature, dict(cached)
    # A kernel's modules only grow: from the last set under the same packages, only the
    # new names are split and looked up (2,000 modules loaded, 40 new: 1.4 -> 0.1 ms)
    last = _imported_last.get(signature)
    if last is not None and last[0] <= names:
        tops, out = set(last[1]), dict(last[2])
        fresh = names - last[0]
    else:
        tops, out, fresh = set(), {}, names
    for top in {m.partition(".")[0] for m in fresh if isinstance(m, str)} - tops:
        tops.add(top)
        dists = by_module.get(top)
        if dists is None:
            # editable installs list only a .pth file: match the module to the dist name
            canon = _canonical(top)
            dists = [canon] if canon in versions else []
        for dist in dists:
            out[dist] = versions.get(dist, "")
    result = dict(sorted(out.items()))
    if len(_imported_cache) >= _IMPORTED_CACHE_SIZE:
        _imported_cache.clear()  # sets only grow within a session; old ones are not reused
    _imported_cache[key] = result
    _imported_last.clear()
    _imported_last[signature] = (names, frozenset(tops), result)
    return signature, dict(result)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "Hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=2,
                check=False,
            )
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None


def _physical_cores() -> int | None:
    try:
        import psutil

        cores: int | None = psutil.cpu_count(logical=False)
        return cores
    except Exception:
        return None


def _gpus_from_torch() -> list[dict[str, Any]] | None:
    torch = sys.modules.get("torch")
    # Only when the user's code already initialised CUDA: initialising it from here would
    # claim GPU memory and break fork()-based DataLoader workers.
    if torch is None or not torch.cuda.is_initialized():
        return None
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        gpus.append(
            {
                "name": props.name,
                "memory_bytes": int(props.total_memory),
                "cuda": torch.version.cuda,
                "source": "torch",
            }
        )
    return gpus


def _gpus_from_nvml() -> list[dict[str, Any]] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else driver
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                {
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "memory_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                    "source": "nvml",
                }
            )
        return gpus
    except Exception:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _parse_nvidia_smi(text: str) -> list[dict[str, Any]]:
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3 or not parts[0]:
            continue
        memory = None
        mem = parts[1].split()
        if mem and mem[0].isdigit():
            scale = {"MiB": 1 << 20, "GiB": 1 << 30, "KiB": 1 << 10}.get(mem[-1], 1 << 20)
            memory = int(mem[0]) * scale
        gpus.append(
            {"name": parts[0], "memory_bytes": memory, "driver": parts[2], "source": "nvidia-smi"}
        )
    return gpus


def _gpus_from_nvidia_smi(timeout: float = 3.0) -> list[dict[str, Any]] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return _parse_nvidia_smi(out.stdout) if out.returncode == 0 else None


def _gpus() -> list[dict[str, Any]]:
    for probe in (_gpus_from_torch, _gpus_from_nvml, _gpus_from_nvidia_smi):
        try:
            found = probe()
        except Exception:
            found = None
        if found:
            return found
    return []


def _compute_static() -> dict[str, Any]:
    uname = platform.uname()
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {"system": uname.system, "release": uname.release, "machine": uname.machine},
        "hardware": {
            "cpu_model": _cpu_model(),
            "cores_logical": os.cpu_count(),
            "cores_physical": _physical_cores(),
            "memory_bytes": _memory_bytes(),
            "gpus": _gpus(),
        },
    }


def static_environment() -> dict[str, Any]:
    """Return the interpreter, platform and hardware (which do not change while a kernel
    lives) and the installed packages as they are now (a fresh copy each call).

    ``{python: {version, implementation, executable}, platform: {system, release, machine},
    packages: {dist: version}, hardware: {cpu_model, cores_logical, cores_physical,
    memory_bytes, gpus: [{name, memory_bytes, driver or cuda, source}]}}``. The fixed part is
    computed once per process (tens of milliseconds, more with nvidia-smi; run the first call
    off the kernel's thread); ``packages`` is ``installed_distributions()``, so a ``pip
    install`` in the kernel shows in the next call. GPUs come from torch only when CUDA is
    already initialised, else NVML (pynvml) or ``nvidia-smi``; never imports torch.
    """
    global _static
    static = _static
    if static is None:
        static = _compute_static()
        with _lock:
            _static = static = _static or static
    return {**copy.deepcopy(static), "packages": installed_distributions()}


def environment(modules: Iterable[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """``static_environment()`` plus ``imported`` (distributions the kernel has imported, see
    ``imported_distributions``) and ``env_vars`` (``allowed_env(environ)``)."""
    env = static_environment()
    env["imported"] = imported_distributions(modules)
    env["env_vars"] = allowed_env(environ)
    return env
