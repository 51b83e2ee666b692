"""R4, any write failure: a run whose record the store refuses mid-cell (here: deleted while
it logs) still gets a card that says exactly what was not stored, never a stored-looking
result, and the failure reaches no other run."""

from __future__ import annotations

from typing import Any

import jupyter_xtrack as xt
from jupyter_xtrack.views.card import RunCard
from tests.conftest import run_cell


def test_a_run_the_store_lost_says_so_on_its_card(shell: Any) -> None:
    run_cell(shell, "%%track --name kept\nxt.log(y=1)\n")
    run_cell(
        shell,
        "%%track --name lost\nr = xt.active_run()\nxt.flush()\n"
        "r.store.delete_runs([r.id])\nfor i in range(100):\n    xt.log(x=i)\n",
    )
    from jupyter_xtrack.tracking.recorder import wait_pending

    wait_pending()
    card = RunCard(shell.user_ns["r"])
    card._refresh()  # what the card's thread does once the run's writes are done
    lost = card.card["not_stored"]
    assert lost["points"] == 100 and lost["writes"] >= 1, lost  # its end could not be stored
    assert "not in store" in lost["reason"] or "no run" in lost["reason"]
    assert dict(card.card["facts"])["not stored"].startswith("100 metric points and")
    assert "⚠ 100 metric points" in card.card["summary"]
    frame = xt.runs()
    assert list(frame["name"]) == ["kept"] and list(frame["status"]) == ["finished"]
