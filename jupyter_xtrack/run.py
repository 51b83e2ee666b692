"""The Run record (what a finished or running run looks like to readers) and ActiveRun (the
live handle that logs metrics, params, tags and artifacts while the run is going)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from time import time as _time
from typing import TYPE_CHECKING, Any

from .context import CONTEXT

if TYPE_CHECKING:
    import pandas as pd

    from .context import TrackerContext
    from .store import Store



def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


class Run:
    """One run as the store knows it: everything `%%track` or `start_run` captured.

    Large facts (code, lineage, environment, git diff) live in the store's blobs and are
    loaded on first access.
    """

    def __init__(self, record: dict[str, Any], store: Store) -> None:
        self._record = record
        self._store = store

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
    def notebook_path(self) -> str | None:
        return self._record.get("notebook_path")

    @property
    def cell_id(self) -> str | None:
        return self._record.get("cell_id")

    # -- captured facts ------------------------------------------------------------------
    def fact(self, kind: str) -> Any:
        """The raw fact of `kind` as stored (small JSON; big parts are blob references)."""
        return self._record.get(kind)

    def _blob_text(self, ref: Any) -> str | None:
        if not ref:
            return None
        return self._store.get_blob(ref).decode("utf-8", errors="replace")

    def _blob_json(self, ref: Any) -> Any:
        if not ref:
            return None
        import orjson

        return orjson.loads(self._store.get_blob(ref))

    @cached_property
    def code(self) -> str | None:
        """The exact source of the tracked cell (or script)."""
        fact = self._record.get("code") or {}
        return self._blob_text(fact.get("hash"))

    @cached_property
    def lineage(self) -> dict[str, Any] | None:
        """The session's executed cells up to this run, as an nbformat v4 notebook."""
        return self._blob_json((self._record.get("lineage") or {}).get("hash"))

    @cached_property
    def notebook(self) -> dict[str, Any] | None:
        """The saved notebook file as it was when the run ended, when its path was known."""
        return self._blob_json((self._record.get("notebook") or {}).get("hash"))

    @cached_property
    def env(self) -> dict[str, Any] | None:
        """Python, platform, packages (installed and imported), hardware, allowlisted env vars."""
        return self._blob_json((self._record.get("env") or {}).get("hash"))

    @cached_property
    def git(self) -> dict[str, Any] | None:
        """Repository state: root, commit, branch, dirty, diff, untracked, remote."""
        fact = self._record.get("git")
        if fact is None:
            return None
        git = dict(fact)
        diff_ref = git.pop("diff_hash", None)
        if diff_ref:
            git["diff"] = self._blob_text(diff_ref)
        return git

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return list(self._record.get("inputs") or [])

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self._record.get("outputs") or [])

    @property
    def datasets(self) -> list[dict[str, Any]]:
        return list(self._record.get("datasets") or [])

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        return list(self._record.get("artifacts") or [])

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self._record.get("resources") or {})

    @property
    def error(self) -> dict[str, Any] | None:
        return self._record.get("error")

    @cached_property
    def stdout(self) -> str | None:
        return self._blob_text((self._record.get("stdio") or {}).get("stdout"))

    @cached_property
    def stderr(self) -> str | None:
        return self._blob_text((self._record.get("stdio") or {}).get("stderr"))

    def artifact_bytes(self, name: str) -> bytes:
        """The stored bytes of artifact `name`."""
        for art in self.artifacts:
            if art.get("name") == name:
                return self._store.get_blob(art["hash"])
        names = ", ".join(a.get("name", "?") for a in self.artifacts) or "none"
        raise KeyError(f"run #{self.number} has no artifact {name!r} (artifacts: {names})")

    def history(self, metric: str) -> pd.DataFrame:
        """The full history of one metric: a DataFrame with columns step, value, time (UTC)."""
        import pandas as pd

        CONTEXT.flush()
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
        from .summary import summary_text

        return summary_text(self._summary_fields())

    def _summary_fields(self) -> dict[str, Any]:
        git = self._record.get("git") or {}
        return {
            "number": self.number,
            "name": self.name,
            "status": self.status,
            "duration_s": self.duration_s,
            "metrics": self.metrics,
            "git": git,
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"<Run {self.summary_line()}>"

    def _repr_html_(self) -> str:
        from .summary import summary_html

        return summary_html(self._summary_fields())


class ActiveRun(Run):
    """A run that is going on now: `xt.log`, `xt.log_params`, `xt.set_tags`, `xt.log_artifact`
    write through it. Writes go to memory and the background writer; nothing here waits on disk.
    """

    def __init__(
        self,
        ctx: TrackerContext,
        store: Store,
        *,
        run_id: str,
        number: int,
        name: str | None,
        experiment: str | None,
        tags: dict[str, str],
        parent_id: str | None,
        kind: str,
        started_at: float,
        notebook_path: str | None,
        cell_id: str | None,
    ) -> None:
        record: dict[str, Any] = {
            "id": run_id,
            "number": number,
            "name": name,
            "experiment": experiment or "default",
            "status": "running",
            "kind": kind,
            "parent_id": parent_id,
            "started_at": started_at,
            "notebook_path": notebook_path,
            "cell_id": cell_id,
            "params": {},
            "metrics": {},
            "tags": dict(tags),
        }
        super().__init__(record, store)
        self._ctx = ctx
        self._id = run_id
        self._append = ctx.points().append
        self._last: dict[str, float] = record["metrics"]
        self.flagged_params: list[str] = []
        self.bad_metrics: list[str] = []
        # Set by whoever started the run (start_run) so that `with` ends it.
        self.on_exit: Any = None
        # Set by a sweep on its trial runs: sees every xt.log call; an exception it raises
        # (a pruned trial) propagates to the caller of xt.log.
        self.on_log: Callable[[ActiveRun, dict[str, Any], int | None], None] | None = None

    # The hot path: called up to millions of times a cell. `xt.log` inlines the same loop
    # (see api.log); keep the two in step.
    def log(self, step: int | None = None, **metrics: Any) -> None:
        """Record metric values (with an optional step); full history is kept per metric."""
        self.log_dict(metrics, step)

    def log_dict(self, metrics: dict[str, Any], step: int | None) -> None:
        now = _time()
        append = self._append
        last = self._last
        run_id = self._id
        for key, value in metrics.items():
            if type(value) is not float:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    self._bad_metric(key, value)
                    continue
            append((run_id, key, value, step, now))
            last[key] = value
        if self.on_log is not None:
            self.on_log(self, metrics, step)

    def _bad_metric(self, key: str, value: Any) -> None:
        self.bad_metrics.append(key)
        self._ctx.warn_once(
            f"metric:{key}",
            f"metric {key!r} got {type(value).__name__} {value!r:.60}; metrics must be numbers, "
            "so this value was not recorded (log it as a param or tag instead)",
        )

    def log_params(self, **params: Any) -> None:
        """Record params; values that are not JSON-able are stored as their repr and flagged."""
        from .capture.params import jsonable

        clean: dict[str, Any] = {}
        for key, value in params.items():
            stored, flagged = jsonable(value)
            clean[key] = stored
            if flagged and key not in self.flagged_params:
                self.flagged_params.append(key)
        self._record["params"].update(clean)
        run_id = self.id
        self._ctx.writer().submit(lambda store: store.set_params(run_id, clean))

    def set_tags(self, **tags: Any) -> None:
        """Set string tags on the run."""
        clean = {str(k): str(v) for k, v in tags.items()}
        self._record["tags"].update(clean)
        run_id = self.id
        self._ctx.writer().submit(lambda store: store.set_tags(run_id, clean))

    def log_artifact(self, path_or_object: Any, name: str | None = None) -> dict[str, Any]:
        """Store a file (under its own name unless `name` is given) or an object, serialized
        with the library that fits it (DataFrame, figure, model, array, ...)."""
        from .artifacts import artifact_payload
        from .store import StoreError

        payload = artifact_payload(path_or_object, name)  # bad input: a clear error
        store = self._store
        try:
            if payload.path is not None:
                blob, size = store.put_blob_file(payload.path)
            else:
                assert payload.data is not None
                blob, size = store.put_blob(payload.data), len(payload.data)
        except (OSError, StoreError) as exc:  # the store's disk: full, read-only, gone
            self._ctx.warn_once(
                f"artifact:{type(exc).__name__}",
                f"artifact {payload.name!r} of run #{self.number} could not be stored ({exc}); "
                "your code goes on, the artifact is not in the store",
            )
            return {}
        run_id = self.id
        meta = {"format": payload.format, "source": payload.source}
        entry = {"name": payload.name, "hash": blob, "size": size, "media_type": payload.media_type}
        self._record.setdefault("artifacts", []).append(entry)
        self._ctx.writer().submit(
            lambda s: s.add_artifact(
                run_id, payload.name, blob=blob, size=size, media_type=payload.media_type, meta=meta
            )
        )
        return entry

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self._last)

    def key_metrics(self, limit: int = 4) -> dict[str, float]:
        """The metrics to show in a one-line summary: the last `limit` distinct keys logged."""
        items = list(self._last.items())
        return dict(items[-limit:])

    def mark(self, status: str, ended_at: float) -> None:
        self._record["status"] = status
        self._record["ended_at"] = ended_at
        self._record["duration_s"] = ended_at - float(self._record["started_at"])

    def set_fact(self, kind: str, value: Any) -> None:
        self._record[kind] = value

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        # Never swallows the exception: the run is marked failed/interrupted and it propagates.
        if self.on_exit is not None:
            hook, self.on_exit = self.on_exit, None
            hook(exc)
