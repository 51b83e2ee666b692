"""Figures a cell leaves open (Agg) are drawn once no cell runs, as the cell left them: a real
IPython shell with the extension's hooks, a real store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from jupyter_xtrack import api
from jupyter_xtrack.store import open_store

SETUP = (
    "import io, threading, time\nimport matplotlib\nmatplotlib.use('Agg')\n"
    "import matplotlib.figure as mfig\nimport matplotlib.pyplot as plt\n"
    "from IPython.display import Image, display\n"
    "_save = mfig.Figure.savefig\nDRAWN = []\n"
    "def _drawing(self, *a, **k):\n"
    "    if threading.current_thread() is not threading.main_thread():\n"
    "        DRAWN.append(time.monotonic())\n"
    "    return _save(self, *a, **k)\n"
    "mfig.Figure.savefig = _drawing\n"
)
FIGURE = "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0, 1, 2], [0, 1, 0])\n"


def test_open_figures_wait_for_the_next_cell_and_keep_the_cells_state(
    shell: Any, workdir: Path
) -> None:
    shell.run_cell(SETUP, store_history=True)
    try:
        # cell 1 displays one figure (stored as displayed) and leaves two open
        shell.run_cell(
            "%%track\nshown = plt.figure(figsize=(2, 2))\nbuf = io.BytesIO()\n"
            "shown.savefig(buf, format='png')\nplt.close(shown)\n"
            "display(Image(data=buf.getvalue()))\n"
            + FIGURE
            + "fig2, ax2 = plt.subplots()\nax2.plot([3, 1])\n",
            store_history=True,
        )
        # cell 2 runs at once, as in a Run All, changes the figure and runs past the quiet
        # delay: nothing may be drawn beside it
        shell.run_cell(
            "ax.plot([0, 1, 2], [5, 5, 5])\ntime.sleep(0.8)\nDRAWN_DURING = list(DRAWN)\n",
            store_history=True,
        )
        assert shell.user_ns["DRAWN_DURING"] == []
        api.flush()  # waits for the drawing, which need not wait for quiet any more
        assert len(shell.user_ns["DRAWN"]) == 2
        shell.run_cell(
            "plt.close('all')\n" + FIGURE + "EXPECTED = io.BytesIO()\n"
            "fig.savefig(EXPECTED, format='png', bbox_inches='tight')\nplt.close('all')\n",
            store_history=True,
        )
    finally:
        shell.run_cell("mfig.Figure.savefig = _save\nplt.close('all')", store_history=True)
    store = open_store(workdir / ".xtrack")
    run = store.get_run(1)
    blobs = {a["name"]: store.get_blob(a["hash"]) for a in run["artifacts"]}
    assert sorted(blobs) == ["figure-1.png", "figure-2.png", "figure-3.png"]
    expected: io.BytesIO = shell.user_ns["EXPECTED"]
    assert blobs["figure-2.png"] == expected.getvalue()  # without the line cell 2 drew
