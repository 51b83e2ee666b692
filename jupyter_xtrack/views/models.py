"""The anywidget models: the traitlets each view syncs with its JavaScript in
static/views.js. Importing this module imports anywidget (and ipywidgets), so only the
views that are shown import it, never `import jupyter_xtrack`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

_STATIC = Path(__file__).with_name("static")


# The chart module (labextension/src/chartcore.ts with uPlot), bundled by the npm build into
# one script that declares `XtrackChart`; the wheel carries it (pyproject's artifacts).
CHART_BUNDLE = "chartcore.js"


def _read_assets() -> tuple[str, str]:
    """The view's JavaScript and CSS. The JavaScript is the chart bundle followed by
    views.js, so the widget is one self-contained ES module that shares the sidebar's chart
    code; without the bundle (a source checkout not built yet) views.js says charts are
    unavailable. Read on a helper thread: these modules are first imported while a tracked
    cell runs, and the recorder takes files the cell's thread opens for the cell's data
    inputs."""
    texts: list[str] = []

    def read() -> None:
        bundle = _STATIC / CHART_BUNDLE
        charts = bundle.read_text(encoding="utf-8") if bundle.is_file() else ""
        texts.append(charts + "\n" + (_STATIC / "views.js").read_text(encoding="utf-8"))
        texts.append((_STATIC / "views.css").read_text(encoding="utf-8"))

    reader = threading.Thread(target=read, name="xtrack-assets")
    reader.start()
    reader.join()
    return texts[0], texts[1]


_ESM, _CSS = _read_assets()

Handler = Callable[[dict[str, Any]], None]


class XtrackWidget(anywidget.AnyWidget):
    """Base of every view: one ES module and one stylesheet, picked by `view`.

    Messages from the page (`model.send({...})`) go to the handler set with `on_action`;
    a handler that raises shows its message in the view instead of breaking the kernel.
    """

    _esm = _ESM
    _css = _CSS
    view = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handler: Handler | None = None
        self.on_msg(self._dispatch)

    def on_action(self, handler: Handler) -> None:
        """Call `handler(message)` for each message the page sends."""
        self._handler = handler

    def _dispatch(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if self._handler is None or not isinstance(content, dict):
            return
        try:
            self._handler(content)
        except Exception as exc:  # noqa: BLE001 - a view's failure must not break the kernel
            self.error = f"{type(exc).__name__}: {exc}"


class LiveChartModel(XtrackWidget):
    """Live metrics: `meta` describes the series packed in `data` (float64 columns)."""

    view = traitlets.Unicode("live").tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)
    data = traitlets.Bytes(b"").tag(sync=True)


class CardModel(XtrackWidget):
    """A run card: `card` is the run's summary; `compare` a comparison payload or {}."""

    view = traitlets.Unicode("card").tag(sync=True)
    card = traitlets.Dict().tag(sync=True)
    compare = traitlets.Dict().tag(sync=True)


class TableModel(XtrackWidget):
    """The run table; `selected` comes back from the page as the user ticks rows."""

    view = traitlets.Unicode("table").tag(sync=True)
    table = traitlets.Dict().tag(sync=True)
    filter = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    compare = traitlets.Dict().tag(sync=True)


class CompareModel(XtrackWidget):
    """A comparison of runs."""

    view = traitlets.Unicode("compare").tag(sync=True)
    compare = traitlets.Dict().tag(sync=True)


class ProgressModel(XtrackWidget):
    """Sweep and AutoML progress: trials, best-so-far, and the Stop button's state."""

    view = traitlets.Unicode("progress").tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    stop_requested = traitlets.Bool(False).tag(sync=True)
