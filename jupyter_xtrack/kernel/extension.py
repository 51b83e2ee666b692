"""`%load_ext jupyter_xtrack`: register the magics and the run-cell hooks on a shell."""

from __future__ import annotations

import os
import sys
from typing import Any

from ..capture.code import find_notebook_path
from ..tracking.recorder import prefetch_environment
from ..tracking.session import CONTEXT
from .hooks import TrackHooks
from .loop_metrics import LoopMetrics
from .magics import XTrackMagics


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
