"""ActiveRun: the live handle of a run being recorded (`xt.log`, `xt.log_params`,
`xt.set_tags`, `xt.log_artifact` write through it), and NullRun, the same handle for a run
that records nothing (no usable store): the user's code runs the same either way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from time import time as _time
from typing import TYPE_CHECKING, Any, cast

from ..facts import RunRecord, Status
from ..records.run import Run
from .session import CONTEXT

if TYPE_CHECKING:
    from ..store.contract import RunStore
    from .session import TrackerContext


def clean_tags(tags: Mapping[Any, Any]) -> dict[str, str]:
    """Tags as stored: strings, with any secret in a value (or under a secret name) hidden."""
    clean = {str(k): str(v) for k, v in tags.items()}
    if not clean:
        return clean
    # lazy: the redaction patterns compile with the first tag, not with the API
    from ..capture.redact import redact_mapping

    return redact_mapping(clean)


# How long reading a live run's number waits for the writer to create the run (a store
# locked by another process can hold it longer: the number is 0 until then).
NUMBER_WAIT_S = 0.5


class ActiveRun(Run):
    """A run that is going on now: `xt.log`, `xt.log_params`, `xt.set_tags`, `xt.log_artifact`
    write through it. Writes go to memory and the background writer; nothing here waits on disk.
    """

    def __init__(self, ctx: TrackerContext, store: RunStore, record: RunRecord) -> None:
        super().__init__(dict(record), store, flush=ctx.flush)
        self._ctx = ctx
        self._id = record["id"]
        self._append = self._point_sink()
        self._last: dict[str, float] = self._record["metrics"]
        self.flagged_params: list[str] = []
        self.bad_metrics: list[str] = []
        # Set by whoever opened the run with a Recording (start_run, a search's foreground
        # parent): ends it with a status (None: the status the error implies) and an error.
        self.on_end: Callable[[Status | None, BaseException | None], Any] | None = None
        # Set by a sweep on its trial runs: sees every xt.log call; an exception it raises
        # (a pruned trial) propagates to the caller of xt.log.
        self.on_log: Callable[[ActiveRun, dict[str, Any], int | None], None] | None = None
        # Set once the writer committed the run's end (or gave it up): what the store holds of
        # it is then final, and the run card may read it without waiting (views/card.py).
        self.stored = threading.Event()
        # Set once the writer created the run (or gave it up): its number is known then.
        self.created: threading.Event | None = None

    @property
    def number(self) -> int:
        """The run's number in its store: given by the store as it creates the run, which a
        cell does not wait for (tracking/lifecycle.open_run); read before that, it waits
        for the creation, at most NUMBER_WAIT_S (0 past that, or if the creation failed)."""
        created = self.created
        if not self._record["number"] and created is not None and not created.is_set():
            created.wait(NUMBER_WAIT_S)
        return int(self._record["number"])

    # -- where writes go (NullRun overrides these two) ---------------------------------
    def _point_sink(self) -> Callable[[tuple[str, str, float, int | None, float]], None]:
        return self._ctx.points().append

    def _submit(self, fn: Callable[[Any], Any]) -> None:
        self._ctx.writer().submit(fn, run_id=self._id)

    @property
    def recorded(self) -> bool:
        """False for a run that records nothing (see NullRun)."""
        return True

    # The hot path: called up to millions of times a cell. `xt.log` inlines the same loop
    # (see `log` at the end of this module); keep the two in step.
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
        # lazy: its numpy/pandas checks and the redaction patterns load late
        from ..capture.params import jsonable
        from ..capture.redact import redact_param

        clean: dict[str, Any] = {}
        for key, value in params.items():
            stored, flagged = jsonable(value)
            clean[key] = redact_param(key, stored)  # by name (api_key=...) and by value
            if flagged and key not in self.flagged_params:
                self.flagged_params.append(key)
        self._record["params"].update(clean)
        run_id = self.id
        self._submit(lambda store: store.set_params(run_id, clean))

    def set_tags(self, **tags: Any) -> None:
        """Set string tags on the run (secrets in them hidden)."""
        clean = clean_tags(tags)
        self._record["tags"].update(clean)
        run_id = self.id
        self._submit(lambda store: store.set_tags(run_id, clean))

    def log_artifact(self, path_or_object: Any, name: str | None = None) -> dict[str, Any]:
        """Store a file (under its own name unless `name` is given) or an object, serialized
        with the library that fits it (DataFrame, figure, model, array, ...)."""
        # lazy: sqlite3 loads with the first store, mimetypes and redaction with the first
        # artifact
        from ..capture.redact import redact_text
        from ..store import StoreError
        from .artifacts import artifact_payload

        payload = artifact_payload(path_or_object, name)  # bad input: a clear error
        payload.name = redact_text(payload.name)  # a name can carry a secret too
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
        self._submit(
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

    def hide_secret_metric_names(self) -> None:
        """Metric names as the store keeps them (the writer redacts each new key), so that
        the run card and the run's record show no secret a name held. Once, at the end."""
        last = self._last
        if not last:
            return
        # lazy: warmed by %load_ext's environment prefetch, which redacts the environment
        from ..capture.redact import redact_text

        hidden = {redact_text(key): value for key, value in last.items()}
        if list(hidden) != list(last):
            last.clear()
            last.update(hidden)

    def set_fact(self, kind: str, value: Any) -> None:
        self._record[kind] = value

    def warn(self, key: str, message: str) -> None:
        """One warning per kind of problem (the session's warn_once)."""
        self._ctx.warn_once(key, message)

    def abandon(self, status: Status) -> None:
        """Close the run in the store at once with `status` (at interpreter exit: killed)."""
        try:
            self._store.finish_run(self.id, status=status)
        except Exception:  # noqa: BLE001 - best effort while the interpreter goes away
            pass

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        # Never swallows the exception: the run is marked failed/interrupted and it propagates.
        self.end(None, exc)

    def end(self, status: Status | None = None, error: BaseException | None = None) -> bool:
        """End the run once with `status` (None: finished, or what `error` implies); False
        when nothing was left to end (no Recording owns this run, or it already ended)."""
        hook, self.on_end = self.on_end, None
        if hook is None:
            return False
        hook(status, error)
        return True


