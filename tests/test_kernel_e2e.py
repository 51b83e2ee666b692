"""End to end in real kernels (nbclient / jupyter_client) and real processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook

pytestmark = pytest.mark.slow



def _env(store: Path) -> dict[str, str]:
    return {**os.environ, "XTRACK_STORE": str(store)}


def test_notebook_run_through_nbclient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        "%%track --name e2e\nlr = 0.1\nfor i in range(3):\n    xt.log(loss=1/(i+1), step=i)\nacc = 0.9",
        "%%track\nraise_it = False\n1 + 1",
        "%%track --name plot\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])",
    )
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "xtrack #1 e2e" in text and "finished" in text and "acc=0.9" in text
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "xtrack-summary" in html
    # the plain result of the third cell is still Out[n]
    assert any(o.get("data", {}).get("text/plain") == "2" for o in nb.cells[2].outputs)
    store = open_store(store_dir)
    table = store.query_runs(order_by="number")
    assert table.columns["name"] == ["e2e", None, "plot"]
    first = store.get_run(1)
    assert first["status"] == "finished" and first["params"]["lr"] == 0.1
    assert store.metric_history(first["id"], "loss")["step"] == [0, 1, 2]
    # the inline backend displays the figure after the body ran; it is still kept as a PNG
    plot = store.get_run(3)
    assert [a["media_type"] for a in plot["artifacts"]] == ["image/png"]
    assert any("image/png" in o.get("data", {}) for o in nb.cells[3].outputs)


def test_cell_id_sent_by_the_front_end_reaches_the_run(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=_env(store_dir))
    try:
        kc.execute_interactive("%load_ext jupyter_xtrack", timeout=60)
        # JupyterLab puts the cell's id in the execute request's metadata, as here.
        msg = kc.session.msg(
            "execute_request",
            {"code": "%%track\nx = 1", "silent": False, "store_history": True,
             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            metadata={"cellId": "cell-from-the-frontend-42"},
        )
        kc.shell_channel.send(msg)
        reply = kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "ok"
        kc.execute_interactive("xt.flush()", timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    run = open_store(store_dir).get_run(1)
    assert run["cell_id"] == "cell-from-the-frontend-42"


def test_killed_kernel_leaves_a_crashed_run_with_its_early_metrics(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=_env(store_dir))
    try:
        kc.execute_interactive("%load_ext jupyter_xtrack", timeout=60)
        kc.execute(
            "%%track --name doomed\nimport time\n"
            "for i in range(10_000):\n    xt.log(step_metric=i, step=i)\n    time.sleep(0.01)\n"
        )
        time.sleep(3.0)
        logged_before = time.time() - 1.0
        os.kill(km.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
        time.sleep(0.5)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)  # reaps the killed process, as a kernel's parent would
    store = open_store(store_dir)
    run = store.get_run(1)
    assert run["status"] == "crashed"
    hist = store.metric_history(run["id"], "step_metric")
    logged = [t for t in hist["time"] if t <= logged_before]
    assert len(logged) >= 100  # ~2 s at 100 points/s were due before the 1 s cut-off
    assert hist["step"][: len(logged)] == list(range(len(logged)))
    con = sqlite3.connect(store_dir / "xtrack.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


SCRIPT = """
import sys
import jupyter_xtrack as xt
with xt.start_run(name="script-run", tags={{"who": "ci"}}, params={{"seed": {seed}}}) as run:
    with open(sys.argv[1]) as fh:
        fh.read()
    for i in range({points}):
        xt.log(m=float(i), step=i)
    if {fail}:
        raise RuntimeError("script failed on purpose")
"""


def _script(tmp_path: Path, seed: int = 0, points: int = 10, fail: bool = False) -> Path:
    path = tmp_path / f"train_{seed}_{int(fail)}.py"
    path.write_text(textwrap.dedent(SCRIPT.format(seed=seed, points=points, fail=fail)))
    return path


def test_start_run_in_a_script_records_code_files_and_failure(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    data = tmp_path / "input.txt"
    data.write_text("data")
    ok = subprocess.run([sys.executable, _script(tmp_path), str(data)], env=_env(store_dir),
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, _script(tmp_path, fail=True), str(data)],
                         env=_env(store_dir), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "RuntimeError: script failed on purpose" in bad.stderr
    store = open_store(store_dir)
    good, failed = store.get_run(1), store.get_run(2)
    assert good["status"] == "finished" and good["kind"] == "script"
    assert good["params"] == {"seed": 0} and good["tags"] == {"who": "ci"}
    assert [f["abs_path"] for f in good["inputs"]] == [str(data)]
    assert "xt.start_run" in store.get_blob(good["code"]["hash"]).decode()
    assert failed["status"] == "failed" and failed["error"]["type"] == "RuntimeError"


def test_eight_processes_write_one_store_at_once(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    data = tmp_path / "input.txt"
    data.write_text("x")
    procs = [
        subprocess.Popen([sys.executable, _script(tmp_path, seed=i, points=10_000), str(data)],
                         env=_env(store_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for i in range(8)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "xtrack" not in err  # no warning reached the user
    store = open_store(store_dir)
    table = store.query_runs()
    assert table.total == 8 and set(table.columns["status"]) == {"finished"}
    for run_id in table.columns["id"]:
        hist = store.metric_history(run_id, "m")
        assert hist["step"] == list(range(10_000))
    con = sqlite3.connect(store_dir / "xtrack.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
