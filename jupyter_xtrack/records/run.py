"""The Run record: what a finished or running run looks like to readers (the API, the CLI,
the server, the views). The live handle of a run being recorded is `tracking.ActiveRun`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..store.contract import RunStore

from ..facts import (
    GIT_DIFF,
    GIT_DIFF_HASH,
    REPRODUCES_TAG,
    STDERR,
    STDOUT,
    VERDICT_TAG,
    Fact,
    blob_of,
    fact_of,
    stdio_blob,
)
from ..store.errors import BlobUnavailableError
from .formatting import param_marks
from .summary import summary_html, summary_text


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


class Run:
    """One run as the store knows it: everything `%%track` or `start_run` captured.

    Large facts (code, lineage, environment, git diff) live in the store's blobs and are
    loaded on first access.
    """

    def __init__(
        self,
        record: dict[str, Any],
        store: RunStore,
        *,
        flush: Callable[[], Any] | None = None,
    ) -> None:
        self._record = record
        self._store = store
        # Called before reading metric histories, so points still in this process's
        # writer are in the store (the tracking session passes its flush).
        self._flush = flush

    @property
    def store(self) -> RunStore:
        """The store this run is read from (and, for an active run, written to)."""
        return self._store

    @property
    def record(self) -> dict[str, Any]:
        """The stored row: run fields and facts, as `RunStore.get_run` returns it."""
        return self._record

    # -- identity and lifecycle ------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self._record["id"])

    @property
    def number(self) -> int:
        return int(self._record["number"])

    @property
    def name(self) -> str | None:
        return self._record.get("name")

    @property
    def experiment(self) -> str:
        return str(self._record.get("experiment") or "default")

    @property
    def status(self) -> str:
        return str(self._record.get("status"))

    @property
    def kind(self) -> str:
        return str(self._record.get("kind") or "cell")

    @property
    def parent_id(self) -> str | None:
        return self._record.get("parent_id")

    @property
    def children(self) -> list[str]:
        return list(self._record.get("children") or [])

    @property
    def started_at(self) -> datetime | None:
        return _utc(self._record.get("started_at"))

    @property
    def ended_at(self) -> datetime | None:
        return _utc(self._record.get("ended_at"))

    @property
    def duration_s(self) -> float | None:
        return self._record.get("duration_s")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._record.get("params") or {})

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self._record.get("metrics") or {})

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.get("tags") or {})

    @property
    def reproduces(self) -> str | None:
        """The id of the run this one reproduces (`xtrack reproduce`), or None."""
        return self.tags.get(REPRODUCES_TAG)

    def reproductions(self) -> list[dict[str, Any]]:
        """The runs that reproduce this one, oldest first: id, number, status, verdict."""
        table = self._store.query_runs(f"tags.{REPRODUCES_TAG} = '{self.id}'",
                                       columns=[f"tags.{VERDICT_TAG}"], order_by="number")
        return [{"id": r["id"], "number": r["number"], "status": r["status"],
                 "verdict": r.get(f"tags.{VERDICT_TAG}")} for r in table.rows()]

    @property
    def notebook_path(self) -> str | None:
        return self._record.get("notebook_path")

    @property
    def cell_id(self) -> str | None:
        return self._record.get("cell_id")

    # -- captured facts ------------------------------------------------------------------
    def fact(self, kind: str) -> Any:
        """The raw fact of `kind` as stored (small JSON; big parts are blob references)."""
        return self._record.get(kind)

    def _blob(self, ref: Any) -> bytes | None:
        """The blob's bytes; None when the store refuses it (a link out of the store), so
        a tampered blob reads as unavailable and never as its target."""
        if not ref:
            return None
        try:
            return self._store.get_blob(ref)
        except BlobUnavailableError as exc:
            if exc.refused:
                return None
            raise

    def _blob_text(self, ref: Any) -> str | None:
        data = self._blob(ref)
        return None if data is None else data.decode("utf-8", errors="replace")

    def _blob_json(self, ref: Any) -> dict[str, Any] | None:
        data = self._blob(ref)
        if data is None:
            return None
        import orjson  # lazy: only readers of blob facts need it

        value = orjson.loads(data)
        return value if isinstance(value, dict) else None

    @cached_property
    def code(self) -> str | None:
        """The exact source of the tracked cell (or script)."""
        return self._blob_text(blob_of(self._record, Fact.CODE))

    @cached_property
    def lineage(self) -> dict[str, Any] | None:
        """The session's executed cells up to this run, as an nbformat v4 notebook."""
        return self._blob_json(blob_of(self._record, Fact.LINEAGE))

    @cached_property
    def notebook(self) -> dict[str, Any] | None:
        """The saved notebook file as it was when the run ended, when its path was known."""
        return self._blob_json(blob_of(self._record, Fact.NOTEBOOK))

    @cached_property
    def env(self) -> dict[str, Any] | None:
        """Python, platform, packages (installed and imported), hardware, allowlisted env vars."""
        return self._blob_json(blob_of(self._record, Fact.ENV))

    @cached_property
    def git(self) -> dict[str, Any] | None:
        """Repository state: root, commit, branch, dirty, diff, untracked, remote."""
        if self._record.get(Fact.GIT) is None:
            return None
        git = fact_of(self._record, Fact.GIT)
        diff_ref = git.pop(GIT_DIFF_HASH, None)
        if diff_ref:
            git[GIT_DIFF] = self._blob_text(diff_ref)
        return git

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return list(self._record.get("inputs") or [])

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self._record.get("outputs") or [])

    @property
    def datasets(self) -> list[dict[str, Any]]:
        return list(self._record.get(Fact.DATASETS) or [])

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        return list(self._record.get("artifacts") or [])

    @property
    def resources(self) -> dict[str, Any]:
        return fact_of(self._record, Fact.RESOURCES)

    @property
    def error(self) -> dict[str, Any] | None:
        return self._record.get(Fact.ERROR)

    @property
    def not_stored(self) -> dict[str, Any] | None:
        """What the store is missing of this run ({points, writes, reason}: metric points
        and other writes that could not be stored, e.g. on a full disk), or None."""
        return self._record.get(Fact.NOT_STORED)

    @property
    def param_marks(self) -> dict[str, str]:
        """Param key -> "↻ varies", "(repr)", ... for the params that are not plain
        settings (a loop's values, a repr, a digest); see `formatting.param_marks`."""
        return param_marks(self._record)

    @cached_property
    def stdout(self) -> str | None:
        return self._blob_text(stdio_blob(self._record, STDOUT))

    @cached_property
    def stderr(self) -> str | None:
        return self._blob_text(stdio_blob(self._record, STDERR))

    def artifact_bytes(self, name: str) -> bytes:
        """The stored bytes of artifact `name`."""
        for art in self.artifacts:
            if art.get("name") == name:
                return self._store.get_blob(art["hash"])
        names = ", ".join(a.get("name", "?") for a in self.artifacts) or "none"
        raise KeyError(f"run #{self.number} has no artifact {name!r} (artifacts: {names})")

    def history(self, metric: str) -> pd.DataFrame:
        """The full history of one metric: a DataFrame with columns step, value, time (UTC)."""
        import pandas as pd  # lazy: importing the package must not load pandas

        if self._flush is not None:
            self._flush()
        hist = self._store.metric_history(self.id, metric)
        if not hist.get("value"):
            known = ", ".join(self._store.metric_keys(self.id)) or "none"
            raise KeyError(f"run #{self.number} has no metric {metric!r} (metrics: {known})")
        frame = pd.DataFrame(
            {
                "step": pd.array(hist["step"], dtype="Int64"),
                "value": pd.array(hist["value"], dtype="float64"),
                "time": pd.to_datetime(hist["time"], unit="s", utc=True),
            }
        )
        return frame

    # -- display -----------------------------------------------------------------------
    def summary_line(self) -> str:
        return summary_text(self.summary_fields())

    def summary_fields(self) -> dict[str, Any]:
        """The facts of the one-line summary (number, name, status, duration, metrics, git, error)."""
        git = fact_of(self._record, Fact.GIT)
        return {
            "number": self.number,
            "name": self.name,
            "status": self.status,
            "duration_s": self.duration_s,
            "metrics": self.metrics,
            Fact.GIT: git,
            Fact.ERROR: self.error,
            Fact.NOT_STORED: self.not_stored,
        }

    def __repr__(self) -> str:
        return f"<Run {self.summary_line()}>"

    def _repr_html_(self) -> str:
        return summary_html(self.summary_fields())
