"""The sweep/AutoML progress view's model and fallbacks."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jupyter_xtrack.views.progress import (
    SweepProgress,
    progress_html,
    progress_panels,
    progress_payload,
    progress_text,
)
from jupyter_xtrack.views.static_chart import chart_png

TRIALS: list[dict[str, Any]] = [
    {"number": 0, "state": "complete", "value": 0.70, "params": {"lr": 0.1, "depth": 3}, "duration_s": 1.5},
    {"number": 1, "state": "complete", "value": 0.85, "params": {"lr": 0.01, "depth": 5}, "duration_s": 2.0},
    {"number": 2, "state": "pruned", "value": 0.40, "params": {"lr": 0.5, "depth": 2}, "duration_s": 0.2},
    {"number": 3, "state": "failed", "value": None, "params": {"lr": 0.3}, "duration_s": 0.1},
    {"number": 4, "state": "complete", "value": 0.80, "params": {"lr": 0.02, "depth": 4}, "duration_s": 1.9},
    {"number": 5, "state": "running", "value": None, "params": {"lr": 0.05, "depth": 6}},
]


def test_payload_counts_best_and_best_so_far_curve() -> None:
    p = progress_payload("lr sweep", "acc", "maximize", TRIALS)
    assert p["counts"] == {"running": 1, "complete": 3, "pruned": 1, "failed": 1}
    assert p["best"]["number"] == 1 and p["best"]["value"] == 0.85
    # best so far only moves on complete trials and never gets worse
    assert p["curve"] == [[0.0, 0.70], [1.0, 0.85], [4.0, 0.85]]
    assert [r["number"] for r in p["rows"]] == [5, 4, 3, 2, 1, 0]  # newest first
    assert [r["best"] for r in p["rows"]] == [False, False, False, False, True, False]
    assert p["param_keys"] == ["lr", "depth"]


def test_minimize_picks_the_lowest() -> None:
    p = progress_payload("loss sweep", "loss", "minimize", TRIALS)
    assert p["best"]["number"] == 0 and p["curve"][-1] == [4.0, 0.70]


def test_text_and_html_fallbacks_are_readable() -> None:
    p = progress_payload("lr sweep", "acc", "maximize", TRIALS)
    text = progress_text(p)
    assert "6 trials" in text and "best acc = 0.85 (trial 1)" in text
    assert "pruned" in text and "complete *" in text
    html = progress_html(p)
    assert "<table>" in html and "xt-best" in html and "lr sweep" in html


def test_best_so_far_chart_renders_as_png() -> None:
    p = progress_payload("lr sweep", "acc", "maximize", TRIALS)
    png = chart_png(progress_panels(p), ncols=1)
    assert png is not None and png.startswith(b"\x89PNG")


def test_plain_python_prints_only_the_final_table(capsys: pytest.CaptureFixture[str]) -> None:
    progress = SweepProgress("lr sweep", "acc").display()
    progress.update(TRIALS[:2])
    assert capsys.readouterr().out == ""  # no kernel: nothing while it runs
    progress.finish()
    out = capsys.readouterr().out
    assert "best acc = 0.85" in out and not progress.stop_requested


def test_stop_button_message_sets_stop_requested() -> None:
    from jupyter_xtrack.views.models import ProgressModel

    progress = SweepProgress("s", "acc")
    progress._widget = ProgressModel(progress=progress.payload())  # as display() does in a kernel
    progress._widget.on_action(progress._on_action)
    progress._shown = True
    # What the page sends when Stop is pressed (anywidget custom message).
    progress._widget._handle_custom_msg({"type": "stop"}, [])
    assert progress.stop_requested
    assert progress._widget.progress["stopping"] is True


def test_finish_leaves_a_static_image_and_table_in_a_kernel_bundle() -> None:
    progress = SweepProgress("s", "acc")
    progress.trials = TRIALS
    bundle = progress._static_bundle(progress.payload(), chart=True)
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "<img" in bundle["text/html"] and "<table>" in bundle["text/html"]
    assert "best acc" in bundle["text/plain"]
