"""The automatic evaluation's work runs in a helper process (evaluation/apart.py), not on
the kernel's GIL: checked in real kernels run by nbclient (the report and its PNGs are
stored, the kernel never loads matplotlib, the helper is another process and goes away with
the kernel, a helper killed mid-way is replaced) and in a plain Python process killed
outright (the helper notices and ends)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient
from sklearn.linear_model import LogisticRegression

import jupyter_xtrack as xt
from jupyter_xtrack.evaluation import apart, auto
from jupyter_xtrack.store import open_store
from jupyter_xtrack.views import activity
from tests.conftest import python_notebook, run_cell
from tests.evaluate.test_auto_eval import DATA

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = {
    "confusion_matrix.png",
    "roc_curve_plot.png",
    "precision_recall_curve_plot.png",
    "calibration_curve_plot.png",
}
STATE = (
    "import json, os, sys\nfrom jupyter_xtrack.evaluation import apart\n"
    'print(json.dumps({"kernel": os.getpid(), "helper": apart.helper_pid(), '
    '"matplotlib": sorted(m for m in sys.modules if m.startswith("matplotlib"))}))'
)


def _execute(nb: Any, tmp_path: Path) -> dict[str, Any]:
    """Run `nb` (its kernel is shut down at the end); the JSON its last cell printed."""
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    last = [o["text"] for o in nb.cells[-1]["outputs"] if o.get("name") == "stdout"]
    return json.loads("".join(last))  # type: ignore[no-any-return]


def proc_state(pid: int) -> str:
    """Process `pid`'s state letter from /proc (R, S, T stopped, Z...); "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


