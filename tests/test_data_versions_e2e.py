"""Data versions are of the state a cell left, whatever runs next: real kernels, real stores.

Cell 1 (tracked) makes `df`, `X`, `t` and `w`; cell 2 mutates them in place at once. The run
of cell 1 must hold the fingerprints of the data before the mutation, computed here
independently by the same fingerprint function on the same data rebuilt from its seed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from jupyter_xtrack.capture.fingerprint import fingerprint
from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook

pytestmark = pytest.mark.slow

# df and X are several MB: fingerprinted on a worker, after the cell returns. The text column,
# first, takes the longest to hash: time for the next cell to change the others meanwhile.
ROWS = 1_000_000
MAKE = (
    "%%track --name make\n"
    "import numpy as np, pandas as pd\n"
    "rng = np.random.default_rng(0)\n"
    f"ids = pd.Series([f'id-{{i}}' for i in range({ROWS})], dtype=object)\n"
    f"df = pd.DataFrame({{'id': ids, 'a': rng.random({ROWS}), 'b': rng.random({ROWS})}})\n"
    "X = rng.random((1000, 500))\n"
    "w = np.arange(10.0)  # small: fingerprinted before the cell returns\n"
)
MUTATE = "df['b'] = 0\nX += 1\nw += 1\n"


def _made() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    ids = pd.Series([f"id-{i}" for i in range(ROWS)], dtype=object)
    df = pd.DataFrame({"id": ids, "a": rng.random(ROWS), "b": rng.random(ROWS)})
    return {"ids": ids, "df": df, "X": rng.random((1000, 500)), "w": np.arange(10.0)}


def _hashes(objects: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, obj in objects.items():
        fp = fingerprint(obj, name)
        assert fp is not None and fp["hash"], fp
        out[name] = fp["hash"]
    return out


def _expected() -> tuple[dict[str, str], dict[str, str]]:
    """The hashes of the state cell 1 left, and of the state cell 2 leaves (which differ)."""
    made = _made()
    before = _hashes(made)
    mutated = {k: v.copy() for k, v in made.items()}
    mutated["df"]["b"] = 0
    mutated["X"] += 1
    mutated["w"] += 1
    after = _hashes(mutated)
    assert all(before[k] != after[k] for k in ("df", "X", "w")) and before["ids"] == after["ids"]
    return before, after


def _recorded(store_dir: Path, number: int = 1) -> dict[str, str]:
    run = open_store(store_dir).get_run(number)
    assert run["name"] == "make" and run["status"] == "finished"
    return {d["name"]: d["hash"] for d in run["datasets"]}



def test_nbclient_next_cell_mutating_in_place_does_not_change_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        MAKE + "import torch\nt = torch.ones(1000, 1000)\n",
        MUTATE + "t.add_(1)\n",
        "xt.flush()",
    )
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    before, _ = _expected()
    import torch

    before["t"] = _hashes({"t": torch.ones(1000, 1000)})["t"]
    assert _recorded(store_dir) == before


def test_execute_requests_queued_like_run_all(tmp_path: Path) -> None:
    """JupyterLab's Run All sends every execute request at once: the kernel has cell 2 queued
    before cell 1 has returned."""
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    km, kc = start_new_kernel(
        kernel_name="python3", cwd=str(tmp_path), env={**os.environ, "XTRACK_STORE": str(store_dir)}
    )
    try:
        kc.execute_interactive("%load_ext jupyter_xtrack", timeout=60)
        sent = [kc.execute(MAKE), kc.execute(MUTATE), kc.execute("xt.flush()")]
        replies: dict[str, str] = {}
        while len(replies) < len(sent):
            reply = kc.get_shell_msg(timeout=120)
            replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
        assert [replies[i] for i in sent] == ["ok", "ok", "ok"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    before, _ = _expected()
    assert _recorded(store_dir) == before


def test_widget_callback_right_after_the_cell_waits_for_the_fingerprints(tmp_path: Path) -> None:
    """A comm message (what a widget's callback runs on) queued right behind the tracked cell
    mutates the data: it runs only once the fingerprints are taken."""
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    km, kc = start_new_kernel(
        kernel_name="python3", cwd=str(tmp_path), env={**os.environ, "XTRACK_STORE": str(store_dir)}
    )
    try:
        kc.execute_interactive(
            "%load_ext jupyter_xtrack\n"
            "def _target(comm, msg):\n"
            "    comm.on_msg(lambda m: exec(m['content']['data']['code'], globals()))\n"
            "get_ipython().kernel.comm_manager.register_target('mutate', _target)\n",
            timeout=60,
        )
        first = kc.execute(MAKE)
        for msg_type, content in (
            ("comm_open", {"comm_id": "c1", "target_name": "mutate", "data": {}}),
            ("comm_msg", {"comm_id": "c1", "data": {"code": MUTATE}}),
        ):
            kc.shell_channel.send(kc.session.msg(msg_type, content))
        reply = kc.get_shell_msg(timeout=120)
        assert reply["parent_header"]["msg_id"] == first and reply["content"]["status"] == "ok"
        # the comm message ran: the namespace holds the mutated data
        check = kc.execute_interactive(
            "assert (df['b'] == 0).all() and w[0] == 1; xt.flush()", timeout=120
        )
        assert check["content"]["status"] == "ok", check["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    before, _ = _expected()
    assert _recorded(store_dir) == before


def test_nbclient_numeric_frame_is_not_waited_for_and_recorded_as_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame of numbers (pandas copies on write): the next cell starts without waiting for
    its hash. The fingerprint workers are held until that cell has changed the frame in place,
    so the hash can only be of the state the tracked cell left if it came from a copy."""
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    hold = (
        "import threading\nfrom jupyter_xtrack.tracking import datasets as _ds\n"
        "RELEASE = threading.Event()\n"
        "_blockers = [_ds.pool().submit(RELEASE.wait, 120) for _ in range(2)]\n"
    )
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        "%%track --name make\nimport numpy as np, pandas as pd\nrng = np.random.default_rng(0)\n"
        f"nums = pd.DataFrame({{'a': rng.random({ROWS}), 'b': rng.random({ROWS})}})\n" + hold,
        "nums.iloc[0, 0] = -1.0\nnums['b'] += 1\nRELEASE.set()\n",
        "xt.flush()",
    )
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    rng = np.random.default_rng(0)
    nums = pd.DataFrame({"a": rng.random(ROWS), "b": rng.random(ROWS)})
    run = open_store(store_dir).get_run(1)
    [recorded] = [d for d in run["datasets"] if d["name"] == "nums"]
    assert recorded["hash"] == _hashes({"nums": nums})["nums"] and "warning" not in recorded
