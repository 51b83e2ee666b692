"""Device placement: the visible device, and the limit on concurrent trials per GPU."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_xtrack.optimize import devices


def test_without_a_gpu_everything_runs_on_the_cpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert devices.torch_device(load_torch=True) == "cpu"


@pytest.mark.parametrize("per_device", [1, 2])
def test_trials_per_device_limits_concurrent_gpu_trials(per_device: int) -> None:
    devices.set_trials_per_device(per_device)
    try:
        active = {"now": 0, "max": 0}
        lock = threading.Lock()

        def trial() -> None:
            with devices.device_slot("cuda:0"):
                with lock:
                    active["now"] += 1
                    active["max"] = max(active["max"], active["now"])
                time.sleep(0.05)
                with lock:
                    active["now"] -= 1

        threads = [threading.Thread(target=trial) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert active["max"] == per_device
    finally:
        devices._per_device = None
        devices._slots.clear()


def test_the_cpu_is_not_limited() -> None:
    devices.set_trials_per_device(1)
    try:
        with devices.device_slot("cpu"), devices.device_slot("cpu"):
            pass  # a second slot on the CPU does not wait
    finally:
        devices._per_device = None
        devices._slots.clear()
    with pytest.raises(ValueError, match="at least 1"):
        devices.set_trials_per_device(0)
