"""Where an evaluation is recorded, and the writing of it: the run given, else the active
run, else a new child run of the last run of the cell being run, else a new run. A run that
has already ended (the automatic evaluation after a tracked cell) is written through the
background writer as a finished run's late facts are."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..api import get_run
from ..facts import Fact
from ..records.run import Run
from ..tracking.active_run import ActiveRun
from ..tracking.scripts import start_run
from ..tracking.session import CONTEXT
from ..tracking.shell import running_shell
from .report import Built


@dataclass
class Target:
    run_id: str
    number: int | None
    live: ActiveRun | None  # the run is being recorded now (metrics go through it)
    opened: bool  # opened for this evaluation: it ends when the evaluation is written


def target(run: Any, name: str | None) -> Target:
    """The run to record on; see the module docstring."""
    if isinstance(run, ActiveRun):
        return Target(run.id, run.number, run, False)
    if run is not None:
        stored = run if isinstance(run, Run) else get_run(run)  # a run, its id or number
        return Target(stored.id, stored.number, None, False)
    active = CONTEXT.active
    if active is not None:
        return Target(active.id, active.number, active, False)
    opened = start_run(name=name or "evaluate", parent=_cell_run())
    return Target(opened.id, opened.number, opened, True)


def _cell_run() -> str | None:
    """The newest run recorded for the notebook cell being run, if any."""
    shell = running_shell()
    cell = getattr(getattr(shell, "_xtrack_hooks", None), "last_cell_id", None)
    if not cell:
        return None
    try:
        return CONTEXT.store().run_for_cell(cell)
    except Exception:  # noqa: BLE001 - no usable store: a new run of its own
        return None


def write(where: Target, built: Built) -> None:
    """The run metrics, the `evaluation` fact and the files, in the writer's order."""
    run_id = where.run_id
    if where.live is not None and not where.live.recorded:
        _end(where)  # no usable store: the report is returned, nothing is recorded
        return
    writer = CONTEXT.writer()
    if where.live is not None:
        where.live.log_dict(built.run_metrics, None)
        where.live.set_fact(Fact.EVALUATION, built.fact)
    else:
        now = time.time()
        points = [(run_id, k, v, None, now) for k, v in built.run_metrics.items()]
        writer.submit(lambda s: s.log_metrics(points), run_id=run_id)
    store = CONTEXT.store()
    for file_name, data in built.files.items():
        blob = store.put_blob(data)
        writer.submit(_add_artifact, run_id, file_name, blob, len(data), run_id=run_id)
    fact = built.fact
    writer.submit(
        lambda s: s.set_facts(run_id, **{Fact.EVALUATION: fact}), run_id=run_id, wake=True
    )
    _end(where)


def _add_artifact(store: Any, run_id: str, name: str, blob: str, size: int) -> None:
    media = "text/csv" if name.endswith(".csv") else "image/png"
    meta = {"format": name.rsplit(".", 1)[-1], "source": "xt.evaluate"}
    store.add_artifact(run_id, name, blob=blob, size=size, media_type=media, meta=meta)


def _end(where: Target) -> None:
    if where.opened and where.live is not None:
        where.live.end()
