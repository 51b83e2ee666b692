"""The AutoML search with its candidates evaluated on Dask workers (`automl(...,
workers=...)`): as many candidates at once as the workers have threads, each one's rung
sent as a task (`remote.evaluate_candidate`) on the search's data, which is shipped to
every worker once (`client.scatter(..., broadcast=True)`).

The kernel keeps everything else: the Optuna study (asked and told from this thread; TPE's
constant liar keeps parallel candidates apart), the budget, the baselines, the child runs
(written from each worker's outcome, tagged `xtrack.worker`), the ensemble and the final
model. What can go wrong on the way:

- a candidate that raises on its worker is recorded as failed, with the worker's traceback;
- a worker that dies leaves its candidate's run `crashed` and the search goes on (the
  kernel watches where each candidate runs, and cancels it rather than let Dask retry it);
- the budget's end cancels candidates still running; they are recorded as skipped and
  count for nothing;
- Stop (the job's cancel) or Ctrl-C cancels every outstanding task and sets an event that
  running candidates look at between folds (`remote.STOP_POLL_S`): Dask cannot interrupt a
  running task, so a fit under way finishes on its worker; finished candidates are kept.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..jobs import JobCancelled, JobControl
from ..models import Family
from .budget import OutOfTime
from .evaluation import FoldData, FoldResults
from .remote import CandidateTask, Placement, WorkerOutcome, evaluate_candidate, warm_up
from .result import AutoMLResult, Candidate
from .search import AutoMLConfig, AutoMLSearch

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

POLL_S = 0.05  # how often finished tasks are looked for (the thread stays responsive to Stop)
WATCH_S = 0.25  # how often the scheduler is asked where each candidate runs


class WorkerDied(Exception):  # noqa: N818 - named for what happened
    """The Dask worker running a candidate left the cluster before it finished."""


@dataclass
class Pending:
    """A candidate's rung sent to the workers."""

    future: Any
    trial: Any
    family: Family
    cand: Candidate
    rung: int
    final: bool
    worker: str | None = None  # where the scheduler last saw it running


class WorkerPool:
    """The search's side of the cluster: the data shipped once, the tasks sent, where they
    run, and the stop signal the workers check between folds."""

    def __init__(self, client: Any, data: FoldData) -> None:
        from distributed import Event

        self.client = client
        self.data = client.scatter(data, broadcast=True, hash=False)
        self.prefix = f"xtrack-automl-{uuid.uuid4().hex[:12]}"
        self.stop_event = Event(f"{self.prefix}-stop", client=client)
        self._sent = 0
        self._watched = -WATCH_S
        self.slots = 1
        self._warming: list[Any] = []
        self.watch({})

    @property
    def stop_name(self) -> str:
        return str(self.stop_event.name)

    def send(self, task: CandidateTask) -> Any:
        self._sent += 1
        return self.client.submit(
            evaluate_candidate, self.data, task, pure=False, key=f"{self.prefix}-{self._sent}"
        )

    def watch(self, pending: dict[str, Pending]) -> list[str]:
        """Ask the scheduler (at most every WATCH_S) which workers are alive, how many
        threads they have (`slots`: candidates that can run at once) and where each task
        runs; the keys of tasks whose worker left the cluster since it was seen running them."""
        now = time.monotonic()
        if now - self._watched < WATCH_S:
            return []
        self._watched = now
        self.slots = max(1, sum(self.client.nthreads().values()))
        alive: dict[str, Any] = self.client.processing()
        gone = [k for k, p in pending.items() if p.worker is not None and p.worker not in alive]
        for address, keys in alive.items():
            for key in keys:
                p = pending.get(str(key))
                if p is not None and str(key) not in gone:
                    p.worker = address
        return gone

    def retried(self, p: Pending) -> bool:
        """Whether `p` finished on another worker than the one it was seen running on, and
        that one has left: Dask ran it again after its first worker died (before `watch`
        saw the death), so it counts as crashed all the same."""
        if p.worker is None or p.future.status != "finished":
            return False
        outcome: WorkerOutcome = p.future.result()
        return outcome.where.worker != p.worker and p.worker not in self.client.nthreads()

    def warm(self, task: str) -> None:
        """One `remote.warm_up` on each worker, which the first candidates queue behind."""
        self._warming = [
            self.client.submit(
                warm_up,
                self.data,
                task,
                workers=[address],
                allow_other_workers=False,
                pure=False,
                key=f"{self.prefix}-warm-{i}",
            )
            for i, address in enumerate(self.client.nthreads())
        ]

    def stop(self, pending: dict[str, Pending]) -> None:
        """Cancel every outstanding task and tell running ones to stop at their next fold."""
        try:
            self.stop_event.set()
            self.client.cancel([p.future for p in pending.values()] + self._warming)
            self.client.cancel(self.data)
        except Exception:  # noqa: BLE001 - a cluster that is gone has nothing left to cancel
            pass


