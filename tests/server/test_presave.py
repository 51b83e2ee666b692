"""Through a real server: saving a notebook keeps our views' HTML, not a dead widget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


async def test_saved_notebook_keeps_html_of_our_views(jp_fetch: Any, jp_root_dir: Path) -> None:
    output = {
        "output_type": "display_data",
        "data": {"text/plain": "card", "text/html": "<div>card</div>",
                 WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0}},
        "metadata": {"jupyter_xtrack": {"view": True}},
    }
    nb = {
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                   "source": "%%track\nx = 1", "outputs": [output]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    await jp_fetch("api", "contents", "saved.ipynb", method="PUT",
                   body=json.dumps({"type": "notebook", "format": "json", "content": nb}))
    on_disk = json.loads((jp_root_dir / "saved.ipynb").read_text())
    data = on_disk["cells"][0]["outputs"][0]["data"]
    assert WIDGET_MIME not in data and "".join(data["text/html"]) == "<div>card</div>"
