"""`%load_ext jupyter_xtrack`: register the magics and the run-cell hooks on a shell."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import Any

from ..capture.code import find_notebook_path
from ..tracking.recorder import prefetch_environment
from ..tracking.session import CONTEXT
from .hooks import TrackHooks
from .loop_metrics import LoopMetrics
from .magics import XTrackMagics

# What the first tracked cell would otherwise import on its own path (the captures, the run
# card's HTML views and what they import): loaded on a thread at `%load_ext`, so that a
# first cell run a moment later finds them loaded. A cell run at once waits only for the
# module being loaded, on Python's per-module import lock (the package has no import
# cycles, so no two threads can wait for each other). The widget libraries are not here:
# the card's own thread loads them once a card needs its widget.
FIRST_CELL_MODULES = (
    "jupyter_xtrack.capture.code",
    "jupyter_xtrack.capture.data",
    "jupyter_xtrack.capture.fingerprint",
    "jupyter_xtrack.capture.git",
    "jupyter_xtrack.capture.metric_calls",
    "jupyter_xtrack.capture.outputs",
    "jupyter_xtrack.capture.params",
    "jupyter_xtrack.capture.redact",
    "jupyter_xtrack.capture.resources",
    "jupyter_xtrack.capture.system_metrics",
    "jupyter_xtrack.evaluation.auto",  # asked after each tracked cell; loads no numpy itself
    "jupyter_xtrack.notebook.gitdiff",  # strips dirty notebooks for the run's git diff
    "jupyter_xtrack.tracking.team",  # where runs go when XTRACK_STORE names a team store
    "jupyter_xtrack.views.cell",
)


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext jupyter_xtrack`: register the magics and the run-cell hooks."""
    if getattr(shell, "_xtrack_hooks", None) is not None:
        return
    nb = find_notebook_path(os.environ, shell.user_ns)
    CONTEXT.start_dir = os.path.dirname(os.path.abspath(nb)) if nb else os.getcwd()
    hooks = TrackHooks(shell)
    shell._xtrack_hooks = hooks
    shell.register_magics(XTrackMagics)
    # After IPython strips leading blank lines, so our blank line keeps the cell's numbering.
    shell.input_transformers_cleanup.insert(1, hooks.transform)
    shell.events.register("pre_execute", hooks.pre_execute)
    shell.events.register("pre_run_cell", hooks.pre_run_cell)
    shell.events.register("post_run_cell", hooks.post_run_cell)
    shell.ast_transformers.append(LoopMetrics(shell))
    if "xt" not in shell.user_ns:
        shell.user_ns["xt"] = sys.modules["jupyter_xtrack"]
    prefetch_environment()
    threading.Thread(target=prefetch_modules, name="xtrack-prefetch", daemon=True).start()


def prefetch_modules() -> None:
    """Import `FIRST_CELL_MODULES` and work out what the first cell's end would (see
    `file_access.prepare`); a module that fails to import is left for the cell that needs
    it, which reports the problem as it always did."""
    for name in FIRST_CELL_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - only a head start: the first cell imports it again
            continue
    try:
        from ..capture import file_access

        file_access.prepare()
    except Exception:  # noqa: BLE001, S110 - the first cell's end works it out as before
        pass


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext jupyter_xtrack`: remove the hooks (magics stay registered, as usual)."""
    hooks = getattr(shell, "_xtrack_hooks", None)
    if hooks is None:
        return
    if hooks.transform in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(hooks.transform)
    shell.events.unregister("pre_execute", hooks.pre_execute)
    shell.events.unregister("pre_run_cell", hooks.pre_run_cell)
    shell.events.unregister("post_run_cell", hooks.post_run_cell)
    shell._xtrack_hooks = None
