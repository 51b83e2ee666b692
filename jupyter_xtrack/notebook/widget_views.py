"""Saved notebooks show our views' HTML, not a widget that cannot come back.

A widget output is only a reference to a model that lives in the kernel. JupyterLab shows
"Error displaying widget: model not found" for it once the notebook is reopened without
that kernel, instead of falling back to the HTML beside it. Our views mark their outputs;
before a notebook is saved, their widget reference is dropped when the notebook does not
save widget state, leaving the HTML and text fallbacks (the open session keeps its live
widgets: only the file changes).
"""

from __future__ import annotations

from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MARKER = "jupyter_xtrack"


def drop_orphan_widget_views(nb: dict[str, Any]) -> int:
    """Remove the widget reference from our marked outputs that have an HTML fallback;
    returns how many were changed. Notebooks that save widget state are left alone."""
    metadata = nb.get("metadata") or {}
    if (metadata.get("widgets") or {}).get("application/vnd.jupyter.widget-state+json"):
        return 0
    changed = 0
    for cell in nb.get("cells") or []:
        for output in cell.get("outputs") or []:
            data = output.get("data")
            if (
                isinstance(data, dict)
                and WIDGET_MIME in data
                and "text/html" in data
                and MARKER in (output.get("metadata") or {})
            ):
                del data[WIDGET_MIME]
                changed += 1
    return changed


def pre_save_hook(model: dict[str, Any], **kwargs: Any) -> None:
    """A Jupyter contents pre-save hook applying `drop_orphan_widget_views` to notebooks."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        drop_orphan_widget_views(model["content"])
