"""A kernel whose team store (PostgreSQL) is unreachable keeps tracking into its local store,
says so once, goes back to the team store when it answers, and `xtrack push` copies what was
kept locally (tracking/team.py, tracking/session.py).

The team store is a real PostgreSQL server (the `postgres` fixture) reached through a
`Gate`: a TCP relay on a port of its own that the test opens and shuts, so that the
kernel's URL never changes while the server becomes reachable or not, as a database behind
a VPN or on a laptop's lost Wi-Fi does.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.cli import main as xtrack_main
from jupyter_xtrack.store import open_store
from jupyter_xtrack.tracking import team
from jupyter_xtrack.tracking.session import CONTEXT
from tests.conftest import run_cell

UNREACHABLE = "is unreachable"
BACK = "is reachable again"


class Gate:
    """A TCP relay from a free loopback port to `target`; closed (nothing listens, the
    connections it relayed are cut) until `open()`."""

    def __init__(self, target: int) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def shut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: nothing listens
            server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # shut
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def gated(
    postgres: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Gate, str, str]]:
    """(gate, URL through the gate, direct URL) of a new database; the gate starts shut.
    Retries are not rate-limited and a try may take as long as it needs, so which store a
    run goes to does not depend on the machine's speed."""
    direct = str(postgres.create_database())
    gate = Gate(postgres.port)
    through = direct.replace(f":{postgres.port}/", f":{gate.port}/")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the team store's blobs
    monkeypatch.setattr(team, "RETRY_INTERVAL_S", 0.0)
    monkeypatch.setattr(team, "FIRST_WAIT_S", 60.0)
    monkeypatch.setattr(team, "PROBE_WAIT_S", 60.0)
    yield gate, through, direct
    CONTEXT.reset()
    gate.shut()


def names(url_or_path: str | Path) -> list[str]:
    store = open_store(url_or_path)
    try:
        return sorted(store.query_runs().columns["name"])
    finally:
        store.close()


def tracked(shell: Any, name: str) -> None:
    result = run_cell(shell, f"%%track --name {name}\nacc = 0.5\nxt.log(loss=1.0)")
    assert result.success, result.error_in_exec


def said(capsys: pytest.CaptureFixture[str], shell: Any, line: str) -> str:
    capsys.readouterr()
    shell.run_line_magic("xtrack", line)
    return capsys.readouterr().out


