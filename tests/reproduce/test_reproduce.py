"""Reproductions of real notebook runs: recorded through nbclient, reproduced in a fresh
kernel, compared, with the verdict and the `reproduces` link written to the store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.facts import REPRODUCES_TAG, VERDICT_TAG
from jupyter_xtrack.records.run import Run
from jupyter_xtrack.reproduction import reproduce

from .conftest import record, snapshot

pytestmark = pytest.mark.slow

LOAD = "%load_ext jupyter_xtrack"
# Untracked: the store never sees raw.csv being read (an untracked dependency).
READ_RAW = "import pandas as pd\nraw = pd.read_csv('raw.csv')"
PREP = "%%track --name prep\ndf = pd.read_csv('data/data.csv')\nrows = len(df)"
FIT = textwrap.dedent("""\
    %%track --name fit
    from sklearn.linear_model import LinearRegression
    model = LinearRegression().fit(df[['a']], df['b'])
    r2 = model.score(df[['a']], df['b'])
    for step in range(4):
        xt.log(loss=1 / (step + 1) + len(raw), step=step)
    print('fitted', model, hex(id(model)), round(r2, 6))
    """)


def _data(work: Path) -> None:
    (work / "data").mkdir()
    (work / "data" / "data.csv").write_text("a,b\n1,2\n2,4.5\n3,5.9\n4,8.2\n")
    (work / "raw.csv").write_text("x\n1\n2\n")


def test_a_deterministic_run_is_reproduced_and_linked(
    work: Path, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _data(work)
    store = record(work, LOAD, READ_RAW, PREP, FIT)
    fit = Run(store.get_run(2), store)
    assert fit.name == "fit" and fit.metrics["r2"] > 0.9
    before = snapshot(work)

    rep = reproduce(2, store=store)

    assert rep.verdict == "reproduced", rep.text()
    assert rep.untracked == ["raw.csv"]  # read by an untracked cell: listed, copied in
    assert [(c.path, c.state) for c in rep.inputs] == [("data/data.csv", "same")]
    compared = {(r.cell, r.what, r.name) for r in rep.rows}
    # cell 3 (prep) and cell 4 (fit) each made a run in both sessions: both compared
    assert {
        (3, "dataset", "df"),
        (4, "metric", "r2"),
        (4, "history", "loss"),
        (4, "output", "text"),
        (4, "dataset", "df"),
    } <= compared
    assert all(r.state == "same" for r in rep.rows)
    reproduction = Run(store.get_run(rep.run_id or ""), store)
    assert reproduction.reproduces == fit.id
    assert reproduction.tags[VERDICT_TAG] == "reproduced"
    assert reproduction.metrics == fit.metrics and reproduction.number == rep.run_number
    kernel = (
        psutil.Process(reproduction.record["pid"])
        if psutil.pid_exists(reproduction.record["pid"])
        else None
    )
    assert kernel is None or kernel.status() == psutil.STATUS_ZOMBIE  # shut down, not left
    prep = Run(store.get_run(1), store)
    assert [r["id"] for r in prep.reproductions()] != []  # the earlier cell's run is linked too
    assert fit.reproductions() == [
        {
            "id": reproduction.id,
            "number": reproduction.number,
            "status": "finished",
            "verdict": "reproduced",
        }
    ]
    # nothing written outside the temporary folder (checked empty by `scratch`) and the store
    assert snapshot(work) == before
    # `xtrack show` gives the link both ways
    assert main(["show", str(rep.run_number)]) == 0
    assert f"reproduces run {fit.id[:8]} · reproduced" in capsys.readouterr().out
    assert main(["show", "2"]) == 0
    assert f"reproductions: #{rep.run_number} reproduced" in capsys.readouterr().out


def test_a_changed_input_stops_at_the_data_check(
    work: Path, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _data(work)
    store = record(work, LOAD, READ_RAW, PREP, FIT)
    (work / "data" / "data.csv").write_text("a,b\n1,2\n2,4.5\n3,5.9\n4,9.9\n")

    assert main(["reproduce", "2"]) == 1
    out = capsys.readouterr().out
    assert "could not run: inputs differ from the run's" in out
    assert "changed   data/data.csv" in out and "--allow-data-drift" in out
    assert store.query_runs().total == 2  # nothing ran

    rep = reproduce(2, store=store, allow_data_drift=True)
    # prep's frame differs (cell 3); the first metric that differs is the fit's (cell 4)
    assert rep.verdict == "differs" and rep.first_cell == 3 and rep.first_metric == "r2"
    assert "[data drift allowed]" in rep.headline()


def test_an_unseeded_random_step_differs_at_its_cell(work: Path, scratch: Path) -> None:
    store = record(
        work,
        LOAD,
        "%%track --name seeded\nimport numpy as np\nbase = float(np.random.default_rng(7).random())\n"
        "xt.log(base=base)",
        "%%track --name noise\nnoise = float(np.random.random())\nxt.log(noise=noise)\nprint('noise', noise)",
        "%%track --name total\nxt.log(total=base + noise)",
    )
    rep = reproduce(3, store=store)
    assert rep.verdict == "differs"
    assert rep.first_cell == 3 and rep.first_metric == "noise"
    states = {(r.cell, r.what, r.name): r.state for r in rep.rows}
    assert states[(2, "metric", "base")] == "same"
    assert states[(3, "output", "text")] == "differs"
    assert states[(4, "metric", "total")] == "differs"
    assert Run(store.get_run(rep.run_id or ""), store).tags[VERDICT_TAG] == "differs"


def test_a_tolerance_accepts_small_differences(work: Path, scratch: Path) -> None:
    store = record(
        work,
        LOAD,
        "%%track --name tiny\nimport random\n"
        "err = 0.5 + random.random() * 1e-9\nprint(f'err {err:.12f}')",
    )
    assert reproduce(1, store=store).verdict == "differs"
    rep = reproduce(1, store=store, tolerance={"err": 1e-6, None: "abs:1e-6"})
    assert rep.verdict == "reproduced within tolerance", rep.text()


def _probe(folder: Path, version: str) -> Path:
    """A real distribution, `xtrack-probe` at `version`, installed in `folder` (a path
    entry), as pip would lay it out."""
    folder.mkdir()
    (folder / "xtrack_probe.py").write_text(f"VERSION = {version!r}\n")
    info = folder / f"xtrack_probe-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: xtrack-probe\nVersion: {version}\n"
    )
    (info / "top_level.txt").write_text("xtrack_probe\n")
    (info / "RECORD").write_text("xtrack_probe.py,,\n")
    return folder


def test_a_different_package_version_is_reported(
    work: Path, scratch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{_probe(tmp_path / 'v1', '1.0')}{os.pathsep}{path}")
    store = record(work, LOAD, "%%track --name probe\nimport xtrack_probe\nv = 1")
    monkeypatch.setenv("PYTHONPATH", f"{_probe(tmp_path / 'v2', '2.0')}{os.pathsep}{path}")

    rep = reproduce(1, store=store)
    assert rep.verdict == "reproduced"  # the package changed, the numbers did not
    probe = [p for p in rep.packages if p.name == "xtrack-probe"]
    assert [(p.recorded, p.now, p.imported) for p in probe] == [("1.0", "2.0", True)]
    assert rep.packages[0].name == "xtrack-probe"  # imported ones come first
    assert "xtrack-probe 1.0 -> 2.0 (imported)" in rep.text()


def test_a_runaway_cell_could_not_run(work: Path, scratch: Path) -> None:
    store = record(work, LOAD, "%%track --name nap\nimport time\ntime.sleep(4)\ndone = 1")
    rep = reproduce(1, store=store, timeout=1)
    assert rep.verdict == "could not run", rep.text()
    assert rep.reason == "cell 2 ran longer than the 1 s timeout per cell"


def test_a_run_without_lineage_is_reproduced_from_its_code(work: Path, scratch: Path) -> None:
    script = work / "train.py"
    script.write_text(
        textwrap.dedent("""\
        import jupyter_xtrack as xt
        with xt.start_run(name="script"):
            xt.log(acc=0.75)
            xt.log_params(depth=3)
        """)
    )
    subprocess.run([sys.executable, str(script)], check=True, cwd=work, timeout=120)
    from jupyter_xtrack.store import open_store

    store = open_store(work / ".xtrack")
    assert Run(store.get_run(1), store).lineage is None
    rep = reproduce(1, store=store)
    assert rep.verdict == "reproduced", rep.text()
    assert any("no lineage" in n and "from its code alone" in n for n in rep.notes)
    assert {(r.what, r.name) for r in rep.rows} >= {("metric", "acc"), ("param", "depth")}


def test_unknown_run_and_bad_tolerance_are_clear_errors(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(work, LOAD, "%%track\nx = 1")
    assert main(["reproduce", "42"]) == 2
    assert "no run #42" in capsys.readouterr().err
    assert main(["reproduce", "1", "--tolerance", "loose"]) == 2
    assert "tolerance 'loose'" in capsys.readouterr().err


def test_checkout_writes_what_ran(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _data(work)
    record(work, LOAD, READ_RAW, PREP, FIT)
    assert main(["checkout", "2", "-o", "out"]) == 0
    import json

    nb = json.loads((work / "out" / "lineage.ipynb").read_text())
    assert ["".join(c["source"]) for c in nb["cells"]] == [LOAD, LOAD, READ_RAW, PREP, FIT]
    pins = (work / "out" / "requirements.txt").read_text().splitlines()
    assert any(p.startswith("scikit-learn==") for p in pins)
    assert not any(p.startswith("jupyter-xtrack") for p in pins)
    manifest = json.loads((work / "out" / "data-manifest.json").read_text())
    assert [f["path"] for f in manifest["inputs"]] == ["data/data.csv"]
    assert main(["checkout", "2", "-o", "out"]) == 2  # never over a folder with files


def test_xt_reproduce_in_a_notebook_shows_the_verdict(work: Path, scratch: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    store = record(work, LOAD, "%%track --name one\nxt.log(a=1.0)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (LOAD, "rep = xt.reproduce(1)\nrep")]
    # the kernel runs an event loop on its main thread: the reproduction's nbclient must not
    # trip over it
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    data = nb.cells[1].outputs[0]["data"]
    assert 'class="xtrack-reproduction"' in data["text/html"]
    assert "run #1: reproduced (reproduction #2, env current)" in data["text/plain"]
    assert store.get_run(2)["tags"][REPRODUCES_TAG] == store.get_run(1)["id"]


def test_system_metrics_are_not_a_difference(
    work: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPU and memory sampled while a cell runs differ on every run of the same program:
    # a reproduction keeps them out of the verdict (they are the machine's, not the code's).
    monkeypatch.setenv("XTRACK_SYSTEM_METRICS", "0.05")
    slow = "%%track --name slow\nimport time\nt0 = time.time()\nwhile time.time() - t0 < 0.4:\n    pass\nacc = 0.5"
    store = record(work, LOAD, slow)
    run = Run(store.get_run(1), store)
    assert any(k.startswith("system/") for k in run.metrics), run.metrics

    rep = reproduce(1, store=store)

    assert rep.verdict == "reproduced", rep.text()
    assert not [r for r in rep.rows if r.name.startswith("system/")]
    assert (2, "metric", "acc") in {(r.cell, r.what, r.name) for r in rep.rows}
