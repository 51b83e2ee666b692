"""What a cell cost: wall time, CPU time, peak memory (and peak GPU memory under torch)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

__all__ = ["ResourceMeter"]

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kb() -> tuple[int | None, int | None]:
    """(VmHWM, VmRSS) in kB from /proc/self/status, None where unavailable."""
    try:
        with open(_STATUS, "rb") as f:
            data = f.read()
    except OSError:
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
        fd = os.open(_CLEAR_REFS, os.O_WRONLY)
    except OSError:
        return False
    try:
        os.write(fd, b"5")
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


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

    def start(self) -> None:
        """Begin measuring (resets the peak-RSS and, when used, peak-GPU high-water marks)."""
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
