"""The automatic evaluation waits for a quiet kernel: it holds the GIL for most of a second
(the session's first also imports matplotlib), which a cell running meanwhile would pay."""

from __future__ import annotations

import textwrap
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
