"""`import jupyter_xtrack` stays light: heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "numpy", "IPython", "torch", "sklearn", "nbdime", "nbformat", "anywidget",
         "optuna", "sqlite3", "psutil", "matplotlib")


def _fresh_python(code: str) -> str:
    """What `code` prints in a new interpreter (with this one's environment)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_package_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, jupyter_xtrack as xt\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    assert _fresh_python(code).strip() == "[]"


def test_public_api_is_complete() -> None:
    import jupyter_xtrack as xt

    for name in ("log", "log_params", "set_tags", "log_artifact", "active_run", "start_run",
                 "runs", "get_run", "compare", "open_store", "show", "flush", "sweep", "best",
                 "automl", "jobs"):
        assert callable(getattr(xt, name)), name
    assert xt.RUN_STATUSES == ("running", "finished", "failed", "interrupted", "killed", "crashed")


def test_public_names_stay_functions_once_every_package_is_imported() -> None:
    """Importing a subpackage binds it on its parent: a public name spelled like a package of
    `jupyter_xtrack` (once `reproduce/`, `evaluate/`) turned `xt.reproduce` into a module as
    soon as that package had been imported, whichever came first."""
    code = (
        "import importlib, pkgutil, types, jupyter_xtrack as xt\n"
        "for m in pkgutil.walk_packages(xt.__path__, 'jupyter_xtrack.'):\n"
        "    if '.labextension' not in m.name and not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in xt.__all__ if isinstance(getattr(xt, n), types.ModuleType)))\n"
    )
    assert _fresh_python(code).strip() == "[]"


def test_load_ext_prepares_what_the_first_cell_would_in_the_background() -> None:
    # the first tracked cell does not import its capture modules nor work out the prefixes
    # of files that are never data (jupyter_core's paths): %load_ext starts both off the
    # cell's path
    code = (
        "import threading\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_cell('%load_ext jupyter_xtrack')\n"
        "[t.join() for t in threading.enumerate() if t.name == 'xtrack-prefetch']\n"
        "import sys\n"
        "from jupyter_xtrack.capture import file_access\n"
        "print(file_access._ignored_prefixes.cache_info().currsize,\n"
        "      'jupyter_xtrack.capture.metric_calls' in sys.modules)\n"
    )
    assert _fresh_python(code).split()[-2:] == ["1", "True"]
