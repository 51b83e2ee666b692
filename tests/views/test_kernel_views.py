"""The views in a real kernel, read from the messages a front end receives: the live chart
and its frozen image, the run card, the run table's interactions, the compare view and
the sweep progress view."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from .conftest import WIDGET_MIME, Kernel, comm_opens, comm_updates, outputs

pytestmark = pytest.mark.slow

TRAIN = (
    "%%track --name train\n"
    "import time\n"
    "lr = {lr}\n"
    "for i in range(30):\n"
    "    xt.log(step=i, loss=lr / (i + 1), acc=i / 30)\n"
    "    time.sleep(0.04)\n"
)


# Cell code that waits (inside the cell) until the last run's card shows its stored run, as `c`.
UNTIL_STORED = (
    "import sys, time\nfrom jupyter_xtrack.views import cell\nc = cell.LAST.card\n"
    "for _ in range(1200):\n"
    "    if not c.card['pending']:\n        break\n    time.sleep(0.05)\n"
)


def widget_id(content: dict[str, Any]) -> str:
    return str(content["data"][WIDGET_MIME]["model_id"])


def card_widget(kernel: Kernel, msgs: list[dict[str, Any]],
                card: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The card's widget, which replaces its HTML once the run is stored (it is built off
    the cell's path): every message seen until then, and that update's content."""
    display_id = card["transient"]["display_id"]
    seen = list(msgs)
    for _ in range(120):
        for update in outputs(seen, "update_display_data"):
            if update["transient"]["display_id"] == display_id and WIDGET_MIME in update["data"]:
                return seen, update
        seen += kernel.drain(0.5)
    raise AssertionError("the card's widget never replaced its HTML")


def views_by_kind(msgs: list[dict[str, Any]]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for model_id, state in comm_opens(msgs).items():
        kinds.setdefault(str(state.get("view")), []).append(model_id)
    return kinds


def test_training_cell_shows_live_chart_then_image_and_card(kernel: Kernel) -> None:
    msgs = kernel.execute(TRAIN.format(lr=0.5))
    displays = outputs(msgs)
    live = displays[0]
    assert WIDGET_MIME in live["data"] and "text/plain" in live["data"]
    live_display = live["transient"]["display_id"]
    live_model = widget_id(live)
    assert comm_opens(msgs)[live_model]["view"] == "live"
    # Frames arrived while the cell ran, with more points each time.
    frames = [u["state"]["meta"] for u in comm_updates(msgs, live_model)
              if u.get("method") == "update" and "meta" in u.get("state", {})]
    assert len(frames) >= 2, "the chart should update while the cell runs"
    points = [f["points"] for f in frames]
    assert points == sorted(points) and points[0] < 60
    assert set(frames[-1]["keys"]) == {"loss", "acc"}
    # At the end the widget is replaced by a PNG under the same display id, then closed.
    updates = outputs(msgs, "update_display_data")
    frozen = [u for u in updates if u["transient"]["display_id"] == live_display]
    assert frozen and WIDGET_MIME not in frozen[-1]["data"]
    assert base64.b64decode(frozen[-1]["data"]["image/png"]).startswith(b"\x89PNG")
    assert "loss" in frozen[-1]["data"]["text/plain"] and "30 points" in frozen[-1]["data"]["text/plain"]
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == live_model for m in msgs)
    # The card comes last: HTML + text at once, replacing the one-line summary, then the
    # widget in its place once the run is stored.
    card = displays[-1]["data"]
    assert WIDGET_MIME not in card and "xtrack-summary" in card["text/html"]
    assert "train" in card["text/plain"] and "finished" in card["text/plain"]
    streams = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "xtrack #" not in streams
    later, widget = card_widget(kernel, msgs, displays[-1])
    assert "xtrack-summary" in widget["data"]["text/html"]
    state = comm_opens(later)[widget_id(widget)]
    assert state["view"] == "card" and state["card"]["pending"] is False
    # The views' own JavaScript and CSS are not taken for the cell's data inputs.
    assert not [f["path"] for f in state["card"]["inputs"] if "views." in f["path"]]


def test_cell_without_logging_shows_no_chart(kernel: Kernel) -> None:
    msgs = kernel.execute("%%track --name quiet\nx = 1 + 1")
    later, _ = card_widget(kernel, msgs, outputs(msgs)[-1])
    assert views_by_kind(later).get("live") is None
    assert views_by_kind(later).get("card")


