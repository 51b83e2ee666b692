"""Who refreshes a run card with its stored facts, in a real kernel: the next tracked cell
as it ends, on its own thread, not the card's thread beside a running cell."""

from __future__ import annotations

import pytest

from .conftest import Kernel, outputs

pytestmark = pytest.mark.slow

# Only the cells may refresh cards here: the card's thread would wait for a quiet kernel
# (no code for QUIET_S) or a cell that has run REFRESH_BESIDE_S, both pushed out of reach.
SETUP = """
import threading, time
from jupyter_xtrack.views import activity, card, cell, frontend
activity.QUIET_S = 600.0
card.REFRESH_BESIDE_S = 600.0
refreshed_by = []
_update = frontend.update_bundle
def _logged(bundle, display_id):
    refreshed_by.append((display_id, threading.current_thread().name))
    return _update(bundle, display_id)
frontend.update_bundle = _logged
"""


def test_the_next_tracked_cell_refreshes_a_stored_card_as_it_ends(kernel: Kernel) -> None:
    """In Run All the card's thread refreshing a card beside the next cell made that cell
    pay (store reads, writer flushes, a display message, under the GIL): about 5 ms of the
    gallery notebooks' median cell. Now a cell that is not tracked leaves the card as it
    is, even once its run is stored, and the next tracked cell refreshes it as it ends."""
    kernel.execute(SETUP)
    msgs = kernel.execute("%%track --name first\nx = 1")
    first = outputs(msgs)[-1]["transient"]["display_id"]
    msgs = kernel.execute(
        "a = cell.LAST.card\n"
        "for _ in range(400):\n"
        "    if a.run.stored.is_set():\n        break\n    time.sleep(0.05)\n"
        "time.sleep(0.3)\n"
        "print(a.run.stored.is_set(), a._refreshed, a.card['pending'])"
    )
    printed = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    assert printed[-1].split() == ["True", "False", "True"]  # stored, still not refreshed
    msgs = kernel.execute("%%track --name second\ny = 2")
    updates = [
        u for u in outputs(msgs, "update_display_data") if u["transient"]["display_id"] == first
    ]
    assert updates, "the second cell refreshed the first cell's card"
    assert "first" in updates[-1]["data"]["text/plain"]
    msgs = kernel.execute("print(a._refreshed, a.card['pending'], refreshed_by)")
    printed = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    refreshed, pending, by = printed[-1].split(" ", 2)
    assert (refreshed, pending) == ("True", "False")
    assert f"('{first}', 'MainThread')" in by
