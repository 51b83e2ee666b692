"""What a cell cost: wall time, CPU time, peak memory (and peak GPU memory under torch), and,
when asked, CPU, memory and GPU over time (`system_metrics.py` samples them)."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .system_metrics import Emit, Subscription

__all__ = ["ResourceMeter"]


class _ProcFile:
    """A file of /proc/self kept open, so reading or writing it is one system call rather
    than an open, reads and a close: each call releases the GIL, and in a Run All the
    tracker's background threads (the previous cell's capture) take it and keep it up to the
    switch interval, about 0.4 ms a call measured on the cell's path. Opened again in a forked
    child, whose /proc/self is another file."""

    def __init__(self, path: str, flags: int) -> None:
        self._path = path
        self._flags = flags | getattr(os, "O_CLOEXEC", 0)
        self._fd = -1
        self._ident: tuple[int, int] | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def fd(self, verify: bool = False) -> int:
        """The open descriptor (OSError when the file cannot be opened). With `verify` it is
        first checked to be this file still: a cell may have closed it and another file
        taken its number, which must never be written to (one `fstat` more)."""
        pid = os.getpid()
        if self._pid == pid and (not verify or self._holds(self._fd)):
            return self._fd
        with self._lock:
            if self._pid != pid or (verify and not self._holds(self._fd)):
                stale = self._fd if self._pid != pid and self._holds(self._fd) else -1
                fd = os.open(self._path, self._flags)
                st = os.fstat(fd)
                self._fd, self._ident, self._pid = fd, (st.st_dev, st.st_ino), pid
                if stale >= 0:
                    os.close(stale)  # the parent's, inherited by this forked child
        return self._fd

    def _holds(self, fd: int) -> bool:
        """Whether `fd` is still the file this opened."""
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._ident


_STATUS = _ProcFile("/proc/self/status", os.O_RDONLY)
_CLEAR_REFS = _ProcFile("/proc/self/clear_refs", os.O_WRONLY)


def _status_kb() -> tuple[int | None, int | None]:
    """(VmHWM, VmRSS) in kB from /proc/self/status, None where unavailable."""
    try:
        data = os.pread(_STATUS.fd(), 65536, 0)  # the file is produced afresh at offset 0
        if not data.startswith(b"Name:"):  # its number now another file's (closed by a cell)
            data = os.pread(_STATUS.fd(verify=True), 65536, 0)
    except (OSError, AttributeError):  # no /proc; no pread (Windows)
        return None, None
    hwm = rss = None
    i = data.find(b"VmHWM:")
    if i >= 0:
        hwm = int(data[i + 6 : data.index(b"kB", i)])
    i = data.find(b"VmRSS:")
    if i >= 0:
        rss = int(data[i + 6 : data.index(b"kB", i)])
    return hwm, rss


def _reset_peak_rss() -> bool:
    # Linux >= 4.0: writing 5 resets the peak RSS (VmHWM) to the current RSS
    try:
        os.write(_CLEAR_REFS.fd(verify=True), b"5")
        return True
    except OSError:
        return False


def _lifetime_peak_rss() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS bytes, Linux kB


class ResourceMeter:
    """Measure one stretch of work: ``start()``, run it, ``stop()``.

    Peak RSS is per cell on Linux (the kernel's high-water mark is reset at ``start()``);
    elsewhere, or where resetting is not permitted, it is the process-lifetime peak and the
    result says so with ``peak_rss_scope: "process"``. Costs tens of microseconds.
    """

    def __init__(self) -> None:
        self._wall0 = 0.0
        self._cpu0 = 0.0
        self._peak_scope = "process"
        self._gpu_reset = False
        self._sampling: Subscription | None = None

    def start(self, sample_every: float | None = None, emit: Emit | None = None) -> None:
        """Begin measuring (resets the peak-RSS and, when used, peak-GPU high-water marks).
        With `sample_every` seconds and `emit`, system metrics are also sampled every
        `sample_every` seconds until `stop()` and handed to `emit(values, step, wall_time)`
        from the sampler's thread (the first after one interval: a shorter run gets none)."""
        if sample_every and emit is not None:
            # lazy: only runs that sample load it
            from .system_metrics import sampler

            self._sampling = sampler().subscribe(sample_every, emit)
        self._peak_scope = "cell" if _reset_peak_rss() else "process"
        self._gpu_reset = False
        torch = sys.modules.get("torch")
        # only when CUDA is already up: initialising it here would cost seconds and memory
        if torch is not None and torch.cuda.is_initialized():
            try:
                for i in range(torch.cuda.device_count()):
                    torch.cuda.reset_peak_memory_stats(i)
                self._gpu_reset = True
            except Exception:
                pass
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        """Return ``{wall_s, cpu_s, peak_rss_bytes, rss_bytes, peak_rss_scope}`` plus
        ``peak_gpu_bytes`` (summed over devices) when torch has CUDA initialised. ``cpu_s`` is
        process CPU time, all threads. Never raises; unknown figures are None."""
        wall = time.perf_counter() - self._wall0
        cpu = time.process_time() - self._cpu0
        if self._sampling is not None:
            # lazy: loaded by start() already
            from .system_metrics import sampler

            sampler().unsubscribe(self._sampling)
            self._sampling = None
        hwm, rss = _status_kb()
        scope = self._peak_scope
        if hwm is not None:
            peak: int | None = hwm * 1024
        else:
            peak, scope = _lifetime_peak_rss(), "process"
        out: dict[str, Any] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_bytes": peak,
            "rss_bytes": rss * 1024 if rss is not None else None,
            "peak_rss_scope": scope,
        }
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                if torch.cuda.is_initialized():
                    # initialised during the cell: the peak since then is the cell's anyway
                    out["peak_gpu_bytes"] = sum(
                        int(torch.cuda.max_memory_allocated(i))
                        for i in range(torch.cuda.device_count())
                    )
            except Exception:
                pass
        return out
