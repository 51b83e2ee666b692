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
    kernel.execute(
        "from jupyter_xtrack.views import activity, card\n"
        "activity.LONG_CELL_S = 0.5\ncard.REFRESH_BESIDE_S = 0.5"
    )
    try:
        msgs = kernel.execute("%%track --name long_one\nimport time\ntime.sleep(1.0)\nx = 1")
        display_id = outputs(msgs)[-1]["transient"]["display_id"]
        # the next cell comes at once, as in a Run All, and runs less than LONG_CELL_S
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
        later = kernel.drain(3.0)
        assert [
            u
            for u in outputs(later, "update_display_data")
            if u["transient"]["display_id"] == display_id
        ]
        after = kernel.execute(FACTS)
        printed = [m["content"]["text"] for m in after if m["msg_type"] == "stream"]
        assert {"code", "env", "lineage"} <= set(json.loads(printed[-1]))
    finally:
        kernel.execute("activity.LONG_CELL_S = 2.0\ncard.REFRESH_BESIDE_S = 1.0")
