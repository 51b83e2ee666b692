"""The first run card to become a widget imports anywidget and ipywidgets (~100 ms of
imports holding the GIL): in a fresh kernel that happens only when no cell runs, even one
that has run for long (later cards swap beside a long cell)."""

from __future__ import annotations

import pytest

from .conftest import WIDGET_MIME, Kernel, comm_opens, outputs
from .test_kernel_views import UNTIL_STORED, card_widget, widget_id

pytestmark = pytest.mark.slow


# an import finder that only notes which thread imports the widget libraries
SPY = (
    "import sys, threading\nIMPORTS = []\n"
    "class Spy:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name in ('anywidget', 'ipywidgets'):\n"
    "            IMPORTS.append((name, threading.current_thread() is threading.main_thread()))\n"
    "sys.meta_path.insert(0, Spy())\n"
)


def test_the_first_widget_waits_for_an_idle_kernel(kernel: Kernel) -> None:
    kernel.execute(SPY)
    kernel.execute("from jupyter_xtrack.views import activity\nactivity.LONG_CELL_S = 0.2")
    msgs = kernel.execute("%%track --name first_card\nx = 1")
    card = outputs(msgs)[-1]
    # a cell that runs well past LONG_CELL_S once the card shows its stored run
    msgs += kernel.execute(
        UNTIL_STORED + "time.sleep(1.5)\nprint(c.widget is None, 'anywidget' in sys.modules)"
    )
    printed = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    assert printed[-1].split() == ["True", "False"]
    display_id = card["transient"]["display_id"]
    assert not [
        u
        for u in outputs(msgs, "update_display_data")
        if u["transient"]["display_id"] == display_id and WIDGET_MIME in u["data"]
    ]
    later, widget = card_widget(kernel, msgs, card)  # idle now: the widget comes
    assert comm_opens(later)[widget_id(widget)]["card"]["name"] == "first_card"
    # imported once the card needed its widget, on the card's thread, never a cell's
    done = kernel.execute("print(sorted(IMPORTS))")
    printed = [m["content"]["text"] for m in done if m["msg_type"] == "stream"]
    assert printed[-1].strip() == "[('anywidget', False), ('ipywidgets', False)]"
