"""What the front end can show, and how to put a view on it.

Widgets need a kernel with a comm channel (JupyterLab, Notebook 7, VS Code, nbclient) and
anywidget installed. Everywhere else (a terminal IPython, plain Python, `XTRACK_WIDGETS=0`)
the views fall back to HTML and text, which nbconvert and GitHub's viewer render too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
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
    if display_id is not None and _send(bundle, display_id, update=False):
        return
    from IPython.display import display

    if display_id is None:
        display(bundle, raw=True, metadata=_MARK)
    else:
        display(bundle, raw=True, display_id=display_id, metadata=_MARK)


def update_bundle(bundle: dict[str, Any], display_id: str) -> None:
    """Replace what was displayed under `display_id` with `bundle`, wherever it is shown."""
    if _send(bundle, display_id, update=True):
        return
    from IPython.display import update_display

    update_display(bundle, raw=True, display_id=display_id, metadata=_MARK)


def _send(bundle: dict[str, Any], display_id: str, *, update: bool) -> bool:
    """Send a view's display message as ipykernel's display publisher does, without its
    wait: before each message the publisher flushes stdout and stderr and waits for the
    IOPub thread to have sent them (two round trips between threads, each a GIL hand-off:
    about 1.5 ms a message at a tracked cell's end, where the card is shown and the last
    card refreshed). Here the streams' flushes and then the message are queued on the IOPub
    thread, so what the cell printed still comes first. False where the kernel is not
    ipykernel's as known (then IPython's own display is used): a publisher with transform
    hooks (an Output widget capturing), one keeping its display history, or streams that
    are not the kernel's."""
    pub = getattr(shell(), "display_pub", None)
    session = getattr(pub, "session", None)
    socket = getattr(pub, "pub_socket", None)
    io_thread = getattr(socket, "io_thread", None)
    schedule = getattr(io_thread, "schedule", None)
    if (
        session is None
        or schedule is None
        or getattr(pub, "_hooks", None)
        or getattr(pub, "store_display_history", False)
    ):
        return False
    streams: tuple[Any, ...] = (sys.stdout, sys.stderr)  # ipykernel's OutStreams, or not
    flushes: list[Callable[[], Any]] = [
        s._flush
        for s in streams
        if getattr(s, "pub_thread", None) is io_thread and callable(getattr(s, "_flush", None))
    ]
    if len(flushes) != len(streams):
        return False
    content = {"data": bundle, "metadata": _MARK, "transient": {"display_id": display_id}}
    kind = "update_display_data" if update else "display_data"
    msg = session.msg(kind, content, parent=getattr(pub, "parent_header", None))
    topic = getattr(pub, "topic", None)

    def flush_then_send() -> None:
        # On the IOPub thread: each flush queues its stream's message there, and this
        # message is queued after them.
        try:
            for flush in flushes:
                flush()
        finally:
            session.send(socket, msg, ident=topic)

    schedule(flush_then_send)
    return True


class Displayable:
    """An object a notebook shows as `bundle` (what `xt.show` returns where it builds a view)."""

    def __init__(self, bundle: dict[str, Any], owner: Any = None) -> None:
        self.bundle = bundle
        self.owner = owner  # the widget or view object, kept alive while this is

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return marked(dict(self.bundle))

    def __repr__(self) -> str:
        return str(self.bundle.get("text/plain", ""))
