"""`import jupyter_xtrack` stays light: heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "numpy", "IPython", "torch", "sklearn", "nbdime", "nbformat", "anywidget",
         "optuna", "sqlite3", "psutil", "matplotlib")


def test_package_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, jupyter_xtrack as xt\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_public_api_is_complete() -> None:
    import jupyter_xtrack as xt

    for name in ("log", "log_params", "set_tags", "log_artifact", "active_run", "start_run",
                 "runs", "get_run", "compare", "open_store", "show", "flush", "sweep", "best",
                 "automl", "jobs"):
        assert callable(getattr(xt, name)), name
    assert xt.RUN_STATUSES == ("running", "finished", "failed", "interrupted", "killed", "crashed")