def test_card_becomes_a_widget_only_once_the_kernel_is_quiet(kernel: Kernel) -> None:
    """The stored facts reach the card's HTML while the next cell runs (a converted notebook
    keeps them); its widget, whose messages would slow that cell, waits until no cell runs."""
    kernel.execute("from jupyter_xtrack.views import activity\nactivity.LONG_CELL_S = 600.0")
    try:
        msgs = kernel.execute("%%track --name quiet_swap\nx = 2")
        card = outputs(msgs)[-1]
        display_id = card["transient"]["display_id"]
        # the next cell runs until the card shows the stored run, then a little longer
        msgs += kernel.execute(
            UNTIL_STORED
            + "time.sleep(0.5)\nprint(c.card['pending'], c.widget is None, c.refreshing.is_set())"
        )
        printed = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
        assert printed[-1].split() == ["False", "True", "False"]
        updates = [
            u
            for u in outputs(msgs, "update_display_data")
            if u["transient"]["display_id"] == display_id
        ]
        assert updates and all(WIDGET_MIME not in u["data"] for u in updates)
        assert "quiet_swap" in updates[-1]["data"]["text/plain"]
        # idle now: the widget takes the HTML's place
        later, widget = card_widget(kernel, msgs, card)
        state = comm_opens(later)[widget_id(widget)]["card"]
        assert state["pending"] is False and state["name"] == "quiet_swap"
    finally:
        kernel.execute("activity.LONG_CELL_S = 2.0")


def test_card_refreshes_with_input_hashes_and_compares_with_previous(kernel: Kernel) -> None:
    kernel.execute("open('data.csv', 'w').write('a,b\\n1,2\\n')")
    cell = "%%track --name reader\nrows = open('data.csv').read().splitlines()\nn = len(rows)"
    kernel.execute(cell)
    msgs = kernel.execute(cell)
    later, refreshed = card_widget(kernel, msgs, outputs(msgs)[-1])
    assert "input data.csv" in refreshed["data"]["text/plain"], "refreshed once hashes are stored"
    model_id = widget_id(refreshed)
    state = comm_opens(later)[model_id]["card"]
    assert state["previous"] is not None, "the second run of a cell knows the first"
    inputs = state["inputs"]
    assert inputs[0]["path"] == "data.csv" and len(inputs[0]["hash"]) == 12
    assert state["pending"] is False
    # The "compare with previous" button.
    kernel.send_custom(model_id, {"type": "compare_previous"})
    msgs = kernel.drain(3.0)
    compares = [u["state"]["compare"] for u in comm_updates(msgs, model_id) if "compare" in u.get("state", {})]
    assert compares and len(compares[-1]["labels"]) == 2
    assert compares[-1]["labels"][0].startswith(f"#{state['previous']['number']}")


def test_run_table_filters_sorts_selects_and_compares(kernel: Kernel) -> None:
    kernel.execute(TRAIN.format(lr=0.25))
    msgs = kernel.execute("%xtrack runs name = 'train'")
    result = outputs(msgs, "execute_result")[0]["data"]
    assert WIDGET_MIME in result and "<table>" in result["text/html"]
    assert "metrics.loss" in result["text/plain"]
    model_id = str(result[WIDGET_MIME]["model_id"])
    table = comm_opens(msgs)[model_id]["table"]
    assert table["total"] == 2 and "metrics.loss" in table["columns"]
    ids = [r["id"] for r in table["rows"]]

    def states(key: str, wait: float = 2.0) -> list[Any]:
        return [u["state"][key] for u in comm_updates(kernel.drain(wait), model_id)
                if key in u.get("state", {})]

    # A malformed filter: the FilterError, caret included, shows under the box.
    kernel.send_custom(model_id, {"type": "filter", "text": "metrics.loss >"})
    errors = states("error")
    assert errors and "^" in errors[-1] and "metrics.loss >" in errors[-1]
    # A good filter replaces the rows and clears the error.
    kernel.send_custom(model_id, {"type": "filter", "text": "params.lr < 0.3"})
    tables = states("table")
    assert tables[-1]["total"] == 1
    # Sorting by a metric, then again to flip.
    kernel.send_custom(model_id, {"type": "filter", "text": ""})
    states("table")
    kernel.send_custom(model_id, {"type": "sort", "column": "params.lr"})
    asc = states("table")[-1]
    col = asc["columns"].index("params.lr")
    assert [r["cells"][col] for r in asc["rows"]][:2] == ["0.25", "0.5"]
    kernel.send_custom(model_id, {"type": "sort", "column": "params.lr"})
    desc = states("table")[-1]
    assert [r["cells"][col] for r in desc["rows"]][:2] == ["0.5", "0.25"]
    assert desc["sort"] == {"column": "params.lr", "descending": True}
    # Select two runs and compare.
    kernel.send_state(model_id, {"selected": ids})
    kernel.send_custom(model_id, {"type": "compare"})
    compares = states("compare", 4.0)
    assert compares and len(compares[-1]["labels"]) == 2
    keys = {h["key"] for h in compares[-1]["histories"]}
    assert {"loss", "acc"} <= keys


