"""The automatic evaluation waits for a quiet kernel: it holds the GIL for most of a second
(the session's first also imports matplotlib), which a cell running meanwhile would pay."""

from __future__ import annotations

import textwrap
import time
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.evaluation import auto
from jupyter_xtrack.views import activity
from tests.conftest import run_cell

SETUP = textwrap.dedent("""\
    import threading, time
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    off_main = []  # predictions made off the kernel's thread: the evaluation's

    class Watched(LogisticRegression):
        def predict(self, X):
            if threading.current_thread() is not threading.main_thread():
                off_main.append("predict")
            return super().predict(X)

        def predict_proba(self, X):
            if threading.current_thread() is not threading.main_thread():
                off_main.append("predict_proba")
            return super().predict_proba(X)""")

# The tracked cell runs inside a longer cell (as %%capture runs its body), so the kernel
# stays busy after the tracked cell returns: the evaluation must not start meanwhile.
BUSY = textwrap.dedent("""\
    get_ipython().run_cell(
        "%%track --name fitted\\nclf = Watched().fit(X_train, y_train)\\nclf.score(X_test, y_test)"
    )
    time.sleep(0.5)
    seen_while_busy = list(off_main)""")


def test_the_evaluation_starts_only_once_the_kernel_is_quiet(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cell counts as "long" (so quiet) after LONG_CELL_S: pushed out of this test's reach,
    # so that only the end of the busy cell lets the evaluation start.
    monkeypatch.setattr(activity, "LONG_CELL_S", 60.0)
    monkeypatch.setattr(auto, "QUIET_WAIT_S", 60.0)
    shell.run_cell(SETUP)
    result = shell.run_cell(BUSY)
    assert result.success
    assert shell.user_ns["seen_while_busy"] == []  # nothing evaluated while the cell ran
    run_cell(shell, "x = 1")  # waits for the pending evaluation, as xt.flush does
    assert shell.user_ns["off_main"]  # then it ran, on its own thread
    report = xt.get_run(1).fact("evaluation")
    assert report is not None and report["data"] == "X_test"


# A model the helper process cannot load (its class lives in the session's __main__): its
# report is built in the kernel, and each prediction made off the main thread is counted.
SLOW = textwrap.dedent("""\
    class Slow(Watched):
        def predict(self, X):
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.02)  # a scoring that takes a while
            return super().predict(X)""")
BESIDE = "before = off_main.count('predict')\ntime.sleep(1.0)\nafter = off_main.count('predict')"


def test_the_importance_built_in_the_kernel_waits_while_a_cell_runs(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "LONG_CELL_S", 60.0)
    monkeypatch.setattr(auto, "IMPORTANCE_BUDGET_S", 60.0)  # never out of budget here
    shell.run_cell(SETUP)
    shell.run_cell(SLOW)
    shell.run_cell(
        "%%track --name slow\nclf = Slow().fit(X_train, y_train)\nclf.score(X_test, y_test)"
    )
    off_main = shell.user_ns["off_main"]
    deadline = time.monotonic() + 120
    # the report's prediction, importance's probe and base score, then the shuffled ones
    while off_main.count("predict") < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert off_main.count("predict") >= 5  # the importance is under way
    assert shell.run_cell(BESIDE).success
    # at most the one scoring under way when the cell started ended during it
    assert shell.user_ns["after"] - shell.user_ns["before"] <= 1
    run_cell(shell, "x = 1")  # then it goes on, and ends
    report = xt.get_run(1).fact("evaluation")
    assert report is not None and report["model"] == "Slow" and report["importance"]
