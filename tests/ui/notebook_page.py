"""Driving a notebook in JupyterLab or Notebook 7 from Playwright (same DOM for both)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from .conftest import JupyterServer

# The notebook on screen (JupyterLab keeps earlier notebooks open in hidden tabs).
NOTEBOOK = ".jp-Notebook:visible"


def open_notebook(page: Any, server: JupyterServer, name: str) -> None:
    """Open `name` and wait until its kernel has started and is idle."""
    page.goto(server.notebook_url(name))
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell", state="visible")
    wait_kernel_idle(server, name)
    # The page learns the kernel state over its websocket a moment after the server does.
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    time.sleep(1.0)


def wait_kernel_idle(server: JupyterServer, name: str, timeout_s: float = 90.0) -> None:
    """Wait until the server reports the notebook's kernel idle (REST /api/sessions)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(server.url("api/sessions"), timeout=5) as resp:
            sessions = json.loads(resp.read())
        for session in sessions:
            if session.get("path", "").endswith(name):
                if (session.get("kernel") or {}).get("execution_state") == "idle":
                    return
        time.sleep(0.3)
    raise TimeoutError(f"no idle kernel for {name} after {timeout_s} s")


def cell(page: Any, index: int) -> Any:
    return page.locator(f"{NOTEBOOK} .jp-Cell").nth(index)


def run_cell(page: Any, index: int) -> None:
    """Select cell `index` and run it (Shift+Enter), without waiting for it to finish."""
    c = cell(page, index)
    c.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")


def wait_cell_done(page: Any, index: int, timeout_s: float = 120.0) -> None:
    """Wait until cell `index` has an execution count (it ran to the end)."""
    deadline = time.monotonic() + timeout_s
    prompt = cell(page, index).locator(".jp-InputArea-prompt")
    while time.monotonic() < deadline:
        text = prompt.inner_text().strip()
        if text.startswith("[") and text[1:-2].strip().isdigit():
            return
        time.sleep(0.2)
    raise TimeoutError(f"cell {index} did not finish in {timeout_s} s (prompt {text!r})")


def outputs(page: Any, index: int) -> Any:
    return cell(page, index).locator(".jp-OutputArea-output")
