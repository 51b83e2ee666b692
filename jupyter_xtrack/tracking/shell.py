"""Reading the code being tracked from where it runs: the IPython shell (duck-typed: this
module never imports IPython) or the script file of `__main__`."""

from __future__ import annotations

import os
import sys
from typing import Any

from .request import CellInfo


def running_shell() -> Any:
    """The running IPython shell, or None; never imports IPython itself."""
    mod = sys.modules.get("IPython")
    if mod is None:
        return None
    try:
        return mod.get_ipython()
    except Exception:  # noqa: BLE001 - a half-torn-down IPython counts as none
        return None


def cell_info(shell: Any, *, kind: str = "cell", source: str | None = None,
              python_source: str | None = None, with_namespace: bool = False) -> CellInfo:
    """What the shell knows about the cell being run: source, id, notebook, lineage. The
    kernel's hooks (when loaded) leave the current cell's id and raw source on the shell."""
    hooks = getattr(shell, "_xtrack_hooks", None)
    last_raw = getattr(hooks, "last_raw_cell", None)
    raw_hist = list(getattr(shell.history_manager, "input_hist_raw", []) or [])
    if source is None:
        source = last_raw if last_raw else (raw_hist[-1] if raw_hist else "")
    history = [(i, src) for i, src in enumerate(raw_hist) if i > 0 and src]
    if source and (not history or history[-1][1] != source):
        # Before IPython stores the current cell (pre_run_cell), add it ourselves.
        history.append((int(getattr(shell, "execution_count", len(raw_hist))), source))
    # lazy: xxhash and json load with the first tracked cell, not with the API
    from ..capture.code import find_notebook_path

    ns = shell.user_ns
    return CellInfo(
        source=source,
        python_source=python_source,
        kind=kind,
        cell_id=getattr(hooks, "last_cell_id", None),
        notebook_path=find_notebook_path(os.environ, ns),
        history=history,
        user_ns=ns if with_namespace else None,
    )


def calling_code(kind: str = "script") -> CellInfo:
    """Where a `start_run()` was called from: a notebook cell or a script file."""
    shell = running_shell()
    if shell is not None:
        return cell_info(shell, kind=kind)
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    source = ""
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                source = fh.read()
        except OSError:
            source = ""
    return CellInfo(source=source, kind=kind, script_path=path)
