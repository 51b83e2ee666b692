"""What Compare's charts and tables need from `GET compare`, on a real store and server:
which way each metric is better (the best value is marked), the params a sweep sampled
log-uniform (log axes), and git rows beyond the diff's size."""

from __future__ import annotations

from typing import Any

from jupyter_xtrack.store import open_store

from .conftest import Populated


async def test_metric_directions_come_from_their_names(api: Any, populated: Populated) -> None:
    ids = ",".join(populated.ids[k] for k in ("a", "b"))
    comp = await api("compare", "Comparison", ids=ids)
    assert comp["directions"] == {"acc": "maximize", "loss": "minimize"}


async def test_git_rows_name_the_changed_files(api: Any, populated: Populated) -> None:
    ids = ",".join(populated.ids[k] for k in ("a", "c"))
    git = (await api("compare", "Comparison", ids=ids))["sections"]["git"]
    # Run c was dirty: its diff touches x.py; run a was clean.
    assert git["changed files"]["values"] == [None, "x.py"]
    assert {"commit", "branch", "remote", "untracked", "diff_bytes"} <= set(git)


async def test_params_a_sweep_sampled_log_uniform(api: Any, populated: Populated) -> None:
    store = open_store(populated.root)
    try:
        parent, _ = store.create_run(name="sweep", kind="sweep")
        store.set_params(
            parent,
            {"sweep.space": "lr=loguniform(1e-5, 1e-1); depth=int(2, 8); alpha = logint(1, 1000)"},
        )
        trials = []
        for lr in (1e-4, 1e-2):
            rid, _ = store.create_run(kind="trial", parent_id=parent)
            store.set_params(rid, {"lr": lr, "depth": 3, "alpha": 10})
            trials.append(rid)
    finally:
        store.close()
    comp = await api("compare", "Comparison", ids=",".join(trials))
    assert comp["log_params"] == ["alpha", "lr"]
    plain = await api("compare", "Comparison", ids=",".join(populated.ids[k] for k in ("a", "b")))
    assert plain["log_params"] == []
