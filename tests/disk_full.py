"""A disk that fills up while a tracked cell runs: a real tmpfs, mounted in a private mount
namespace (root and `unshare` needed, else the test is skipped), filled mid-cell and freed
before the cell ends, then a second cell. What every view says is collected as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LOGGED = 50_000  # points the first cell logs: 20,000 before the disk fills, 30,000 after

SCENARIO = r"""
import contextlib, io, json, os, shutil, sys
disk, out = sys.argv[1], sys.argv[2]
os.chdir(disk)
os.environ["XTRACK_STORE"] = disk + "/store"
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
shell.run_line_magic("load_ext", "jupyter_xtrack")
shell.run_cell('''
def fill_disk(path):
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 16, 512):
            try:
                while True:
                    f.write(b"x" * size)
            except OSError:
                pass
''')
ran = shell.run_cell('''%%track --name full
import os
r1 = xt.active_run()
for i in range(20000):
    xt.log(x=i)
xt.flush()
fill_disk("filler")
for i in range(20000, 50000):
    xt.log(x=i)
xt.flush()
os.remove("filler")
''', store_history=True)
ran.raise_error()
shell.run_cell("%%track --name next\nr2 = xt.active_run()\nxt.log(y=1)\n",
               store_history=True).raise_error()

import jupyter_xtrack as xt
from jupyter_xtrack.cli import main as cli
from jupyter_xtrack.records.summary import detail_text
from jupyter_xtrack.server.reader import StoreReader
from jupyter_xtrack.tracking.recorder import wait_pending
from jupyter_xtrack.views.card import RunCard

wait_pending()
result = {}
reader = StoreReader(xt.open_store().root)
for name in ("r1", "r2"):
    live = shell.user_ns[name]
    card = RunCard(live)
    card._refresh()  # what the card's thread does once the run is stored
    run = xt.get_run(live.id)
    keys = sorted(run.metrics)
    result[name] = {
        "status": run.status, "metrics": run.metrics, "summary": run.summary_line(),
        "points": {k: len(run.history(k)) for k in keys},
        "not_stored": run.not_stored, "problems": run.fact("capture_problems"),
        "card": card.card, "detail": detail_text(run),
        "rest_row": [r for r in reader.page(None, None, 0, 50, None)["runs"]
                     if r["id"] == run.id][0],
        "rest_run": reader.run(run.id),
    }
with contextlib.redirect_stdout(io.StringIO()) as ls:
    cli(["ls", "--store", str(xt.open_store().root)])
result["ls"] = ls.getvalue()
shutil.copytree(disk + "/store", out + "/store")
with open(out + "/result.json", "w") as f:
    json.dump(result, f, default=str)
"""


def run_disk_full_scenario(out: Path) -> dict[str, Any]:
    """Run SCENARIO on a 16 MiB tmpfs; returns its JSON and leaves a copy of the store in
    `out / "store"`."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs in a private namespace")
    disk = out / "disk"
    disk.mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    script = f'mount -t tmpfs -o size=16m tmpfs {disk} && {sys.executable} -c "$0" {disk} {out}'
    res = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, SCENARIO],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if res.returncode != 0 and "mount" in res.stderr and "Traceback" not in res.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    result["stderr"] = res.stderr
    return result