def test_compare_shows_widget_with_html_and_text(kernel: Kernel) -> None:
    msgs = kernel.execute("xt.compare(*xt.runs(\"name = 'train'\")['id'][:2])")
    data = outputs(msgs, "execute_result")[0]["data"]
    assert WIDGET_MIME in data
    assert "xtrack-compare" in data["text/html"] and "<svg" in data["text/html"]
    assert "* params.lr" in data["text/plain"]
    payload = comm_opens(msgs)[str(data[WIDGET_MIME]["model_id"])]["compare"]
    lr = next(r for s in payload["sections"] if s["name"] == "params" for r in s["rows"] if r["key"] == "lr")
    assert lr["differs"] is True


def test_sweep_progress_updates_stops_and_freezes(kernel: Kernel) -> None:
    msgs = kernel.execute(
        "from jupyter_xtrack.views import SweepProgress\n"
        "p = SweepProgress('lr sweep', 'acc', 'maximize').display()\n"
        "p.update([{'number': 0, 'state': 'complete', 'value': 0.8, 'params': {'lr': 0.1}, 'duration_s': 1}])"
    )
    shown = outputs(msgs)[0]
    model_id = widget_id(shown)
    assert comm_opens(msgs)[model_id]["view"] == "progress"
    kernel.send_custom(model_id, {"type": "stop"})
    kernel.drain(1.0)
    msgs = kernel.execute("print(p.stop_requested); p.finish()")
    assert "True" in "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    final = [u for u in outputs(msgs, "update_display_data")
             if u["transient"]["display_id"] == shown["transient"]["display_id"]][-1]["data"]
    assert WIDGET_MIME not in final and "image/png" in final and "<table>" in final["text/html"]


def test_widget_state_stays_small(kernel: Kernel) -> None:
    msgs = kernel.execute(TRAIN.format(lr=0.1).replace("range(30)", "range(20000)").replace("    time.sleep(0.04)\n", ""))
    for state in comm_opens(msgs).values():
        state = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
        assert len(json.dumps(state, default=str)) < 20_000, state.get("view")
    sizes = [len(json.dumps(u.get("state", {}), default=str)) for m in comm_opens(msgs)
             for u in comm_updates(msgs, m)]
    assert all(size < 50_000 for size in sizes)


def test_live_chart_never_shows_a_secret_metric_name(kernel: Kernel) -> None:
    # A metric whose name is a token: the store keeps it redacted, and so must every frame
    # of the live chart (its keys and its latest values), not only the frozen image.
    token = "ghp_" + "Zq8Rt2Wm5Yp7Kd3Lx9Vb4Nc6Hs1Gf0Ja2Ue"
    msgs = kernel.execute(
        "%%track --name secretive\nimport time\n"
        f"for i in range(25):\n    xt.log(step=i, **{{{token!r}: i / 25, 'acc': i / 25}})\n"
        "    time.sleep(0.04)\n"
    )
    live_model = views_by_kind(msgs)["live"][0]
    frames = [u["state"]["meta"] for u in comm_updates(msgs, live_model)
              if "meta" in u.get("state", {})]
    assert frames, "the chart should update while the cell runs"
    for meta in frames:
        assert token not in json.dumps(meta)
    assert any(k != "acc" for k in frames[-1]["keys"]), "the redacted metric is still drawn"
    frozen = outputs(msgs, "update_display_data")
    assert frozen and all(token not in json.dumps(u["data"]) for u in frozen)
