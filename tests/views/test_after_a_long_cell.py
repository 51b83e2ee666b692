"""A long tracked cell's card refresh and finalisation wait for a quiet kernel as any
other cell's do: the cell whose end they follow is over, not a long cell still running
(views/activity.py), so the next cell of a Run All does not pay for them."""

from __future__ import annotations

import json

import pytest

from .conftest import Kernel, outputs

pytestmark = pytest.mark.slow

FACTS = (
    "import json, sqlite3, time\nfrom pathlib import Path\n"
    "from jupyter_xtrack.tracking.session import CONTEXT\n"
    "con = sqlite3.connect(Path(CONTEXT.store().root) / 'xtrack.db')\n"
    "print(json.dumps([k for (k,) in con.execute(\"SELECT f.kind FROM facts f JOIN runs r \"\n"
    "    \"ON f.run = r.number WHERE r.name = 'long_one'\")]))\n"
    "con.close()\n"
)


def test_the_work_after_a_long_cell_waits_while_the_next_cell_runs(kernel: Kernel) -> None:
    # longer than a card's and a finalisation's "long cell" (REFRESH_BESIDE_S, LONG_CELL_S)
    msgs = kernel.execute("%%track --name long_one\nimport time\ntime.sleep(2.5)\nx = 1")
    display_id = outputs(msgs)[-1]["transient"]["display_id"]
    # the next cell comes at once, as in a Run All, and is short
    during = kernel.execute("time.sleep(0.3)\n" + FACTS)
    printed = [m["content"]["text"] for m in during if m["msg_type"] == "stream"]
    kinds = set(json.loads(printed[-1]))
    assert not {"code", "env", "lineage"} & kinds, kinds
    assert not [
        u
        for u in outputs(during, "update_display_data")
        if u["transient"]["display_id"] == display_id
    ], "the card was refreshed beside the next cell"
    # once the kernel is quiet, both come
    later = kernel.drain(5.0)
    assert [
        u
        for u in outputs(later, "update_display_data")
        if u["transient"]["display_id"] == display_id
    ]
    after = kernel.execute(FACTS)
    printed = [m["content"]["text"] for m in after if m["msg_type"] == "stream"]
    assert {"code", "env", "lineage"} <= set(json.loads(printed[-1]))
