"""Static charts for outputs that must read without a live kernel: the live chart's last
frame, the sweep's best-so-far curve, metric overlays in the HTML fallbacks.

PNG with matplotlib (Agg, object API only: no pyplot state is touched, so it is safe
beside the user's own figures) when it is installed; a small hand-written SVG otherwise.
Colours are mid-tones on a transparent background so the image reads on light and dark
themes alike.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..records.formatting import fmt_number

# Colour-blind-safe palette (Okabe-Ito), shared with static/views.js.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_AXIS = "#888888"


@dataclass
class Line:
    """One line of a panel; `lo`/`hi` (optional) draw a min..max band behind it."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None
    step: bool = False  # draw as a step line (best-so-far)
    markers: bool = False  # draw points only


@dataclass
class Panel:
    title: str
    lines: list[Line] = field(default_factory=list)
    xlabel: str = ""


def _finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    px: list[float] = []
    py: list[float] = []
    for x, y in zip(xs, ys, strict=False):
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
            px.append(float(x))
            py.append(float(y))
    return px, py


def chart_png(panels: Sequence[Panel], *, ncols: int = 3, panel_w: float = 3.2,
              panel_h: float = 2.1, dpi: int = 96) -> bytes | None:
    """A grid of panels as PNG bytes, or None when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except Exception:  # noqa: BLE001
        return None
    if not panels:
        return None
    import io

    cols = max(1, min(ncols, len(panels)))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(panel_w * cols, panel_h * rows), dpi=dpi)
    fig.patch.set_alpha(0.0)
    FigureCanvasAgg(fig)
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.patch.set_alpha(0.0)
        for spine in ax.spines.values():
            spine.set_color(_AXIS)
        ax.tick_params(colors=_AXIS, labelsize=8)
        ax.set_title(panel.title, fontsize=9, color=_AXIS, loc="left")
        if panel.xlabel:
            ax.set_xlabel(panel.xlabel, fontsize=8, color=_AXIS)
        for j, line in enumerate(panel.lines):
            colour = PALETTE[j % len(PALETTE)]
            xs, ys = _finite(line.xs, line.ys)
            if line.lo is not None and line.hi is not None:
                bx, blo = _finite(line.xs, line.lo)
                _, bhi = _finite(line.xs, line.hi)
                if len(bx) == len(blo) == len(bhi) and len(bx) > 1:
                    ax.fill_between(bx, blo, bhi, color=colour, alpha=0.2, linewidth=0)
            if line.markers:
                ax.plot(xs, ys, "o", color=colour, markersize=3, label=line.label)
            elif line.step:
                ax.step(xs, ys, where="post", color=colour, linewidth=1.4, label=line.label)
            else:
                ax.plot(xs, ys, color=colour, linewidth=1.2, label=line.label)
        if len(panel.lines) > 1:
            ax.legend(fontsize=6, frameon=False, labelcolor=_AXIS)
    fig.tight_layout(pad=0.6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", transparent=True)
    return buf.getvalue()


def chart_svg(panels: Sequence[Panel], *, ncols: int = 3, panel_w: int = 260,
              panel_h: int = 170) -> str:
    """The same grid as plain SVG text (no dependencies)."""
    cols = max(1, min(ncols, len(panels) or 1))
    rows = max(1, math.ceil(len(panels) / cols))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{panel_w * cols}" '
        f'height="{panel_h * rows}" font-family="sans-serif" font-size="10">'
    ]
    for i, panel in enumerate(panels):
        ox, oy = (i % cols) * panel_w, (i // cols) * panel_h
        left, top, w, h = ox + 44, oy + 18, panel_w - 56, panel_h - 40
        out.append(f'<text x="{ox + 4}" y="{oy + 12}" fill="{_AXIS}">{html.escape(panel.title)}</text>')
        pts = [_finite(ln.xs, ln.ys) for ln in panel.lines]
        allx = [x for xs, _ in pts for x in xs]
        ally = [y for _, ys in pts for y in ys]
        if not allx:
            continue
        x0, x1 = min(allx), max(allx)
        y0, y1 = min(ally), max(ally)
        x1 = x1 if x1 > x0 else x0 + 1
        y1 = y1 if y1 > y0 else y0 + 1
        out.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="{_AXIS}"/>')
        for txt, yy in ((fmt_number(y1, 3), top + 8), (fmt_number(y0, 3), top + h)):
            out.append(f'<text x="{left - 3}" y="{yy}" fill="{_AXIS}" text-anchor="end">{txt}</text>')
        for j, (xs, ys) in enumerate(pts):
            coords = " ".join(
                f"{left + (x - x0) / (x1 - x0) * w:.1f},{top + h - (y - y0) / (y1 - y0) * h:.1f}"
                for x, y in zip(xs, ys, strict=False)
            )
            colour = PALETTE[j % len(PALETTE)]
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.3" points="{coords}"/>')
    out.append("</svg>")
    return "".join(out)


def image_bundle(panels: Sequence[Panel], text: str, **kwargs: int | float) -> dict[str, str]:
    """A display bundle with the chart as PNG (or SVG) and `text` for plain front ends."""
    png = chart_png(panels, **kwargs)  # type: ignore[arg-type]
    if png is not None:
        return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}
    return {"image/svg+xml": chart_svg(panels), "text/plain": text}


def img_tag(panels: Sequence[Panel], alt: str, **kwargs: int | float) -> str:
    """An <img> (PNG data URI) or inline SVG for HTML fallbacks; "" when nothing to draw."""
    if not panels:
        return ""
    png = chart_png(panels, **kwargs)  # type: ignore[arg-type]
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'
    return chart_svg(panels)