def _discard(point: Any) -> None:
    return None


class NullRun(ActiveRun):
    """A run that records nothing, for when the store cannot be used: `with xt.start_run()`,
    a sweep's trials and `xt.log` work as usual and keep their values in memory only."""

    def __init__(self, ctx: TrackerContext, record: RunRecord) -> None:
        super().__init__(ctx, cast("RunStore", None), record)

    def _point_sink(self) -> Callable[[tuple[str, str, float, int | None, float]], None]:
        return _discard

    def _submit(self, fn: Callable[[Any], Any]) -> None:
        return None

    @property
    def recorded(self) -> bool:
        return False

    def log_artifact(self, path_or_object: Any, name: str | None = None) -> dict[str, Any]:
        return {}

    def abandon(self, status: Status) -> None:
        return None


def log(step: int | None = None, **metrics: Any) -> None:
    """Record metrics on the active run: `xt.log(loss=0.3, acc=0.9, step=epoch)`.

    Every call is kept (full history per metric, with its step and wall time). Appends to
    memory only; a background writer stores batches at least once a second.
    """
    # ActiveRun.log_dict inlined: one Python call per xt.log instead of three (>1M points/s).
    # It lives here, next to the fields it reads; keep the two loops in step.
    ctx = CONTEXT
    stack = ctx.main_stack
    if ctx.threads_bound:  # only once a background job has a stack of its own
        stack = getattr(ctx.thread_local, "stack", stack)
    if not stack:
        ctx.no_run("log")
        return
    run = stack[-1]
    now = _time()
    append = run._append
    last = run._last
    run_id = run._id
    for key, value in metrics.items():
        if type(value) is not float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                run._bad_metric(key, value)
                continue
        append((run_id, key, value, step, now))
        last[key] = value
    if run.on_log is not None:
        run.on_log(run, metrics, step)
