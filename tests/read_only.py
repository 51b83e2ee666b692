"""Run Python code against a store that really cannot be written, also as root (permission
bits do not stop root: there a read-only bind mount in a private mount namespace is used)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_on_read_only_store(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter while `root` (a store folder) is read-only;
    skips the test where this machine cannot make it so."""
    code = textwrap.dedent(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    if os.geteuid() != 0:
        files = [p for p in root.rglob("*") if p.is_file()]
        dirs = [root, *(p for p in root.rglob("*") if p.is_dir())]
        for f in files:
            os.chmod(f, 0o444)
        for d in dirs:
            os.chmod(d, 0o555)
        try:
            return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env=env, timeout=120)
        finally:
            for d in dirs:
                os.chmod(d, 0o755)
            for f in files:
                os.chmod(f, 0o644)
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare to make a read-only mount as root")
    script = (
        f"mount --bind {shlex.quote(str(root))} {shlex.quote(str(root))} && "
        f"mount -o remount,bind,ro {shlex.quote(str(root))} && "
        f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
    )
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    if res.returncode != 0 and "mount" in res.stderr and "Traceback" not in res.stderr:
        pytest.skip(f"cannot make a read-only mount here: {res.stderr.strip()}")
    return res