def test_unreachable_team_store_keeps_runs_locally_then_goes_back_and_push_copies_them(
    shell: Any,
    workdir: Path,
    gated: tuple[Gate, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate, url, direct = gated
    monkeypatch.setenv("XTRACK_STORE", url)
    local = workdir / ".xtrack"

    for n in range(3):
        tracked(shell, f"offline-{n}")
    err = capsys.readouterr().err
    assert err.count(UNREACHABLE) == 1, err  # once per kernel, not per cell
    message = next(line for line in err.splitlines() if UNREACHABLE in line)
    assert f"port {gate.port}" in message and str(local) in message and "xtrack push" in message
    assert names(local) == ["offline-0", "offline-1", "offline-2"]
    assert names(direct) == []
    run_cell(shell, "seen = sorted(xt.runs()['name'])")
    assert shell.user_ns["seen"] == ["offline-0", "offline-1", "offline-2"]
    status = said(capsys, shell, "store")
    assert str(local) in status and "unreachable" in status and f":{gate.port}/" in status

    gate.open()
    tracked(shell, "online-0")
    tracked(shell, "online-1")
    err = capsys.readouterr().err
    assert err.count(BACK) == 1 and UNREACHABLE not in err, err
    assert names(direct) == ["online-0", "online-1"]
    assert names(local) == ["offline-0", "offline-1", "offline-2"]  # no run split or moved
    run_cell(shell, "seen = sorted(xt.runs()['name'])")
    assert shell.user_ns["seen"] == ["online-0", "online-1"]
    assert "(the team store; reachable)" in said(capsys, shell, "store")

    # `xtrack push` with XTRACK_STORE naming the team store: local runs go there.
    assert xtrack_main(["push"]) == 0
    assert "runs: 3 copied" in capsys.readouterr().out
    assert names(direct) == ["offline-0", "offline-1", "offline-2", "online-0", "online-1"]
    kept = open_store(local).get_run(2)
    copied = open_store(direct).get_run(kept["id"])
    assert copied["name"] == "offline-1" and copied["metrics"] == kept["metrics"]
    assert copied["metrics"]["loss"] == 1.0
    assert xtrack_main(["push"]) == 0
    assert "runs: 0 copied, 0 updated, 3 unchanged" in capsys.readouterr().out


def test_team_store_lost_mid_session_sends_new_runs_local_without_splitting_one(
    shell: Any,
    workdir: Path,
    gated: tuple[Gate, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate, url, direct = gated
    gate.open()
    monkeypatch.setenv("XTRACK_STORE", url)
    tracked(shell, "before")
    assert names(direct) == ["before"]
    assert UNREACHABLE not in capsys.readouterr().err

    gate.shut()
    # The run that meets the lost store stays with it (its writer keeps it for a retry); the
    # cell is not held and does not fail.
    result = shell.run_cell("%%track --name during\nacc = 0.7", store_history=True)
    assert result.success, result.error_in_exec
    _wait_until_no_run_in_flight()
    tracked(shell, "after-0")
    tracked(shell, "after-1")
    err = capsys.readouterr().err
    assert err.count(UNREACHABLE) == 1, err
    assert names(workdir / ".xtrack") == ["after-0", "after-1"]  # never "during": not split
    assert "unreachable" in said(capsys, shell, "store")

    gate.open()  # the run kept by the team store's writer is stored whole once it is back
    deadline = time.monotonic() + 120
    while names(direct) != ["before", "during"]:
        assert time.monotonic() < deadline, names(direct)
        time.sleep(0.1)
    tracked(shell, "back")
    assert names(direct) == ["back", "before", "during"]
    assert names(workdir / ".xtrack") == ["after-0", "after-1"]
    during = open_store(direct).get_run(2)
    assert during["name"] == "during" and during["status"] == "finished"
    assert during["metrics"] == {"acc": 0.7}


def _wait_until_no_run_in_flight() -> None:
    """The previous cell's run is finalised in the background; the store may change only
    after (a wait for the machine, not a timing assertion)."""
    deadline = time.monotonic() + 120
    while CONTEXT.writer().watching():
        assert time.monotonic() < deadline, "the previous run was never finished"
        time.sleep(0.05)


def test_store_magic_with_an_unreachable_url_keeps_runs_locally_and_retries_no_sooner_than_due(
    shell: Any,
    workdir: Path,
    gated: tuple[Gate, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate, url, direct = gated
    monkeypatch.setattr(team, "RETRY_INTERVAL_S", 3600.0)
    shell.run_line_magic("xtrack", f"store {url}")
    status, err = capsys.readouterr()
    assert "unreachable" in status and str(workdir / ".xtrack") in status
    assert err.count(UNREACHABLE) == 1, err
    tracked(shell, "kept-0")
    gate.open()  # back, but the next try is an hour away: runs stay local meanwhile
    tracked(shell, "kept-1")
    assert names(workdir / ".xtrack") == ["kept-0", "kept-1"]
    assert names(direct) == []
    assert UNREACHABLE not in capsys.readouterr().err


class Silent:
    """A port that accepts connections and never answers (a firewall dropping packets, a
    hung server): a try at it ends only at the client's connect timeout."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])


def test_a_team_store_that_never_answers_holds_the_first_run_only_for_the_short_wait(
    shell: Any,
    workdir: Path,
    gated: tuple[Gate, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silent = Silent()
    monkeypatch.setattr(team, "FIRST_WAIT_S", 0.2)
    monkeypatch.setattr(team, "RETRY_INTERVAL_S", 3600.0)
    monkeypatch.setenv("XTRACK_STORE", f"postgresql://xtrack@127.0.0.1:{silent.port}/x")
    try:
        tracked(shell, "not-held")
        err = capsys.readouterr().err
        assert err.count(UNREACHABLE) == 1 and "did not answer within 0.2 s" in err, err
        assert names(workdir / ".xtrack") == ["not-held"]
    finally:
        silent.server.close()


def test_a_real_kernel_on_an_unreachable_team_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbclient: a Jupyter kernel with XTRACK_STORE at a port where nothing listens runs
    every cell, tells once, and its runs are in the local store."""
    from nbclient import NotebookClient

    from tests.conftest import python_notebook

    pytest.importorskip("psycopg", reason="pip install 'jupyter_xtrack[teams]'")
    closed = Gate(0)  # never opened: nothing listens on its port
    monkeypatch.setenv("XTRACK_STORE", f"postgresql://xtrack@127.0.0.1:{closed.port}/x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        *[f"%%track --name k{n}\nacc = {n}" for n in range(3)],
        "%xtrack store",
    )
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    stderr = [o.get("text", "") for c in nb.cells for o in c.outputs if o.get("name") == "stderr"]
    assert sum(t.count(UNREACHABLE) for t in stderr) == 1, stderr
    assert names(tmp_path / ".xtrack") == ["k0", "k1", "k2"]
    shown = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "unreachable" in shown and str(tmp_path / ".xtrack") in shown
