"""jupyter_xtrack: Jupyter-native experiment tracking.

In a notebook: ``%load_ext jupyter_xtrack``, then put ``%%track`` on a cell. In scripts:
``with xt.start_run(): ...``. Runs go to an embedded store (``.xtrack/``) and come back with
``xt.runs()``, ``xt.get_run()`` and ``xt.compare()``.

Every public name is loaded on first use (then kept as a plain attribute), so that
`import jupyter_xtrack` stays light and a process that only reads stores (the server, the
CLI) never builds the tracking session.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import (
        active_run,
        alias_history,
        compare,
        delete_alias,
        end_run,
        flush,
        get_model_version,
        get_run,
        load_model,
        log,
        log_artifact,
        log_params,
        model_versions,
        models,
        open_store,
        register_model,
        runs,
        set_alias,
        set_tags,
        show,
        start_run,
    )
    from .evaluation import evaluate
    from .evaluation.champion import compare_models, promote
    from .optimize.automl import automl
    from .optimize.jobs import jobs
    from .optimize.sweep import best, sweep
    from .records.run import Run
    from .reproduction import reproduce
    from .store import RUN_STATUSES
    from .tracking.active_run import ActiveRun

__all__ = [
    "RUN_STATUSES",
    "ActiveRun",
    "Run",
    "active_run",
    "alias_history",
    "automl",
    "best",
    "compare",
    "compare_models",
    "delete_alias",
    "end_run",
    "evaluate",
    "flush",
    "get_model_version",
    "get_run",
    "jobs",
    "load_model",
    "log",
    "log_artifact",
    "log_params",
    "model_versions",
    "models",
    "open_store",
    "promote",
    "register_model",
    "reproduce",
    "runs",
    "set_alias",
    "set_tags",
    "show",
    "start_run",
    "sweep",
]

# name -> (module, attribute)
_LAZY = {
    **{name: ("api", name) for name in (
        "active_run", "compare", "end_run", "flush", "get_run", "log", "log_artifact",
        "log_params", "open_store", "runs", "set_tags", "show", "start_run",
        # the model registry
        "register_model", "set_alias", "delete_alias", "get_model_version", "load_model",
        "alias_history", "models", "model_versions")},
    "ActiveRun": ("tracking.active_run", "ActiveRun"),
    "Run": ("records.run", "Run"),
    "__version__": ("_version", "__version__"),  # importlib.metadata only when asked
    "RUN_STATUSES": ("store", "RUN_STATUSES"),  # the store's list (sqlite3, psutil stay unloaded)
    "sweep": ("optimize.sweep", "sweep"),
    "best": ("optimize.sweep", "best"),
    "automl": ("optimize.automl", "automl"),
    "jobs": ("optimize.jobs", "jobs"),
    "reproduce": ("reproduction", "reproduce"),  # above the API: a layer of its own, as sweep
    "evaluate": ("evaluation", "evaluate"),  # above the API too, with optimize/
    "compare_models": ("evaluation.champion", "compare_models"),
    "promote": ("evaluation.champion", "promote"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        # Kept: the next `xt.log` is a plain attribute lookup (it is on the hot path).
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext jupyter_xtrack`."""
    from .kernel.extension import load_ipython_extension as load  # lazy: imports IPython

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext jupyter_xtrack`."""
    from .kernel.extension import unload_ipython_extension as unload  # lazy: imports IPython

    unload(shell)
