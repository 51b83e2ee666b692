"""The kernel's side of the sidebar's Launch form: through a real kernel's silent execute
with user_expressions (the sidebar's own channel), and on a real IPython shell."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.kernel.launch import call, strip_track_line, suggest_space


def reply(shell: Any, op: str, **args: Any) -> dict[str, Any]:
    out = call(op, json.dumps(args), shell=shell)._repr_json_()
    assert json.loads(json.dumps(out)) == out  # plain JSON, as the kernel sends it
    return out


# -- the sidebar's channel: a real kernel ---------------------------------------------------
@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "XTRACK_STORE": str(tmp_path / ".xtrack")}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def expression(kc: Any, op: str, **args: Any) -> dict[str, Any]:
    """What the sidebar does: a silent execute whose user expression calls the bridge."""
    expr = ("__import__('jupyter_xtrack.kernel.launch', fromlist=['call']).call("
            f"{json.dumps(op)}, {json.dumps(json.dumps(args))})")
    msg = kc.execute_interactive("", silent=True, store_history=False,
                                 user_expressions={"xtrack": expr}, timeout=60)
    got = msg["content"]["user_expressions"]["xtrack"]
    assert got["status"] == "ok", got
    return dict(got["data"]["application/json"])


def run(kc: Any, code: str) -> None:
    msg = kc.execute_interactive(code, timeout=120)
    assert msg["content"]["status"] == "ok", msg["content"]


def test_automl_from_the_form_through_a_real_kernel(kernel: Any) -> None:
    # Before pandas is imported there is no DataFrame, and listing does not import it.
    assert expression(kernel, "frames") == {"ok": True, "value": []}
    run(kernel, "from sklearn.datasets import load_breast_cancer\n"
                "df = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]\n"
                "_hidden = df\nnot_a_frame = 3\n")
    frames = expression(kernel, "frames")["value"]
    assert [f["name"] for f in frames] == ["df"]
    assert frames[0]["rows"] == 569 and frames[0]["columns"][-1] == {"name": "target",
                                                                      "dtype": "int64"}
    options = expression(kernel, "automl_options", frame="df", target="target")["value"]
    assert options["task"] == "binary" and options["default_metric"] == "roc_auc"
    assert "accuracy" in options["metrics"] and "r2" not in options["metrics"]

    bad = expression(kernel, "check_automl", frame="df", target="nope", time_budget="soon",
                     metric="r2")
    assert bad["ok"] is False
    assert set(bad["errors"]) == {"target", "time_budget"}
    assert "no column 'nope'" in bad["errors"]["target"]
    assert "'30s'" in bad["errors"]["time_budget"]
    wrong_metric = expression(kernel, "start_automl", frame="df", target="target",
                              time_budget="5s", metric="r2")
    assert "binary" in wrong_metric["errors"]["metric"]
    # Nothing started while the input was wrong.
    run(kernel, "import jupyter_xtrack as xt\nassert xt.jobs() == [], xt.jobs()")

    started = expression(kernel, "start_automl", frame="df", target="target", time_budget="6s",
                         metric="accuracy", name="from the form")
    assert started["ok"] is True and started["value"]["job"].startswith("job-")
    run(kernel, "job = xt.jobs()[-1]\nassert job.wait(60)\nassert job.status == 'finished', "
                "job.status\nr = job.result()\nxt.flush()\n"
                "assert xt.get_run(job.run_id).name == 'from the form'\n"
                "assert xt.get_run(job.run_id).params['automl.metric'] == 'accuracy'\n"
                "assert xt.get_run(job.run_id).tags['xtrack.launch.frame'] == 'df'")


def test_a_kernel_without_a_dataframe_named_so_is_a_field_error(kernel: Any) -> None:
    run(kernel, "import pandas as pd\ndf = pd.DataFrame({'a': [1] * 20, 'y': [0, 1] * 10})")
    got = expression(kernel, "automl_options", frame="gone", target="y")
    assert "'gone' is not defined" in got["errors"]["frame"]
    flat = expression(kernel, "automl_options", frame="df", target="a")
    assert "single value" in flat["errors"]["target"]
    unknown = expression(kernel, "explode")
    assert unknown["ok"] is False and "unknown launch operation" in unknown["error"]


# -- sweeping a tracked cell, on a real shell -------------------------------------------------
TRACKED = """%%track
lr = 0.1
depth = 3
model = 'rf'
score = 1 - abs(lr - 0.03) - abs(depth - 5) / 10 + (model == 'gb') * 0.05
xt.log(score=score, val_loss=1 - score)
"""


@pytest.fixture
def notebook_shell(shell: Any, workdir: Path) -> Any:
    nb = workdir / "sub" / "exp.ipynb"
    nb.parent.mkdir()
    nb.write_text("{}")
    shell.user_ns["__session__"] = str(nb)
    shell.user_ns["xt"] = xt
    return shell


def test_tracked_cells_are_listed_with_a_suggested_sweep_and_swept(notebook_shell: Any) -> None:
    sh = notebook_shell
    assert sh.run_cell(TRACKED, store_history=True, cell_id="cell-a").error_in_exec is None
    second = TRACKED.replace("lr = 0.1", "lr = 0.01").replace("'rf'", "'gb'")
    assert sh.run_cell(second, store_history=True, cell_id="cell-a").error_in_exec is None
    assert sh.run_cell("%%track\nprint(len('abc'))\n", cell_id="cell-b").error_in_exec is None
    xt.flush()

    got = reply(sh, "cells", notebook_path="sub/exp.ipynb")
    assert got["ok"], got
    listed = got["value"]
    assert [c["cell_id"] for c in listed] == ["cell-a"]  # cell-b recorded no params to sweep
    cell = listed[0]
    assert cell["runs"] == 2 and cell["last_run"]["params"]["lr"] == 0.01
    assert cell["last_run"]["metrics"] == ["score", "val_loss"]
    assert cell["metric"] == "score" and cell["direction"] == "maximize"
    assert cell["code"].startswith("%%track")
    assert cell["space"] == "depth=int(1, 6); lr=loguniform(0.01, 0.1); model=choice('gb', 'rf')"
    assert reply(sh, "cells", notebook_path="other.ipynb")["value"] == []

    bad = reply(sh, "check_sweep", source=cell["code"], space="lr=loguniform(0, 1); width=int(1, 3)",
                trials=0, metric="", direction="up", sampler="magic")
    assert set(bad["errors"]) == {"space", "trials", "metric", "direction", "sampler"}
    assert "^" in bad["errors"]["space"]  # points at the mistake
    unassigned = reply(sh, "check_sweep", source=cell["code"], space="width=int(1, 3)",
                       trials=3, metric="score")
    assert "never assigns width" in unassigned["errors"]["space"]
    assert reply(sh, "check_sweep", source=cell["code"], space=cell["space"], trials=3,
                 metric="score")["ok"] is True

    # The cell's own --experiment and --tag hold for the sweep launched from it.
    source = cell["code"].replace("%%track", "%%track --experiment tuning --tag team=ml", 1)
    started = reply(sh, "start_sweep", source=source, space=cell["space"], trials=3,
                    metric="score", direction="maximize", sampler="random", cell_id="cell-a",
                    name="from the form")
    job = xt.jobs()[-1]
    assert started["value"]["job"] == job.id
    assert job.wait(60) and job.status == "finished"
    result = job.result()
    assert len(result.trials) == 3 and all(t.state == "complete" for t in result.trials)
    xt.flush()
    parent = xt.get_run(result.run_id)
    assert parent.name == "from the form" and parent.tags["xtrack.launch.cell_id"] == "cell-a"
    assert parent.experiment == "tuning" and parent.tags["team"] == "ml"
    # Its Code section shows the cell it sweeps, and so do its trials'.
    assert parent.code is not None and "xt.log(score=score" in parent.code
    trial = xt.get_run(parent.children[0])
    assert trial.experiment == "tuning" and trial.code == parent.code

    broken = reply(sh, "check_sweep", source="%%track --bogus\n" + TRACKED[8:],
                   space="lr=uniform(0, 1)", trials=3, metric="score")
    assert "--bogus" in broken["errors"]["source"]


def test_suggested_spaces_follow_the_types_and_values_seen() -> None:
    assert suggest_space([{"lr": 0.001}]) == "lr=loguniform(0.0001, 0.01)"
    assert suggest_space([{"n": 0, "w": -0.5, "on": True}]) == (
        "n=int(-5, 5); w=uniform(-1, 0); on=choice(True, False)")
    assert suggest_space([{"bad-name": 1, "xs": [1, 2], "nan": float("nan")}]) == ""
    assert strip_track_line("%%track --name x\na = 1\n") == "a = 1\n"
    assert strip_track_line("a = 1\n") == "a = 1\n"


def test_nothing_raises_into_the_kernel(shell: Any) -> None:
    assert call("frames", "not json", shell=shell)._repr_json_()["ok"] is False
    assert call("frames", "[1]", shell=shell)._repr_json_()["ok"] is False
    got = call("check_automl", json.dumps({"frame": "df"}), shell=shell)._repr_json_()
    assert got["ok"] is False and "target" in got["error"]
    assert not [j for j in xt.jobs() if not j.done()]  # no job was started
