"""A reproduction as a background job (the sidebar's Reproduce button starts
`xtrack reproduce RUN --as-job` in a process of its own): a run of its own carries the job's
state, progress and verdict in the tags the Jobs tab reads (server/jobs.py), and a cancel
request set on it by the server stops the reproduction's kernel."""

from __future__ import annotations

import os
import time

from ..facts import CANCEL_TAG, REPRODUCE_OF_TAG, REPRODUCE_REASON_TAG, VERDICT_TAG
from ..records.run import Run
from ..store.contract import RunStore
from .result import COULD_NOT_RUN, Reproduction

CANCEL_POLL_S = 0.5


class ReproduceJob:
    """The job run of one reproduction of `original`."""

    def __init__(self, store: RunStore, original: Run) -> None:
        self.store = store
        self.original = original
        self.run_id, self.number = store.create_run(
            name=f"reproduce #{original.number}",
            kind="script",
            tags={
                "xtrack.job.id": f"reproduce-{original.number}-{os.getpid()}",
                "xtrack.job.kind": "reproduce",
                "xtrack.job.state": "running",
                REPRODUCE_OF_TAG: original.id,
            },
        )
        self._checked_at = 0.0
        self._cancelled = False

    def progress(self, done: int, total: int) -> None:
        """Cells run so far, as the Jobs tab shows them ('3/7' and a fraction)."""
        self.store.set_tags(self.run_id, {"xtrack.job.progress": f"{done}/{total}"})
        self.store.log_metrics(
            [(self.run_id, "job_progress", done / max(total, 1), done, time.time())]
        )
        self.store.heartbeat(self.run_id)

    def should_stop(self) -> bool:
        """Whether a cancel was requested (read from the store at most every CANCEL_POLL_S)."""
        now = time.monotonic()
        if not self._cancelled and now - self._checked_at >= CANCEL_POLL_S:
            self._checked_at = now
            self._cancelled = self.store.get_tag(self.run_id, CANCEL_TAG) is not None
        return self._cancelled

    def finish(self, rep: Reproduction | None, error: str | None = None) -> None:
        """Record the verdict (or the error that stopped the reproduction) and end the run."""
        cancelled = self._cancelled or (rep is not None and rep.reason == "cancelled")
        verdict = rep.verdict if rep is not None else COULD_NOT_RUN
        reason = error if rep is None else rep.reason
        tags = {
            VERDICT_TAG: verdict,
            "xtrack.job.state": "cancelled"
            if cancelled
            else "failed"
            if verdict == COULD_NOT_RUN
            else "finished",
        }
        if reason:
            tags[REPRODUCE_REASON_TAG] = reason.splitlines()[0][:500]
        if rep is not None and rep.run_id:
            tags["xtrack.reproduce.run"] = rep.run_id
        self.store.set_tags(self.run_id, tags)
        status = (
            "interrupted" if cancelled else "failed" if verdict == COULD_NOT_RUN else "finished"
        )
        self.store.finish_run(self.run_id, status=status)
