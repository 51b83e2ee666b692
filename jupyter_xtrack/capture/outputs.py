"""What a cell showed: its printed text (teed, capped) and the matplotlib figures it made."""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FigureSnapshot",
    "TeeStream",
    "open_figure_numbers",
    "snapshot_new_figures",
    "snapshot_png",
]


class TeeStream:
    """A text stream that writes through to ``target`` and keeps the first ``cap_bytes`` bytes.

    Install it as ``sys.stdout``/``sys.stderr`` around a cell; everything else (``flush``,
    ``fileno``, ``isatty``, ``encoding``, ipykernel's OutStream attributes...) is forwarded to
    ``target``, so the user sees exactly what they would without it.
    """

    def __init__(self, target: Any, cap_bytes: int) -> None:
        self._target = target
        self._cap = max(0, int(cap_bytes))
        self._parts: list[str] = []
        # characters kept so far; never more bytes than characters' UTF-8 size, so once the
        # character count passes the cap, the byte count has too
        self._chars = 0
        self._full = self._cap == 0
        self._overflow = False

    def write(self, text: str) -> int:
        """Write ``text`` to the target and keep a copy while under the cap."""
        written = self._target.write(text)
        if not self._full and isinstance(text, str):
            self._parts.append(text)
            self._chars += len(text)
            if self._chars >= self._cap:
                self._full = True
        elif text:
            self._overflow = True
        return written if written is not None else len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        flush = getattr(self._target, "flush", None)
        if flush is not None:
            flush()

    def captured(self) -> tuple[str, bool]:
        """Return ``(text, truncated)``: the kept text (at most ``cap_bytes`` UTF-8 bytes, cut
        on a character boundary) and whether anything was left out."""
        text = "".join(self._parts)
        data = text.encode("utf-8", "surrogatepass")
        if len(data) <= self._cap:
            return text, self._overflow
        return data[: self._cap].decode("utf-8", "ignore"), True

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not defined here
        return getattr(self._target, name)


def open_figure_numbers() -> set[int]:
    """The numbers of the open matplotlib figures (empty if pyplot was never imported)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return set()
    try:
        return set(plt.get_fignums())
    except Exception:
        return set()


@dataclass(frozen=True)
class FigureSnapshot:
    """One figure as it was when the cell ended, independent of the live figure: either a
    copy of its canvas's last drawing (`rgba`) or the figure pickled (`pickled`), to be made
    a PNG later, on any thread, by `snapshot_png`."""

    rgba: Any = None
    pickled: bytes | None = None
    dpi: float | None = None


def snapshot_new_figures(before: set[int], dpi: float | None = None) -> list[FigureSnapshot]:
    """Snapshots of the open figures whose numbers are not in ``before``, in number order.

    Call it on the kernel's main thread (matplotlib is not thread-safe) right after the cell
    body. It never draws: a figure whose canvas already holds a current drawing (an
    interactive backend drew it, or the cell saved it) is copied pixel for pixel, well under
    a millisecond; any other is pickled, several times cheaper than drawing it, and drawn
    later from the copy, so neither the next cell nor a closed figure can change what is
    stored. Only looks when ``matplotlib.pyplot`` is already imported; a figure that cannot
    be copied either way is skipped.
    """
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    try:
        from matplotlib._pylab_helpers import Gcf  # the registry pyplot itself uses

        managers = {m.num: m for m in Gcf.get_all_fig_managers()}
    except Exception:
        return []
    out = []
    for num in sorted(n for n in managers if n not in before):
        # looked up without plt.figure(num), which would change the current figure
        snap = _snapshot(managers[num].canvas.figure, dpi)
        if snap is not None:
            out.append(snap)
    return out


def _snapshot(fig: Any, dpi: float | None) -> FigureSnapshot | None:
    try:
        canvas = fig.canvas
        if not fig.stale and getattr(canvas, "renderer", None) is not None:
            import numpy as np  # lazy: loaded with matplotlib already

            return FigureSnapshot(rgba=np.array(canvas.buffer_rgba(), copy=True))
    except Exception:  # noqa: BLE001 - not an Agg canvas: pickle it instead
        pass
    try:
        return FigureSnapshot(pickled=pickle.dumps(fig, protocol=pickle.HIGHEST_PROTOCOL), dpi=dpi)
    except Exception:  # noqa: BLE001 - an artist that cannot be pickled: not stored
        return None


def snapshot_png(snap: FigureSnapshot) -> bytes | None:
    """The PNG of a snapshot (None if it cannot be made). Safe on any thread: it touches
    only the snapshot's own copy, never a figure the user holds or pyplot's registry."""
    buf = io.BytesIO()
    try:
        if snap.rgba is not None:
            from PIL import Image  # lazy: matplotlib's own dependency, loaded with it

            Image.fromarray(snap.rgba, "RGBA").save(buf, format="png")
        else:
            assert snap.pickled is not None
            fig = _DetachedUnpickler(io.BytesIO(snap.pickled)).load()
            fig.savefig(buf, format="png", dpi=snap.dpi or "figure", bbox_inches="tight")
    except Exception:  # noqa: BLE001 - a figure that fails to render is skipped
        return None
    return buf.getvalue()


class _DetachedUnpickler(pickle.Unpickler):
    """Loads a pickled pyplot figure without registering it with pyplot: a figure unpickled
    as it is re-creates a figure manager in the backend, from whatever thread loads it."""

    def find_class(self, module: str, name: str) -> Any:
        found = super().find_class(module, name)
        if module == "matplotlib.figure" and name == "Figure":
            return _detached_figure(found)
        return found


_detached: Any = None


def _detached_figure(figure_cls: Any) -> Any:
    global _detached
    if _detached is None:

        class DetachedFigure(figure_cls):
            def __setstate__(self, state: dict[str, Any]) -> None:
                state.pop("_restore_to_pylab", None)
                super().__setstate__(state)

        _detached = DetachedFigure
    return _detached
