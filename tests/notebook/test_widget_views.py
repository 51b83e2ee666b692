"""Saved notebooks keep our views' HTML instead of a widget reference that cannot return."""

from __future__ import annotations

import copy
from typing import Any

from jupyter_xtrack.notebook.widget_views import (
    WIDGET_MIME,
    drop_orphan_widget_views,
    pre_save_hook,
)


def _nb(outputs: list[dict[str, Any]], widget_state: bool = False) -> dict[str, Any]:
    nb: dict[str, Any] = {
        "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if widget_state:
        nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {}}}}
    return nb


def _out(marked: bool, html: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"text/plain": "card", WIDGET_MIME: {"model_id": "m"}}
    if html:
        data["text/html"] = "<div>card</div>"
    out: dict[str, Any] = {"output_type": "display_data", "data": data, "metadata": {}}
    if marked:
        out["metadata"]["jupyter_xtrack"] = {"view": True}
    return out


def test_marked_views_lose_the_dead_widget_reference_and_keep_html() -> None:
    nb = _nb([_out(marked=True), _out(marked=False), _out(marked=True, html=False)])
    assert drop_orphan_widget_views(nb) == 1
    first, other, no_html = nb["cells"][0]["outputs"]
    assert WIDGET_MIME not in first["data"] and first["data"]["text/html"] == "<div>card</div>"
    assert WIDGET_MIME in other["data"]  # someone else's widget: untouched
    assert WIDGET_MIME in no_html["data"]  # nothing to fall back to: untouched


def test_notebooks_that_save_widget_state_are_left_alone() -> None:
    nb = _nb([_out(marked=True)], widget_state=True)
    before = copy.deepcopy(nb)
    assert drop_orphan_widget_views(nb) == 0 and nb == before


def test_pre_save_hook_only_touches_notebooks() -> None:
    model = {"type": "notebook", "content": _nb([_out(marked=True)])}
    pre_save_hook(model=model, path="a.ipynb", contents_manager=None)
    assert WIDGET_MIME not in model["content"]["cells"][0]["outputs"][0]["data"]
    text = {"type": "file", "content": "x"}
    pre_save_hook(model=text, path="a.txt", contents_manager=None)
    assert text == {"type": "file", "content": "x"}
