"""The real-browser suite: a real `jupyter lab` / `jupyter notebook` server on a free port
with a token in a temporary root, driven by Playwright on Debian's Chromium.

Shared by every UI test (the in-notebook views here, the sidebar's tests later). Skips,
saying why, only when Playwright or /usr/bin/chromium is genuinely missing; `make test`
installs both. Screenshots go to tests/ui/screenshots/ (ignored by git).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SERVER_START_S = 90.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A running server: `url(path)` gives an authenticated address."""

    app: str  # "lab" or "notebook"
    port: int
    token: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"

    def notebook_url(self, name: str) -> str:
        # ?reset: a fresh JupyterLab workspace, so earlier tests' tabs are not restored.
        return self.url(f"lab/tree/{name}?reset" if self.app == "lab" else f"notebooks/{name}")

    def write_notebook(self, name: str, *sources: str) -> Path:
        """Save a notebook of code cells into the server's root."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def read_notebook(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.root / name).read_text()))


def _start(
    app: str, tmp: Path, python: str = sys.executable, env_overrides: Mapping[str, str | None] = {}
) -> JupyterServer:
    """Start `python -m jupyter APP` in `tmp`; `env_overrides` sets (or, with None, removes)
    environment variables of the server."""
    root = tmp / f"{app}-root"
    root.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / f"{app}.log"
    # No "official Jupyter news?" toast over the views in screenshots.
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "XTRACK_STORE": str(tmp / "store"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),  # no user settings leak in
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    cmd = [
        python, "-m", "jupyter", app, "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if app == "notebook":
        cmd = [c for c in cmd if not c.startswith("--LabApp")]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    server = JupyterServer(app, port, token, root, proc, log)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url("api/status"), timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"jupyter {app} did not start in {SERVER_START_S} s: {log.read_text()[-3000:]}")


def _stop(server: JupyterServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; `make test` does)")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium; `make test` does)")
    return sync_playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium, headless, launched by Playwright (never downloads a browser)."""
    sync_playwright = _browser_or_skip()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def running_server(
    app: str, tmp: Path, python: str = sys.executable, env_overrides: Mapping[str, str | None] = {}
) -> Iterator[JupyterServer]:
    """A `jupyter lab` or `jupyter notebook` server in `tmp` for the duration of the block,
    run by `python` (this interpreter unless told)."""
    server = _start(app, tmp, python, env_overrides)
    try:
        yield server
    finally:
        _stop(server)


@contextmanager
def browser_page(browser: Any, timeout_ms: int = 60_000) -> Iterator[Any]:
    """A page (1280x900) in a browser context of its own, closed after the block."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        pg = context.new_page()
        pg.set_default_timeout(timeout_ms)
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A `jupyter lab` server for the session."""
    _browser_or_skip()
    with running_server("lab", tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A `jupyter notebook` (Notebook 7) server for the session."""
    _browser_or_skip()
    with running_server("notebook", tmp_path_factory.mktemp("notebook")) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (1280x900)."""
    with browser_page(browser) as pg:
        yield pg


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/ui/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
