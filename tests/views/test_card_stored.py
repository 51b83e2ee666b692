"""A run card shows the run as stored, in a real kernel, whoever gets to the card first."""

from __future__ import annotations

import pytest

from .conftest import Kernel, outputs

pytestmark = pytest.mark.slow

# The card's thread gets the card as the cell ends, before the kernel hooks hand the run's
# finalisation over; after a long cell it does not wait for a quiet kernel. Here every cell
# counts as long, and the hand-over comes half a second late (a busy machine's scheduling).
LATE_HAND_OVER = """
import time
from jupyter_xtrack.tracking import recorder
from jupyter_xtrack.views import card, cell
card.REFRESH_BESIDE_S = 0.0
_release = recorder.Recording.release_finalize
def _late(self):
    time.sleep(0.5)
    _release(self)
recorder.Recording.release_finalize = _late
"""


def test_a_card_refreshed_before_its_finalisation_shows_the_stored_end(kernel: Kernel) -> None:
    """Reading the store as soon as nothing was pending showed the run as still running,
    with no duration, for good (the card is not refreshed again)."""
    kernel.execute(LATE_HAND_OVER)
    msgs = kernel.execute("%%track --name late\nx = 1")
    display_id = outputs(msgs)[-1]["transient"]["display_id"]
    msgs += kernel.execute(
        "c = cell.LAST.card\n"
        "for _ in range(1200):\n"
        "    if not c.card['pending']:\n        break\n    time.sleep(0.05)\n"
        "print(c.card['pending'], c.card['status'])"
    )
    printed = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    assert printed[-1].split() == ["False", "finished"]
    updates = [
        u for u in outputs(msgs, "update_display_data") if u["transient"]["display_id"] == display_id
    ]
    assert updates and all("finished" in u["data"]["text/plain"] for u in updates)
