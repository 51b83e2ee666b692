"""Where widgets are unavailable every view still shows something sensible: a plain
IPython shell (terminal), `XTRACK_WIDGETS=0`, and a notebook run headless by nbclient
then exported by nbconvert without widget state (what GitHub's viewer gets)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack import views as widgets
from tests.conftest import run_cell

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TRAIN = (
    "%%track --name train\n"
    "lr = {lr}\n"
    "open('data.csv').read()\n"
    "for i in range(50):\n"
    "    xt.log(step=i, loss=lr / (i + 1), acc=i / 50)\n"
)


@pytest.fixture
def two_runs(shell: Any, workdir: Path) -> Any:
    (workdir / "data.csv").write_text("a,b\n1,2\n")
    for lr in (0.1, 0.2):
        assert run_cell(shell, TRAIN.format(lr=lr)).success
    xt.flush()
    return shell


def test_terminal_cell_prints_the_summary_line(two_runs: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_cell(two_runs, TRAIN.format(lr=0.3))
    out = capsys.readouterr().out
    assert "xtrack #3 train" in out and "finished" in out
    views = widgets.on_run_start(xt.get_run(3), calls_log=True)
    assert views.live is None  # no kernel: no live chart
    assert widgets.on_run_end(xt.get_run(3), views) is False  # so the caller prints the line


def test_run_table_text_and_html(two_runs: Any) -> None:
    view = xt.show(xt.runs())
    bundle = view._repr_mimebundle_()
    assert WIDGET_MIME not in bundle
    text = bundle["text/plain"]
    assert text.splitlines()[0].split()[:3] == ["number", "name", "status"]
    assert "#2" in text and "metrics.loss" in text and "params.lr" in text
    assert "<table>" in bundle["text/html"] and "2 of 2 runs" in bundle["text/html"]
    # The same operations the page triggers, on the Python side.
    assert view.apply_filter("metrics.loss >") is False
    assert "^" in view.error and len(view.frame) == 2
    assert view.apply_filter("params.lr > 0.15") is True and len(view.frame) == 1
    view.apply_filter("")
    view.sort("params.lr")
    assert list(view.frame["params.lr"]) == [0.1, 0.2]
    view.sort("params.lr")
    assert list(view.frame["params.lr"]) == [0.2, 0.1]
    assert view.compare([]) is None and "at least two" in view.error
    comparison = view.compare(list(view.frame["id"]))
    assert comparison.labels == ["#2 train", "#1 train"]
    assert xt.runs().pipe(xt.show).__class__.__name__ == "RunTableView"
    assert xt.show(42) == 42  # anything else passes through


def test_compare_text_html_and_payload(two_runs: Any) -> None:
    comparison = xt.compare(1, 2)
    bundle = comparison._repr_mimebundle_()
    assert WIDGET_MIME not in bundle
    assert "* params.lr" in bundle["text/plain"]
    assert "xtrack-compare" in bundle["text/html"] and "<svg" in bundle["text/html"]
    from jupyter_xtrack.views.compare_view import comparison_payload

    payload = comparison_payload(comparison)
    params = next(s for s in payload["sections"] if s["name"] == "params")
    assert params["rows"] == [{"key": "lr", "values": ["0.1", "0.2"], "differs": True}]
    assert {h["key"] for h in payload["histories"]} == {"loss", "acc"}
    loss = next(h for h in payload["histories"] if h["key"] == "loss")
    assert [r["label"] for r in loss["runs"]] == ["#1 train", "#2 train"]
    assert loss["runs"][0]["xs"][:3] == [0.0, 1.0, 2.0]


def test_run_card_model_and_fallbacks(two_runs: Any) -> None:
    card = xt.show(xt.get_run(2))
    model = card.card
    assert model["status"] == "finished" and model["summary"].startswith("xtrack #2 train")
    assert ["lr", "0.2"] in model["params"]
    assert dict(model["metrics"])["loss"] == "0.004"
    assert model["inputs"][0]["path"] == "data.csv" and len(model["inputs"][0]["hash"]) == 12
    assert model["previous"]["number"] == 1
    assert dict(model["facts"])["duration"].endswith(("ms", "s"))
    assert model["git"] == [["repository", "none (not in a git repository)"]]
    bundle = card._repr_mimebundle_()
    assert WIDGET_MIME not in bundle
    assert "<details" in bundle["text/html"] and "data.csv" in bundle["text/html"]
    assert "input data.csv" in bundle["text/plain"]
    assert xt.show(xt.get_run(1)).card["previous"] is None


def test_headless_notebook_saves_image_card_and_table_that_export_without_widgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%load_ext jupyter_xtrack", TRAIN.format(lr=0.1), TRAIN.format(lr=0.2),
        "%xtrack runs", "xt.compare(1, 2)",
    )]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    train = nb.cells[1].outputs
    # The live chart was replaced by its last frame: a PNG, no widget.
    assert "image/png" in train[0]["data"] and WIDGET_MIME not in train[0]["data"]
    # The card: HTML at once, its widget later from a thread (nbclient keeps it only when
    # it comes while the cell is still read); either way the HTML is there for export.
    card = train[-1]["data"]
    assert "xtrack-summary" in card["text/html"]
    # What the hygiene hooks do: drop widget state. nbconvert then falls back to HTML.
    nb.metadata.pop("widgets", None)
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "xtrack-summary" in html and "data:image/png;base64" in html
    assert "xtrack-runs" in html and "xtrack-compare" in html
    assert "Error displaying widget" not in html


def test_widgets_off_gives_html_and_text_in_a_kernel(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    from .conftest import Kernel

    env = {**os.environ, "XTRACK_STORE": str(tmp_path / "store"), "XTRACK_WIDGETS": "0"}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        k = Kernel(km, kc)
        k.execute("%load_ext jupyter_xtrack")
        msgs = k.execute("%%track --name off\nfor i in range(5):\n    xt.log(step=i, loss=1 / (i + 1))")
        assert not [m for m in msgs if m["msg_type"] == "comm_open"]
        summary = [m["content"]["data"] for m in msgs if m["msg_type"] == "display_data"]
        assert summary and "xtrack-summary" in summary[-1]["text/html"]
        msgs = k.execute("%xtrack runs")
        data = next(m["content"]["data"] for m in msgs if m["msg_type"] == "execute_result")
        assert WIDGET_MIME not in data and "<table" in data["text/html"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
