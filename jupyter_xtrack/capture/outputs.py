"""What a cell showed: its printed text (teed, capped) and the matplotlib figures it made."""

from __future__ import annotations

import io
import sys
from typing import Any

__all__ = ["TeeStream", "new_figures_png", "open_figure_numbers"]


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


def new_figures_png(before: set[int], dpi: float | None = None) -> list[bytes]:
    """PNG bytes of the open figures whose numbers are not in ``before``, in number order.

    Only looks when ``matplotlib.pyplot`` is already imported. Call it on the kernel's main
    thread (matplotlib is not thread-safe) right after the cell body, before the inline
    backend's post-execute hook closes the figures. A figure that fails to render is skipped.
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
        try:
            buf = io.BytesIO()
            # looked up without plt.figure(num), which would change the current figure
            managers[num].canvas.figure.savefig(
                buf, format="png", dpi=dpi or "figure", bbox_inches="tight"
            )
            out.append(buf.getvalue())
        except Exception:
            continue
    return out
