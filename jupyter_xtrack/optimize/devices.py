"""Where trials run: the device torch work goes to, and a limit on concurrent trials per
device (`XTRACK_TRIALS_PER_DEVICE`, default 1 per GPU; the CPU is not limited)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_slots: dict[str, threading.BoundedSemaphore] = {}
_lock = threading.Lock()
_per_device: int | None = None


def set_trials_per_device(n: int) -> None:
    """How many trials may use one GPU at the same time (across jobs of this kernel)."""
    global _per_device
    if n < 1:
        raise ValueError(f"trials per device must be at least 1, got {n}")
    with _lock:
        _per_device = n
        _slots.clear()


def trials_per_device() -> int:
    if _per_device is not None:
        return _per_device
    try:
        return max(1, int(os.environ.get("XTRACK_TRIALS_PER_DEVICE", "1")))
    except ValueError:
        return 1


def torch_device(load_torch: bool = False) -> str:
    """"cuda:N" when torch sees a GPU, else "cpu". Without `load_torch`, torch is asked only
    if it is already imported (a scikit-learn search must not pay for importing it)."""
    import sys

    if load_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            return "cpu"
    torch_mod = sys.modules.get("torch")
    try:
        if torch_mod is not None and torch_mod.cuda.is_available():
            return f"cuda:{torch_mod.cuda.current_device()}"
    except Exception:  # noqa: BLE001 - a broken CUDA set-up means CPU
        pass
    return "cpu"


@contextmanager
def device_slot(device: str) -> Iterator[str]:
    """Hold one of the device's trial slots while the block runs (no limit on the CPU)."""
    if not device.startswith("cuda"):
        yield device
        return
    with _lock:
        sem = _slots.get(device)
        if sem is None:
            sem = _slots[device] = threading.BoundedSemaphore(trials_per_device())
    with sem:
        yield device
