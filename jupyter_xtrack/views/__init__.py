"""In-notebook views: the live metrics chart, the run card, the run table, the compare view
and the sweep progress view.

Each view is an anywidget where widgets work (JupyterLab, Notebook 7, VS Code) and HTML
plus plain text everywhere else (nbconvert, GitHub's viewer, terminals). The magics call
`on_run_start` / `on_cell_end` / `on_run_end` around every tracked cell; `show` is `xt.show`;
`compare_bundle` is how a `Comparison` displays itself. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .progress import SweepProgress

__all__ = ["SweepProgress", "compare_bundle", "on_cell_end", "on_run_end", "on_run_start", "show"]


def on_run_start(run: Any, calls_log: bool = False) -> Any:
    """Called by `%%track` once its run began: shows the live chart under the cell when the
    cell calls `xt.log`. Returns the state to pass to `on_run_end`."""
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .cell import CellViews

    return CellViews.start(run, calls_log=calls_log)


def on_cell_end() -> None:
    """Called by `%%track` as its cell ends, before its run ends: the cards of earlier runs
    that are stored by now show what was stored."""
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .card import refresh_stored_cards

    refresh_stored_cards()


def on_run_end(run: Any, state: Any) -> bool:
    """Called by `%%track` after its run ended: freezes the live chart into an image and
    shows the run card. True when the card was shown (then the one-line summary is not)."""
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .cell import CellViews

    if not isinstance(state, CellViews):
        state = CellViews(run)
    return bool(state.end(run))


def show(obj: Any, filter: str | None = None) -> Any:
    """An interactive view of `obj`: a runs DataFrame (`xt.runs()`) becomes the run table,
    a Comparison the compare view, a Run its card. Anything else is returned unchanged,
    so `xt.runs().pipe(xt.show)` is always safe."""
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .dispatch import view_for

    return view_for(obj, filter=filter)


def compare_bundle(comparison: Any) -> dict[str, Any]:
    """The display data of a Comparison: the compare widget with HTML and text fallbacks."""
    # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
    from .compare_view import comparison_bundle

    return comparison_bundle(comparison)


def __getattr__(name: str) -> Any:
    if name == "SweepProgress":
        # lazy: `import jupyter_xtrack.views` stays light (the API imports it)
        from .progress import SweepProgress

        return SweepProgress
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
