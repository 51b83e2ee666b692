"""System metrics over time: CPU, memory and GPU of a run, sampled while it runs.

As MLflow (2.8+) and W&B do, a run that lasts longer than one interval gets histories of
`system/*` metrics, one point per interval (step 0, 1, 2, ...):

- `system/cpu_percent`: this process's CPU use over the interval, all threads (100 = one core);
- `system/rss_mb`: this process's resident memory;
- `system/gpu{i}/utilization_percent`, `system/gpu{i}/memory_mb`: each GPU's utilisation and
  memory in use, from NVML (`pynvml`, the `nvidia-ml-py` package) when it is importable, else
  memory only, from torch when torch is already imported with CUDA initialised (never
  imported here: that would cost seconds and GPU memory).

One daemon thread per process serves every run being sampled, so starting and stopping a
run's sampling costs the cell a lock and a notify, never a thread start. The thread reads
`/proc` and NVML (microseconds), holds no lock while it does, and hands each sample to the
run's `emit` callback. A reading that fails is left out of that sample; a GPU library that
fails once is not asked again.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..facts import SYSTEM_METRIC_PREFIX

__all__ = [
    "DEFAULT_INTERVAL_S",
    "SystemSampler",
    "Subscription",
    "interval_from",
    "is_system_metric",
    "sampler",
    "user_first",
]

DEFAULT_INTERVAL_S = 1.0
MIN_INTERVAL_S = 0.05  # below this the samples would cost more than they tell
PREFIX = SYSTEM_METRIC_PREFIX

V = TypeVar("V")
Emit = Callable[[dict[str, float], int, float], None]  # (values, step, wall time)


def is_system_metric(key: str) -> bool:
    """True for the `system/*` metrics sampled here: views list them after the user's."""
    return key.startswith(PREFIX)


def user_first(items: Iterable[tuple[str, V]]) -> list[tuple[str, V]]:
    """Metric items with the user's before the system's, each kept in its order."""
    return sorted(items, key=lambda item: is_system_metric(item[0]))


def interval_from(value: Any) -> float | None:
    """The sampling interval a setting asks for: seconds (at least MIN_INTERVAL_S), or None
    for "off" (`0`, `off`, `false`, `no`, a negative number). ValueError for anything else."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("off", "false", "no", "none"):
            return None
        value = text
    seconds = float(value)
    if seconds != seconds or seconds <= 0:  # NaN or off
        return None
    return max(MIN_INTERVAL_S, seconds)


def _rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux /proc; psutil elsewhere, if loaded)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGESIZE") / 2**20
    except (OSError, ValueError, IndexError):
        psutil = sys.modules.get("psutil")
        if psutil is None:
            return None
        try:
            return float(psutil.Process().memory_info().rss) / 2**20
        except Exception:  # noqa: BLE001 - no memory figure this time
            return None


class _Gpus:
    """GPU readings: NVML when importable, else torch's view of memory when torch is
    already imported and has CUDA up; nothing (and never asked again) after a failure."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._nvml_failed = False

    def read(self) -> dict[str, float]:
        if not self._nvml_failed:
            try:
                return self._read_nvml()
            except Exception:  # noqa: BLE001 - no NVML here: try torch from now on
                self._nvml_failed = True
        return self._read_torch()

    def _read_nvml(self) -> dict[str, float]:
        if self._nvml is None:
            import pynvml  # lazy: optional, and imported on the sampler thread, never the cell's

            pynvml.nvmlInit()
            self._handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
            self._nvml = pynvml
        nvml, out = self._nvml, {}
        for i, handle in enumerate(self._handles):
            out[f"{PREFIX}gpu{i}/utilization_percent"] = float(
                nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            )
            out[f"{PREFIX}gpu{i}/memory_mb"] = nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
        return out

    @staticmethod
    def _read_torch() -> dict[str, float]:
        torch = sys.modules.get("torch")
        out: dict[str, float] = {}
        try:
            if torch is None or not torch.cuda.is_initialized():
                return out
            for i in range(torch.cuda.device_count()):
                free, total = torch.cuda.mem_get_info(i)
                out[f"{PREFIX}gpu{i}/memory_mb"] = (total - free) / 2**20
        except Exception:  # noqa: BLE001 - no GPU figures this time
            return {}
        return out


@dataclass(eq=False)
class Subscription:
    """One run's sampling: its interval, its callback, and where its samples are."""

    interval: float
    emit: Emit
    next_due: float
    step: int = 0
    cpu0: float = field(default_factory=time.process_time)
    wall0: float = field(default_factory=time.perf_counter)
    active: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)


class SystemSampler:
    """The process's sampling thread (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._subs: list[Subscription] = []
        self._thread: threading.Thread | None = None
        self._gpus = _Gpus()

    def subscribe(self, interval: float, emit: Emit) -> Subscription:
        """Sample every `interval` seconds from now on, first after one interval."""
        now = time.perf_counter()
        sub = Subscription(interval=interval, emit=emit, next_due=now + interval, wall0=now)
        with self._cond:
            self._subs.append(sub)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="xtrack-system-metrics", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return sub

    def unsubscribe(self, sub: Subscription) -> int:
        """Stop sampling `sub`; returns the number of samples it got. Once this returns, its
        `emit` is not called again (a sample in progress finishes first)."""
        with self._cond:
            if sub in self._subs:
                self._subs.remove(sub)
        with sub.lock:
            sub.active = False
        return sub.step

    def _loop(self) -> None:
        while True:
            with self._cond:
                now = time.perf_counter()
                due = [s for s in self._subs if s.next_due <= now]
                if not due:
                    wait = min((s.next_due for s in self._subs), default=now + 3600.0) - now
                    self._cond.wait(timeout=wait)
                    continue
                for s in due:  # keep the cadence; never queue up missed samples
                    s.next_due = max(s.next_due + s.interval, now + s.interval / 2)
            self._sample(due)

    def _sample(self, due: list[Subscription]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        shared: dict[str, float] = {}
        rss = _rss_mb()
        if rss is not None:
            shared[f"{PREFIX}rss_mb"] = rss
        shared.update(self._gpus.read())
        stamp = time.time()
        for sub in due:
            with sub.lock:
                if not sub.active:
                    continue
                values = dict(shared)
                if wall > sub.wall0:
                    values[f"{PREFIX}cpu_percent"] = 100.0 * (cpu - sub.cpu0) / (wall - sub.wall0)
                sub.cpu0, sub.wall0 = cpu, wall
                try:
                    sub.emit(values, sub.step, stamp)
                except Exception:  # noqa: BLE001 - a failing sink loses its samples, not the thread
                    continue
                sub.step += 1


_SAMPLER: SystemSampler | None = None
_SAMPLER_LOCK = threading.Lock()


def sampler() -> SystemSampler:
    """The process's sampler, made on first use."""
    global _SAMPLER
    if _SAMPLER is None:
        with _SAMPLER_LOCK:
            if _SAMPLER is None:
                _SAMPLER = SystemSampler()
    return _SAMPLER
