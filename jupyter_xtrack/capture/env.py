"""The software and hardware a run used: Python, platform, installed and imported
distributions, CPU, memory, GPUs, and the allowlisted environment variables.
"""

from __future__ import annotations

import copy
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from jupyter_xtrack.capture.redact import allowed_env

__all__ = ["environment", "imported_distributions", "installed_distributions", "static_environment"]

_lock = threading.Lock()
_static: dict[str, Any] | None = None
_dist_index: tuple[dict[str, str], dict[str, list[str]]] | None = None
_imported_cache: dict[frozenset[str], dict[str, str]] = {}
_IMPORTED_CACHE_SIZE = 32


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


def _scan_distributions() -> tuple[dict[str, str], dict[str, list[str]]]:
    """({canonical dist name: version}, {top-level module: [dist names]}) from sys.path.

    Reads directory names and top_level.txt/RECORD directly: about 20x faster than
    importlib.metadata, which parses every METADATA file.
    """
    versions: dict[str, str] = {}
    modules: dict[str, list[str]] = {}
    for entry in list(sys.path):
        try:
            listing = list(os.scandir(entry or "."))
        except OSError:
            continue
        for item in listing:
            name = item.name
            if name.endswith(".dist-info"):
                stem = name[: -len(".dist-info")]
            elif name.endswith(".egg-info"):
                stem = name[: -len(".egg-info")]
            else:
                continue
            dist, _, version = stem.partition("-")
            canon = _canonical(dist)
            if canon in versions:
                continue  # shadowed by an earlier sys.path entry, as for imports
            if name.endswith(".egg-info"):
                version = version.split("-", 1)[0] or _egg_info_version(item.path)
            versions[canon] = version
            for module in _top_level_names(item.path):
                modules.setdefault(module, []).append(canon)
    return versions, modules


def _index() -> tuple[dict[str, str], dict[str, list[str]]]:
    global _dist_index
    if _dist_index is None:
        with _lock:
            if _dist_index is None:
                _dist_index = _scan_distributions()
    return _dist_index


def installed_distributions() -> dict[str, str]:
    """Return ``{canonical distribution name: version}`` for everything on ``sys.path``
    (cached per process; the names are PEP 503 normalised: ``scikit-learn``, ``pyyaml``)."""
    return dict(_index()[0])


def imported_distributions(modules: Iterable[str]) -> dict[str, str]:
    """Return ``{distribution: version}`` for the installed distributions providing the given
    imported module names (typically ``sys.modules``). Standard-library and local modules map
    to nothing. Cached per set of top-level names: a repeat call costs tens of microseconds.
    """
    try:
        # keyed on the full names: building this set runs at C speed, splitting names does not
        key = frozenset(modules)
    except Exception:
        return {}
    cached = _imported_cache.get(key)
    if cached is not None:
        return dict(cached)
    tops = {m.partition(".")[0] for m in key if isinstance(m, str)}
    versions, by_module = _index()
    out: dict[str, str] = {}
    for top in tops:
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
    return dict(result)


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
                capture_output=True, text=True, timeout=2, check=False,
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
            capture_output=True, text=True, timeout=timeout, check=False,
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
        "packages": dict(_index()[0]),
        "hardware": {
            "cpu_model": _cpu_model(),
            "cores_logical": os.cpu_count(),
            "cores_physical": _physical_cores(),
            "memory_bytes": _memory_bytes(),
            "gpus": _gpus(),
        },
    }


def static_environment() -> dict[str, Any]:
    """Return the facts that do not change while a kernel lives (a fresh copy each call).

    ``{python: {version, implementation, executable}, platform: {system, release, machine},
    packages: {dist: version}, hardware: {cpu_model, cores_logical, cores_physical,
    memory_bytes, gpus: [{name, memory_bytes, driver or cuda, source}]}}``. Computed once per
    process (tens of milliseconds, more with nvidia-smi; run it off the kernel's thread).
    GPUs come from torch only when CUDA is already initialised, else NVML (pynvml) or
    ``nvidia-smi``; never imports torch.
    """
    global _static
    if _static is None:
        with _lock:
            static = _static
        if static is None:
            static = _compute_static()
            with _lock:
                _static = _static or static
    return copy.deepcopy(_static)


def environment(modules: Iterable[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """``static_environment()`` plus ``imported`` (distributions the kernel has imported, see
    ``imported_distributions``) and ``env_vars`` (``allowed_env(environ)``)."""
    env = static_environment()
    env["imported"] = imported_distributions(modules)
    env["env_vars"] = allowed_env(environ)
    return env
