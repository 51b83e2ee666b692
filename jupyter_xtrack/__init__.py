"""jupyter_xtrack: Jupyter-native experiment tracking.

In a notebook: ``%load_ext jupyter_xtrack``, then put ``%%track`` on a cell. In scripts:
``with xt.start_run(): ...``. Runs go to an embedded store (``.xtrack/``) and come back with
``xt.runs()``, ``xt.get_run()`` and ``xt.compare()``.
"""

from __future__ import annotations

from typing import Any

from .api import (
    active_run,
    compare,
    end_run,
    flush,
    get_run,
    log,
    log_artifact,
    log_params,
    open_store,
    runs,
    set_tags,
    start_run,
)
from .run import ActiveRun, Run

__all__ = [
    "RUN_STATUSES",
    "ActiveRun",
    "Run",
    "active_run",
    "automl",
    "best",
    "compare",
    "end_run",
    "flush",
    "get_run",
    "jobs",
    "log",
    "log_artifact",
    "log_params",
    "open_store",
    "runs",
    "set_tags",
    "show",
    "start_run",
    "sweep",
]


def show(obj: Any) -> Any:
    """An interactive view of `obj` (a runs DataFrame, a Comparison, a Run) where widgets work;
    `obj` itself elsewhere. Usable as `xt.runs().pipe(xt.show)`."""
    try:
        from .widgets import show as widget_show
    except ImportError:
        return obj
    return widget_show(obj)


# Loaded on first use, so `import jupyter_xtrack` stays light: name -> (module, attribute).
_LAZY = {
    "__version__": ("_version", "__version__"),  # importlib.metadata only when asked
    "RUN_STATUSES": ("store", "RUN_STATUSES"),  # the store's list (sqlite3, psutil stay unloaded)
    "sweep": ("optimize.sweep", "sweep"),
    "best": ("optimize.sweep", "best"),
    "automl": ("optimize.automl", "automl"),
    "jobs": ("optimize.jobs", "jobs"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext jupyter_xtrack`."""
    from .magics import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext jupyter_xtrack`."""
    from .magics import unload_ipython_extension as unload

    unload(shell)
