"""System metrics over time, figures stored off the cell's path, and the run card's widget
libraries loaded off it: each through a real kernel run by nbclient."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook

pytestmark = pytest.mark.slow

BUSY = "import time\nt0 = time.perf_counter()\nwhile time.perf_counter() - t0 < {s}:\n    pass"


def _run(
    tmp_path: Path,
    *sources: str,
    load: str = "%load_ext jupyter_xtrack",
    allow_errors: bool = False,
) -> Any:
    """Run the cells (after `load`, the cell that loads the extension) in a fresh kernel."""
    nb = python_notebook(load, *sources)
    NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    return nb


def _system(store: Any, number: int) -> dict[str, dict[str, list[Any]]]:
    run = store.get_run(number)
    return {
        k: store.metric_history(run["id"], k)
        for k in store.metric_keys(run["id"])
        if k.startswith("system/")
    }


def _assert_series(history: dict[str, list[Any]], at_least: int) -> None:
    assert len(history["value"]) >= at_least
    assert history["step"] == list(range(len(history["value"])))
    assert history["time"] == sorted(history["time"]) and len(set(history["time"])) == len(
        history["time"]
    )


def test_system_metrics_are_sampled_while_a_long_cell_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("XTRACK_SYSTEM_METRICS", raising=False)
    nb = _run(
        tmp_path,
        "%%track --name busy\nacc = 0.5\n" + BUSY.format(s=3),
        "%%track --name quick\nx = 1",
        "%%track --name often --system-metrics 0.2\n" + BUSY.format(s=1.5),
        "%%track --name off --system-metrics off\n" + BUSY.format(s=1.5),
        "import os\nos.environ['XTRACK_SYSTEM_METRICS'] = '0.25'",
        "%%track --name by-env\n" + BUSY.format(s=1.5),
    )
    store = open_store(tmp_path / "store")
    busy = _system(store, 1)
    assert {"system/cpu_percent", "system/rss_mb"} <= set(busy)
    _assert_series(busy["system/cpu_percent"], 2)
    _assert_series(busy["system/rss_mb"], 2)
    assert all(v > 0 for v in busy["system/cpu_percent"]["value"])
    assert all(v > 10 for v in busy["system/rss_mb"]["value"])  # a Python kernel, in MB
    # the one-line headline keeps the user's metric; the system ones are not in it
    card_text = nb.cells[1].outputs[-1]["data"]["text/plain"].splitlines()[0]
    assert "acc=0.5" in card_text and "system/" not in card_text
    assert _system(store, 2) == {}  # under a second: no sample
    # every 0.2 s for 1.5 s: well over the 1 sample a second would give
    _assert_series(_system(store, 3)["system/cpu_percent"], 4)
    assert _system(store, 4) == {}
    _assert_series(_system(store, 5)["system/rss_mb"], 4)


def test_bad_interval_is_a_usage_error_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XTRACK_SYSTEM_METRICS", "often")
    nb = _run(
        tmp_path,
        "%%track --name ok\ny = 2",
        "%%track --system-metrics soon\nz = 3",
        allow_errors=True,
    )
    said = "".join(o.get("text", "") + o.get("evalue", "") for o in nb.cells[2].outputs)
    assert "UsageError" in said and "--system-metrics wants seconds" in said
    run = open_store(tmp_path / "store").get_run(1)  # a bad variable: sampled at the default
    assert run["status"] == "finished"
    assert any("XTRACK_SYSTEM_METRICS" in p or "'often'" in p for p in run["capture_problems"])


def _blobs(store: Any, number: int) -> list[bytes]:
    run = store.get_run(number)
    return [store.get_blob(a["hash"]) for a in run["artifacts"] if a["media_type"] == "image/png"]


def test_displayed_figures_are_stored_as_displayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    nb = _run(
        tmp_path,
        "%%track --name one\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 3, 2])",
        "%%track --name two\nfor k in (1, 2):\n    plt.figure(figsize=(3, 2))\n    plt.plot([0, k])\nplt.show()",
    )
    store = open_store(tmp_path / "store")
    for number, cell in ((1, nb.cells[1]), (2, nb.cells[2])):
        shown = [
            base64.b64decode(o["data"]["image/png"])
            for o in cell.outputs
            if "image/png" in o.get("data", {})
        ]
        assert shown and _blobs(store, number) == shown


def test_open_figures_are_drawn_off_the_cell_thread_as_the_cell_left_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a backend that leaves figures open (Agg), the figure is copied when the cell
    ends and drawn on a worker thread: the kernel's main thread never saves it, and a
    change the next cell makes is not in the stored image."""
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    figure = "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0, 1, 2], [0, 1, 0])"
    nb = _run(
        tmp_path,
        "import threading, io, json\nimport matplotlib.figure as mfig\nimport matplotlib.pyplot as plt\n"
        "_save = mfig.Figure.savefig\nSAVES = []\n"
        "def savefig(self, *a, **k):\n"
        "    SAVES.append(threading.current_thread() is threading.main_thread())\n"
        "    return _save(self, *a, **k)\n"
        "mfig.Figure.savefig = savefig",
        "%%track --name agg\n" + figure,
        "ax.plot([0, 1, 2], [5, 5, 5])  # the next cell changes the figure\nxt.flush()\n"
        "print(json.dumps({'saves': SAVES, 'open': plt.get_fignums()}))",
        figure + "\nbuf = io.BytesIO()\nfig.savefig(buf, format='png', bbox_inches='tight')\n"
        "import base64\nprint(base64.b64encode(buf.getvalue()).decode())",
    )
    seen = json.loads(nb.cells[3].outputs[0]["text"])
    assert seen == {
        "saves": [False],
        "open": [1],
    }  # saved once, off the main thread; no copy registered
    expected = base64.b64decode(nb.cells[4].outputs[0]["text"])
    assert _blobs(open_store(tmp_path / "store"), 1) == [expected]


