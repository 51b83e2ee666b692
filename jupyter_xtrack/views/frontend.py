"""What the front end can show, and how to put a view on it.

Widgets need a kernel with a comm channel (JupyterLab, Notebook 7, VS Code, nbclient) and
anywidget installed. Everywhere else (a terminal IPython, plain Python, `XTRACK_WIDGETS=0`)
the views fall back to HTML and text, which nbconvert and GitHub's viewer render too.
"""

from __future__ import annotations

import os
from typing import Any

from ..tracking.shell import running_shell

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def shell() -> Any:
    """The running IPython shell, or None (without importing IPython)."""
    return running_shell()


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a front end that shows rich output and display ids)."""
    return getattr(shell(), "kernel", None) is not None


def widgets_enabled() -> bool:
    """True when interactive widgets can be shown: a kernel, anywidget importable, and
    widgets not turned off with `XTRACK_WIDGETS=0`."""
    if os.environ.get("XTRACK_WIDGETS", "1") == "0" or not in_kernel():
        return False
    try:
        import anywidget  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken install means: no widgets, not an error
        return False
    return True


def widget_bundle(widget: Any, html: str, text: str) -> dict[str, Any]:
    """The display data of `widget` with HTML and text fallbacks: front ends without the
    widget (nbconvert, GitHub, a stripped notebook) show the HTML or the text instead.
    `widget` may be None (no widgets here): then only the fallbacks."""
    bundle = {"text/plain": text, "text/html": html}
    if widget is None:
        return bundle
    raw = widget._repr_mimebundle_()
    data = raw[0] if isinstance(raw, tuple) else raw
    if isinstance(data, dict) and WIDGET_MIME in data:
        bundle[WIDGET_MIME] = data[WIDGET_MIME]
    return bundle


# Marks our outputs so a saved notebook keeps their HTML instead of a dead widget
# reference (see jupyter_xtrack.notebook.widget_views).
_MARK = {"jupyter_xtrack": {"view": True}}


def marked(bundle: dict[str, Any]) -> Any:
    """What `_repr_mimebundle_` returns: with our output mark when it holds a widget."""
    return (bundle, _MARK) if WIDGET_MIME in bundle else bundle


def display_bundle(bundle: dict[str, Any], display_id: str | None = None) -> None:
    """Display a mime bundle (optionally under `display_id` so it can be replaced later)."""
    from IPython.display import display

    if display_id is None:
        display(bundle, raw=True, metadata=_MARK)
    else:
        display(bundle, raw=True, display_id=display_id, metadata=_MARK)


def update_bundle(bundle: dict[str, Any], display_id: str) -> None:
    """Replace what was displayed under `display_id` with `bundle`, wherever it is shown."""
    from IPython.display import update_display

    update_display(bundle, raw=True, display_id=display_id, metadata=_MARK)


class Displayable:
    """An object a notebook shows as `bundle` (what `xt.show` returns where it builds a view)."""

    def __init__(self, bundle: dict[str, Any], owner: Any = None) -> None:
        self.bundle = bundle
        self.owner = owner  # the widget or view object, kept alive while this is

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return marked(dict(self.bundle))

    def __repr__(self) -> str:
        return str(self.bundle.get("text/plain", ""))