def _gone(pid: int, wait_s: float = 60.0) -> bool:
    """Whether process `pid` has ended (a zombie counts as ended) within `wait_s`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc_state(pid) in ("", "Z", "X"):
            return True
        time.sleep(0.1)
    return False


def _plots(store_dir: Path, number: int) -> dict[str, bytes]:
    store = open_store(store_dir)
    run = store.get_run(number)
    return {a["name"]: store.get_blob(a["hash"]) for a in run["artifacts"] if a["name"] in PLOTS}


# A model class in a module the helper can import too (the notebook's folder is on the
# kernel's sys.path, which the helper gets): it counts the predictions made in this
# process off the kernel's main thread, i.e. by an evaluation built in the kernel.
WATCHED = textwrap.dedent("""\
    import threading
    from sklearn.linear_model import LogisticRegression
    OFF_MAIN = []

    class Watched(LogisticRegression):
        def predict(self, X):
            if threading.current_thread() is not threading.main_thread():
                OFF_MAIN.append(len(X))
            return super().predict(X)""")
# 2,000 x 20 held-out rows: large enough for protocol 5 to hand the array over whole
BIG = DATA.replace("n_samples=300, n_features=5", "n_samples=4000, n_features=20")


@pytest.mark.slow
def test_the_report_is_drawn_in_a_helper_process_that_ends_with_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    (tmp_path / "watched.py").write_text(WATCHED)
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        BIG.replace("test_split(X, y", "test_split(X, y, test_size=0.5"),
        # an importable model: pickled to the helper, which builds the whole report
        "%%track --name library\nfrom watched import OFF_MAIN, Watched\n"
        "clf = Watched().fit(X_train, y_train)\nclf.score(X_test, y_test)",
        # a class of the notebook's own, which the helper cannot unpickle: the kernel's
        # thread builds the report and the helper still draws its PNGs
        "class Mine(LogisticRegression):\n    pass",
        "%%track --name notebook-class\nmine = Mine(C=0.5).fit(X_train, y_train)\n"
        "mine.score(X_test, y_test)",
        "xt.flush()",
        STATE.replace('"kernel"', '"off_main": OFF_MAIN, "kernel"'),
    )
    state = _execute(nb, tmp_path)
    assert state["off_main"] == []  # the library model's report was not built in the kernel
    assert state["matplotlib"] == []  # no report was drawn in the kernel's process
    assert state["helper"] is not None and state["helper"] != state["kernel"]
    for number in (1, 2):
        pngs = _plots(store_dir, number)
        assert set(pngs) == PLOTS
        assert all(data.startswith(PNG_SIGNATURE) and len(data) > 1000 for data in pngs.values())
    reports = [open_store(store_dir).get_run(n)["evaluation"] for n in (1, 2)]
    assert [r["model"] for r in reports] == ["Watched", "Mine"]
    assert reports[0]["n"] == 2000 and all(r["importance"] for r in reports)
    assert _gone(state["helper"])  # the kernel was shut down: no helper left behind


KILLER = textwrap.dedent("""\
    import os, signal, threading, time
    from jupyter_xtrack.evaluation import apart
    killed = []

    def kill_the_helper_once_it_starts():
        while apart.helper_pid() is None:
            time.sleep(0.001)
        killed.append(apart.helper_pid())
        os.kill(killed[0], signal.SIGKILL)

    threading.Thread(target=kill_the_helper_once_it_starts, daemon=True).start()""")


@pytest.mark.slow
def test_a_helper_killed_mid_way_is_replaced_and_the_run_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        DATA,
        KILLER,
        "%%track --name fitted\nclf = LogisticRegression().fit(X_train, y_train)\n"
        "clf.score(X_test, y_test)",
        "xt.flush()",
        STATE.replace('"kernel"', '"killed": killed, "kernel"'),
    )
    state = _execute(nb, tmp_path)
    assert len(state["killed"]) == 1  # killed while the evaluation waited for it
    assert state["helper"] not in (None, state["killed"][0])  # a new one did the work
    assert set(_plots(store_dir, 1)) == PLOTS
    assert open_store(store_dir).get_run(1)["evaluation"]["data"] == "X_test"
    assert _gone(state["killed"][0]) and _gone(state["helper"])


ORPHAN = textwrap.dedent("""\
    import os, signal
    from jupyter_xtrack.evaluation import apart
    fact = {"confusion": {"labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]}, "curves": {}}
    assert apart.images(fact)["confusion_matrix.png"].startswith(b"\\x89PNG")
    print(apart.helper_pid(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no exit code runs: the helper must notice""")


STOPPED_ORPHAN = ORPHAN.replace(
    "os.kill(os.getpid(), signal.SIGKILL)",
    "os.kill(apart.helper_pid(), signal.SIGSTOP)  # as while a cell runs: it cannot read\n"
    "os.kill(os.getpid(), signal.SIGKILL)",
)


@pytest.mark.parametrize("script", [ORPHAN, STOPPED_ORPHAN], ids=["working", "stopped"])
def test_the_helper_ends_when_its_kernel_is_killed(tmp_path: Path, script: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "XTRACK_STORE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -9, done.stderr
    helper = int(done.stdout.split()[0])
    assert _gone(helper)


def test_a_pickle_over_the_cap_is_abandoned_early() -> None:
    small = apart.capped_pickle(list(range(10)), 1000)
    assert small is not None and len(small) < 1000
    assert apart.capped_pickle(bytes(10 * 2**20), 2**20) is None
    assert apart.capped_pickle(lambda: None, 2**20) is None  # does not pickle at all


def test_device_library_objects_are_never_sent_to_the_helper() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 1)  # a module, or one inside a wrapper, stays in the kernel
    assert apart.capped_pickle((model, [1, 2]), 2**20) is None
    assert apart.capped_pickle({"wrapped": [torch.zeros(2)]}, 2**20) is None
    assert apart.capped_pickle(([1.0, 2.0], "X_test"), 2**20) is not None


def test_an_error_of_the_work_is_raised_as_is_and_keeps_the_helper() -> None:
    good = {"confusion": {"labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]}, "curves": {}}
    bad = {"curves": {"roc": [{"x": [0.0, 1.0], "y": [0.0], "label": "a"}]}}  # x and y differ
    assert set(apart.images(good)) == {"confusion_matrix.png"}  # type: ignore[arg-type]
    helper = apart.helper_pid()
    with pytest.raises(ValueError, match="same first dimension"):
        apart.images(bad)  # type: ignore[arg-type]
    assert apart.helper_pid() == helper  # not mistaken for a dead helper
    assert set(apart.images(good)) == {"confusion_matrix.png"}  # type: ignore[arg-type]


class Counted(LogisticRegression):
    """Importable by the helper (this module): each prediction made in another process than
    `kernel_pid` takes a while and adds a line to `count_file`."""

    kernel_pid = 0
    count_file = ""

    def predict(self, X: Any) -> Any:
        if self.count_file and os.getpid() != self.kernel_pid:
            with open(self.count_file, "a") as out:
                out.write("predict\n")
            time.sleep(0.05)
        return super().predict(X)


BESIDE = textwrap.dedent("""\
    before = len(open(count_file).readlines())
    time.sleep(1.0)
    helper_state = proc_state(apart.helper_pid())
    after = len(open(count_file).readlines())""")


def test_the_helper_s_importance_waits_while_a_cell_runs(
    shell: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(activity, "LONG_CELL_S", 60.0)
    monkeypatch.setattr(auto, "IMPORTANCE_BUDGET_S", 60.0)  # never out of budget here
    count = tmp_path / "count"
    count.touch()
    shell.user_ns.update(
        Counted=Counted, count_file=str(count), kernel_pid=os.getpid(), apart=apart,
        proc_state=proc_state,
    )
    shell.run_cell(DATA + "\nimport time")
    shell.run_cell(
        "%%track --name counted\nclf = Counted().fit(X_train, y_train)\n"
        "clf.count_file, clf.kernel_pid = count_file, kernel_pid\nclf.score(X_test, y_test)"
    )
    deadline = time.monotonic() + 120
    # the report's prediction, importance's probe and base score, then the shuffled ones
    while len(count.read_text().splitlines()) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(count.read_text().splitlines()) >= 5  # the helper's importance is under way
    assert shell.run_cell(BESIDE).success
    # the helper hears of the cell within apart.POLL_S; what was under way then may end
    assert shell.user_ns["after"] - shell.user_ns["before"] <= 6
    if apart.CAN_STOP:  # stopped while the cell ran, none of its work beside it
        assert shell.user_ns["helper_state"] == "T"
        assert shell.user_ns["after"] - shell.user_ns["before"] <= 3
    run_cell(shell, "x = 1")  # then it goes on, and ends
    report = xt.get_run(1).fact("evaluation")
    assert report is not None and report["model"] == "Counted" and report["importance"]
    assert len(count.read_text().splitlines()) >= 28  # 3 + 5 features x 5 repeats, in the helper
    assert proc_state(apart.helper_pid() or 0) in ("R", "S")  # continued, not left stopped
