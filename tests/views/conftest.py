"""A real ipykernel for the widget tests: messages are read as a front end reads them."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class Kernel:
    """A started kernel and a client; `execute` returns the iopub messages of one cell."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km = km
        self.kc = kc

    def execute(self, code: str, timeout: float = 120.0) -> list[dict[str, Any]]:
        msg_id = self.kc.execute(code)
        msgs: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            # Widget updates sent from background threads may carry another parent: keep all.
            msgs.append(msg)
            mine = msg["parent_header"].get("msg_id") == msg_id
            if mine and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                reply = self.kc.get_shell_msg(timeout=timeout)
                assert reply["content"]["status"] == "ok", reply["content"]
                return msgs
        raise TimeoutError(f"cell did not finish in {timeout} s: {code[:80]!r}")

    def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Messages that arrive in the next `seconds` (background updates)."""
        msgs: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msgs.append(self.kc.get_iopub_msg(timeout=0.2))
            except queue.Empty:
                pass
        return msgs

    def send_custom(self, model_id: str, content: dict[str, Any]) -> None:
        """What the page sends for `model.send(content)`: an ipywidgets custom comm message."""
        msg = self.kc.session.msg(
            "comm_msg", {"comm_id": model_id, "data": {"method": "custom", "content": content}}
        )
        self.kc.shell_channel.send(msg)

    def send_state(self, model_id: str, state: dict[str, Any]) -> None:
        """What the page sends for `model.set(...); model.save_changes()`."""
        msg = self.kc.session.msg(
            "comm_msg",
            {"comm_id": model_id, "data": {"method": "update", "state": state, "buffer_paths": []}},
        )
        self.kc.shell_channel.send(msg)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    from jupyter_client.manager import start_new_kernel

    work: Path = tmp_path_factory.mktemp("kernel")
    env = {**os.environ, "XTRACK_STORE": str(work / "store"), "XTRACK_WIDGETS": "1"}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(work), env=env)
    k = Kernel(km, kc)
    try:
        k.execute("%load_ext jupyter_xtrack")
        yield k
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def outputs(msgs: list[dict[str, Any]], kind: str = "display_data") -> list[dict[str, Any]]:
    return [m["content"] for m in msgs if m["msg_type"] == kind]


def comm_updates(msgs: list[dict[str, Any]], model_id: str) -> list[dict[str, Any]]:
    """The state updates the kernel sent for widget `model_id`."""
    return [
        m["content"]["data"]
        for m in msgs
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == model_id
    ]


def comm_opens(msgs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """model id -> initial state of every widget the kernel created."""
    return {
        m["content"]["comm_id"]: m["content"]["data"]["state"]
        for m in msgs
        if m["msg_type"] == "comm_open"
    }