class WorkerSearch(AutoMLSearch):
    """An AutoML search whose candidates run on the workers of `client`; see the module
    docstring. The baselines and the final refit stay in the kernel (milliseconds, and one
    fit the final model needs here anyway)."""

    def __init__(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        cfg: AutoMLConfig,  # noqa: N803
        control: JobControl | None,
        background: bool,
        started: float | None,
        client: Any,
    ) -> None:
        super().__init__(X, y, cfg, control, background, started)
        self.client = client
        self.parallel = True
        self.pool: WorkerPool | None = None

    def run(self) -> AutoMLResult:
        """The search (see AutoMLSearch.run); a cluster that fails under it (the scheduler
        gone) fails its parent run, and whatever it left on the workers is released."""
        try:
            return super().run()
        except Exception as exc:
            parent = getattr(self, "parent", None)
            if parent is not None:
                parent.close("failed", exc)
            raise
        finally:
            if self.pool is not None:
                self.pool.stop({})

    def _warm_torch(self) -> None:
        """Workers import torch themselves, in their own processes."""

    def _baselines(self) -> None:
        """The data goes to the workers, and they import what candidates need, while the
        baselines run in the kernel."""
        self.pool = WorkerPool(self.client, self.data)
        self.pool.warm(self.cfg.task)
        super()._baselines()

    def _search(self) -> None:
        plan = self._plan()
        pool = self.pool
        assert pool is not None  # made by _baselines, which runs first
        if plan is None:
            return
        pending: dict[str, Pending] = {}
        study, fams = plan
        try:
            self._dispatch(study, fams, pool, pending)
        except (KeyboardInterrupt, JobCancelled) as exc:
            pool.stop(pending)
            for p in pending.values():
                p.cand.status = "failed"
                self._close(p.cand, exc, status="interrupted")
                self._tell(study, p.trial, p.cand)
            raise
        pool.stop(pending)
        for p in pending.values():  # the budget's end: cancelled, and counted for nothing
            p.cand.status = "skipped"
            p.cand.error = "cancelled: the time budget ended while it ran on a worker"
            self._tell(study, p.trial, p.cand)

    def _dispatch(
        self, study: Any, fams: list[Family], pool: WorkerPool, pending: dict[str, Pending]
    ) -> None:
        """Keep every worker thread busy with a candidate until the budget is spent or no
        family is affordable, handling each rung as it comes back."""
        fractions = self._rungs()
        asking = True
        # Rungs still running when only the closing reserve is left are cancelled: what
        # follows the search needs that time in the kernel.
        while self.budget.left() > max(self.budget.closing(), self.budget.margin()):
            self._check()
            lost = pool.watch(pending)
            if asking and len(pending) < pool.slots:
                asking = self._fill(study, fams, fractions, pool, pending)
            if not pending:
                return
            for key in lost:
                self._crashed(study, pending.pop(key))
            done = [k for k, p in pending.items() if p.future.done()]
            if not done:
                time.sleep(POLL_S)
            for key in done:
                p = pending.pop(key)
                if pool.retried(p):
                    self._crashed(study, p)
                else:
                    self._collect(p, fractions, pool, pending, study)

    def _fill(
        self,
        study: Any,
        fams: list[Family],
        fractions: list[float],
        pool: WorkerPool,
        pending: dict[str, Pending],
    ) -> bool:
        """Send new candidates while a worker thread is free; False once the search should
        ask for no more (the budget is spent, or no family is affordable)."""
        while len(pending) < pool.slots:
            if self.budget.left() - self._reserve() <= 0:
                return False
            trial, fam, cand = self._ask(study, fams)
            if not self._affordable(fam, fractions[0]):
                self._skip(study, trial, cand)
                if self._nothing_affordable(fams, fractions[0]):
                    return False
                continue
            self._open(cand)
            self._send(
                pool, pending, Pending(None, trial, fam, cand, 0, len(fractions) == 1), fractions
            )
        return True

    def _send(
        self, pool: WorkerPool, pending: dict[str, Pending], p: Pending, fractions: list[float]
    ) -> None:
        task = CandidateTask(
            p.family.name,
            p.cand.params,
            self.cfg.task,
            fractions[p.rung],
            p.rung,
            p.final,
            time.time() + self.budget.left(),
            self.cfg.budget_s,
            self._reserve(),
            pool.stop_name,
        )
        p.future = pool.send(task)
        pending[str(p.future.key)] = p

    def _collect(
        self,
        p: Pending,
        fractions: list[float],
        pool: WorkerPool,
        pending: dict[str, Pending],
        study: Any,
    ) -> None:
        """Record a rung that came back; send the candidate's next rung when successive
        halving promotes it and the budget affords it, else tell the study its outcome."""
        cand = p.cand
        self._settle(cand, lambda: self._outcome(p), final=p.final, family=p.family, rung=p.rung)
        if cand.status in ("running", "complete") and self._promote(p.trial, cand, p.rung, p.final):
            nxt = p.rung + 1
            if self._affordable(p.family, fractions[nxt]):
                self._send(
                    pool,
                    pending,
                    Pending(None, p.trial, p.family, cand, nxt, nxt == len(fractions) - 1),
                    fractions,
                )
                return
            cand.status = "skipped"
        self._tell(study, p.trial, cand)

    def _outcome(self, p: Pending) -> FoldResults:
        """The rung's results from its worker (re-raising what the candidate raised there),
        with where it ran put on the candidate's run and its cost on the budget."""
        cand = p.cand
        try:
            outcome: WorkerOutcome = p.future.result()
        except Exception as exc:
            where = getattr(exc, "xtrack_worker", None)
            if isinstance(where, Placement):
                self._tag(cand, where.tags())
            raise
        self._tag(cand, outcome.where.tags())
        cand.device = outcome.device
        results = outcome.results
        if results is None:
            raise OutOfTime()
        self.budget.record_cost(p.family.name, results.used_s, max(1, results.rows_fitted))
        if p.final:
            for i, score in enumerate(results.scores):
                self._log(cand, fold_score=score, step=i)
        return results

    def _tag(self, cand: Candidate, tags: dict[str, str]) -> None:
        tracked = self._tracked.get(id(cand))
        if tracked is not None:
            tracked.run.set_tags(**tags)

    def _crashed(self, study: Any, p: Pending) -> None:
        """The candidate's worker died: its run reads `crashed`, and the search goes on
        without retrying it (a candidate that kills its worker would kill the next one)."""
        p.future.cancel()
        cand = p.cand
        cand.status = "failed"
        cand.error = f"its Dask worker {p.worker} died while it ran"
        self._tag(cand, {"xtrack.worker": str(p.worker)})
        self._close(cand, WorkerDied(cand.error), status="crashed")
        self._tell(study, p.trial, cand)
