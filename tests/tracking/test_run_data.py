"""What a tracked cell records as its data, in IPython's InteractiveShell with the extension:
no plot axes as datasets, no system files or the run's own outputs as inputs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jupyter_xtrack as xt
from tests.conftest import run_cell


def _last() -> xt.Run:
    frame = xt.runs(limit=1)
    assert len(frame) == 1, "expected a run to be recorded"
    return xt.get_run(frame["id"].iloc[0])


def test_plot_axes_are_not_datasets_but_object_arrays_of_values_are(shell: Any) -> None:
    cell = (
        "%%track\nimport numpy as np\nimport matplotlib\nmatplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "fig, axes = plt.subplots(2, 2)\n"
        "labels = np.array(['cat', None, 3], dtype=object)\n"
        "X = np.arange(6.0).reshape(3, 2)\n"
        "plt.close(fig)\n"
    )
    assert run_cell(shell, cell).success
    assert sorted(d["name"] for d in _last().datasets) == ["X", "labels"]


def test_system_files_and_own_outputs_are_not_inputs(shell: Any, workdir: Path) -> None:
    (workdir / "train.csv").write_text("a,b\n1,2\n")
    os.makedirs(workdir / "cachedir" / "sub")
    (workdir / "cachedir" / "sub" / "x.bin").write_bytes(b"x")
    cell = (
        "%%track\nimport shutil, mimetypes, zoneinfo\nimport pandas as pd\n"
        "zoneinfo.ZoneInfo.no_cache('UTC')\nmimetypes.init()\n"
        "df = pd.read_csv('train.csv')\n"
        "df.to_csv('features.csv', index=False)\n"
        "back = pd.read_csv('features.csv')\n"
        "shutil.rmtree('cachedir')\n"
    )
    assert run_cell(shell, cell).success
    run = _last()
    assert [(f["path"], f["status"]) for f in run.inputs] == [("train.csv", "ok")]
    assert [f["path"] for f in run.outputs] == ["features.csv"]