def test_first_tracked_cell_shows_its_card_without_the_widget_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the card is HTML at first; its widget (anywidget, ipywidgets) comes on the card's
    # thread once no cell runs (tests/views/test_card_first_widget.py): not in Run All
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XTRACK_WIDGETS", "1")
    nb = _run(
        tmp_path,
        "%%track --name first\nx = 1",
        "import sys\nprint([m for m in ('anywidget', 'ipywidgets') if m in sys.modules])",
    )
    assert nb.cells[2].outputs[0]["text"].strip() == "[]"
    card = nb.cells[1].outputs[-1]["data"]
    assert "xtrack-summary" in card["text/html"] and "first" in card["text/plain"]


def test_load_ext_loads_what_the_first_tracked_cell_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The captures and the card's views load on a thread at `%load_ext`: a first tracked
    cell run once that thread is done imports none of the package's modules itself."""
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    ours = "{m for m in sys.modules if m.startswith('jupyter_xtrack')}"
    nb = _run(
        tmp_path,
        "import sys, threading\n"
        "[t.join(60) for t in threading.enumerate() if t.name == 'xtrack-prefetch']\n"
        f"BEFORE = {ours}\n"
        "print(sorted(m for m in BEFORE if m.endswith(('views.cell', 'capture.data'))))",
        "%%track --name first\nx = 1",
        f"print(sorted({ours} - BEFORE))",
    )
    loaded = nb.cells[1].outputs[0]["text"].strip()
    assert loaded == "['jupyter_xtrack.capture.data', 'jupyter_xtrack.views.cell']"
    assert nb.cells[3].outputs[0]["text"].strip() == "[]"
    assert open_store(tmp_path / "store").get_run(1)["status"] == "finished"


@pytest.mark.gpu
def test_gpu_metrics_where_a_gpu_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run on a machine with an NVIDIA GPU (pytest -m gpu): per-GPU memory, and
    utilisation where NVML (nvidia-ml-py) is installed, from torch's allocations."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    _run(
        tmp_path,
        "import torch\nx = torch.ones((1024, 1024, 64), device='cuda')",
        "%%track --name gpu --system-metrics 0.2\n" + BUSY.format(s=1.5),
    )
    metrics = _system(open_store(tmp_path / "store"), 1)
    _assert_series(metrics["system/gpu0/memory_mb"], 4)
    assert min(metrics["system/gpu0/memory_mb"]["value"]) >= 256  # the 256 MB tensor at least
    try:
        import pynvml  # noqa: F401
    except ImportError:
        return
    _assert_series(metrics["system/gpu0/utilization_percent"], 4)
