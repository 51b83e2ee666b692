"""Records one tracked execution (a `%%track` cell or a `start_run` block).

`begin()` creates the run and starts every capture; `end()` stops them, reads what must be
read before the user's next statement can change it (the namespace, resources, the opened
files' names), and hands the rest (hashing, git, blobs, store writes) to background workers,
so the cell returns at once. Every step is guarded: capture trouble becomes a warning and a
note in the run, never an exception in the user's cell.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .context import CONTEXT, TrackerContext, relative_to_dir
from .run import ActiveRun

STDIO_CAP_BYTES = 1_000_000
NO_RESULT: Any = object()
# How long a cell may wait for its run to be created before it runs untracked (a store
# locked by another process would otherwise hold the cell for SQLite's whole busy timeout).
CREATE_TIMEOUT_S = 2.0

_executors: dict[str, ThreadPoolExecutor] = {}
_executor_lock = threading.Lock()
_pending: set[Future[Any]] = set()
_static_env: Future[Any] | None = None


def _executor(name: str, workers: int) -> ThreadPoolExecutor:
    pool = _executors.get(name)
    if pool is None:
        with _executor_lock:
            pool = _executors.get(name)
            if pool is None:
                pool = _executors[name] = ThreadPoolExecutor(workers, thread_name_prefix=name)
    return pool


def background() -> ThreadPoolExecutor:
    """The tracker's worker threads (git, hashing, serialisation): started on first use."""
    return _executor("xtrack", 3)


def _create_executor() -> ThreadPoolExecutor:
    """A thread of its own for creating runs, so busy workers never delay a cell's start."""
    return _executor("xtrack-create", 1)


def prefetch_environment() -> None:
    """Start computing the static environment (package list, hardware) off the hot path."""
    global _static_env
    if _static_env is None:
        from .capture.env import static_environment

        _static_env = background().submit(static_environment)


def wait_pending(timeout: float | None = 60.0) -> None:
    """Wait for every run still being finalised in the background, then for the writer."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for fut in list(_pending):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            fut.result(timeout=left)
        except Exception:  # noqa: BLE001 - already reported by the worker
            pass
    CONTEXT.flush(timeout)


@dataclass
class CellInfo:
    """What the front end knows about the code being tracked."""

    source: str
    python_source: str | None = None  # the source after IPython's transforms (for analysis)
    kind: str = "cell"  # cell | script
    cell_id: str | None = None
    notebook_path: str | None = None
    history: Sequence[tuple[int, str]] = ()
    user_ns: Mapping[str, Any] | None = None
    script_path: str | None = None


@dataclass
class RunOptions:
    """What the user asked for on the `%%track` line or in `start_run(...)`."""

    name: str | None = None
    experiment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    param_names: list[str] = field(default_factory=list)
    data_paths: list[str] = field(default_factory=list)
    parent_id: str | None = None


class Recording:
    """One tracked execution; see the module docstring."""

    def __init__(self, info: CellInfo, options: RunOptions, ctx: TrackerContext = CONTEXT) -> None:
        self.info = info
        self.options = options
        self.ctx = ctx
        self.run: ActiveRun | None = None
        self.figures: list[bytes] = []  # PNGs the front end saw displayed during the run
        self.problems: list[str] = []
        self._nested = False
        self._files: Any = None
        self._meter: Any = None
        self._tees: tuple[Any, Any] | None = None
        self._saved_stdio: tuple[Any, Any] | None = None
        self._figures_before: set[int] = set()
        self._git: Future[Any] | None = None
        self._base_dir = os.getcwd()

    # -- start ---------------------------------------------------------------------------
    def begin(self) -> ActiveRun | None:
        """Create the run and start capturing. Returns None (after one warning) when the run
        cannot be recorded; the user's code runs either way."""
        ctx = self.ctx
        try:
            store = ctx.store()
            writer = ctx.writer()
        except Exception as exc:  # noqa: BLE001 - a missing/locked/read-only store must not stop the cell
            ctx.warn_once(
                "store-open",
                f"the run store {ctx.describe_store()} cannot be used ({exc}); "
                "this cell runs untracked",
            )
            return None
        info, opts = self.info, self.options
        parent = ctx.active
        self._nested = parent is not None
        parent_id = opts.parent_id or (parent.id if parent is not None else None)
        if info.notebook_path:
            self._base_dir = os.path.dirname(os.path.abspath(info.notebook_path))
        started = time.time()
        created = _create_executor().submit(
            store.create_run,
            name=opts.name,
            experiment=opts.experiment,
            tags=opts.tags,
            parent_id=parent_id,
            kind=info.kind,
            notebook_path=info.notebook_path,
            cell_id=info.cell_id,
            started_at=started,
        )
        try:
            run_id, number = created.result(timeout=CREATE_TIMEOUT_S)
        except FutureTimeout:
            created.add_done_callback(_abandon_late_run(store))
            _pending.add(created)
            created.add_done_callback(_pending.discard)
            ctx.warn_once(
                "store-busy",
                f"the run store {store.root} stayed locked by another process for "
                f"{CREATE_TIMEOUT_S:g} s; this cell runs untracked (the run will be recorded "
                "as failed once the store frees up)",
            )
            return None
        except Exception as exc:  # noqa: BLE001
            ctx.warn_once(
                "store-create",
                f"could not create a run in {store.root} ({exc}); this cell runs untracked",
            )
            return None
        run = ActiveRun(
            ctx,
            store,
            run_id=run_id,
            number=number,
            name=opts.name,
            experiment=opts.experiment,
            tags=opts.tags,
            parent_id=parent_id,
            kind=info.kind,
            started_at=started,
            notebook_path=info.notebook_path,
            cell_id=info.cell_id,
        )
        self.run = run
        writer.watch(run_id)
        ctx.stack.append(run)
        self._guard("start capture", self._start_captures)
        return run

    def _start_captures(self) -> None:
        from .capture.git import git_state
        from .capture.resources import ResourceMeter

        self._git = background().submit(git_state, self._base_dir)
        self._meter = ResourceMeter()
        self._meter.start()
        if self._nested:
            return  # the enclosing run already records files, stdout and figures
        from .capture.data import FileAccessRecorder
        from .capture.outputs import TeeStream, open_figure_numbers

        self._figures_before = open_figure_numbers()
        self._files = _file_recorder(FileAccessRecorder)
        self._files.start({threading.get_ident()})
        self._saved_stdio = (sys.stdout, sys.stderr)
        self._tees = (
            TeeStream(sys.stdout, STDIO_CAP_BYTES),
            TeeStream(sys.stderr, STDIO_CAP_BYTES),
        )
        sys.stdout, sys.stderr = self._tees

    # -- stop ----------------------------------------------------------------------------
    def end(self, error: BaseException | None = None, result: Any = NO_RESULT) -> ActiveRun | None:
        """Stop capturing, mark the run's status, and finalise it in the background."""
        run = self.run
        if run is None:
            return None
        ended = time.time()
        status = _status_for(error)
        snapshot = _Snapshot()
        self._guard("stop capture", lambda: self._stop_captures(snapshot))
        if self.info.user_ns is not None:
            self._guard("read the namespace", lambda: self._read_namespace(snapshot, result))
        if snapshot.metrics:
            run.log(None, **snapshot.metrics)
        if snapshot.params:
            run.log_params(**snapshot.params)
        if error is not None:
            snapshot.error = _error_fact(error)
        run.mark(status, ended)
        run.set_fact("error", snapshot.error)
        head = _quick_git(self._base_dir)
        if head is not None:
            run.set_fact("git", head)
        if self.ctx.stack and self.ctx.stack[-1] is run:
            self.ctx.stack.pop()
        fut = background().submit(self._finalize, run, snapshot)
        _pending.add(fut)
        fut.add_done_callback(_pending.discard)
        return run

    def _stop_captures(self, snap: _Snapshot) -> None:
        if self._meter is not None:
            snap.resources = self._meter.stop()
        if self._files is not None:
            snap.files = self._files.stop()
        if self._tees is not None and self._saved_stdio is not None:
            # Only restore our own tees: the user may have redirected stdout inside the cell.
            if sys.stdout is self._tees[0]:
                sys.stdout = self._saved_stdio[0]
            if sys.stderr is self._tees[1]:
                sys.stderr = self._saved_stdio[1]
            snap.stdout, snap.stdout_truncated = self._tees[0].captured()
            snap.stderr, snap.stderr_truncated = self._tees[1].captured()
        if not self._nested:
            from .capture.outputs import new_figures_png

            snap.figures = list(self.figures) + new_figures_png(self._figures_before)

    def _read_namespace(self, snap: _Snapshot, result: Any) -> None:
        """Params, metric-like names, estimators and datasets: read now, while the namespace
        still holds what this cell left in it."""
        from .capture.params import (
            analyze_cell,
            estimator_params,
            metric_like,
            metrics_from_namespace,
            result_metrics,
        )

        ns = self.info.user_ns
        assert ns is not None
        try:
            analysis = analyze_cell(self.info.python_source or self.info.source)
        except Exception as exc:  # noqa: BLE001 - params are lost, the rest is still read
            self.problems.append(f"read the namespace: {type(exc).__name__}: {exc}")
            analysis = {}
        if analysis.get("error"):
            self.problems.append(f"could not parse the cell for params: {analysis['error']}")
        pattern = self.ctx_metric_pattern()
        # `acc = 0.93` is a metric, not a param, even though it is a literal assignment.
        params: dict[str, Any] = {
            k: v
            for k, v in (analysis.get("literal_params") or {}).items()
            if not metric_like(k, pattern)
        }
        for pname in self.options.param_names:
            if pname in ns:
                params[pname] = ns[pname]
            else:
                self.problems.append(f"--param {pname}: no such name after the cell ran")
        assigned: list[str] = list(analysis.get("assigned_names") or [])
        for aname in assigned:
            if aname in ns:
                params.update(estimator_params(aname, ns[aname]))
        snap.params = params
        metrics = metrics_from_namespace(assigned, ns, pattern)
        if result is not NO_RESULT and result is not None:
            metrics.update(result_metrics(result))
        snap.metrics = metrics
        names = list(dict.fromkeys([*assigned, *sorted(analysis.get("referenced_names") or ())]))
        snap.datasets = [(n, ns[n]) for n in names if n in ns and _is_dataset(ns[n])]

    @staticmethod
    def ctx_metric_pattern() -> str | None:
        return os.environ.get("XTRACK_METRIC_PATTERN") or None

    # -- background ----------------------------------------------------------------------
    def _finalize(self, run: ActiveRun, snap: _Snapshot) -> None:
        """Everything that may happen after the cell returned: hashing, git, blobs, writes."""
        facts: dict[str, Any] = {}
        store = run._store
        info = self.info

        def guarded(what: str, fn: Callable[[], Any]) -> Any:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001
                self.problems.append(f"{what}: {type(exc).__name__}: {exc}")
                return None

        from .capture.redact import redact

        if info.source:
            src_hash = guarded("code", lambda: store.put_blob(redact(info.source).encode()))
            facts["code"] = {
                "hash": src_hash,
                "kind": info.kind,
                "script_path": info.script_path,
                "lines": info.source.count("\n") + 1,
            }
        if info.history:
            facts["lineage"] = guarded("lineage", lambda: self._lineage_fact(store))
        if info.notebook_path:
            facts["notebook"] = guarded("notebook snapshot", lambda: self._notebook_fact(store))
        facts["env"] = guarded("environment", lambda: _env_fact(store))
        facts["git"] = guarded("git", lambda: self._git_fact(store))
        facts["resources"] = snap.resources
        facts["error"] = snap.error
        facts["stdio"] = guarded("stdout/stderr", lambda: _stdio_fact(store, snap))
        files = guarded("data files", lambda: self._file_records(store, run.id, snap))
        facts["datasets"] = guarded("datasets", lambda: _datasets(snap))
        figures: list[tuple[str, str, int]] = []
        for i, png in enumerate(snap.figures):
            blob = guarded("figure", partial(store.put_blob, png))
            if blob:
                figures.append((f"figure-{i + 1}.png", blob, len(png)))
        if run.flagged_params:
            facts["params_flagged"] = list(run.flagged_params)
        if self.problems:
            facts["capture_problems"] = list(self.problems)
            self.ctx.warn_once(
                "capture:" + self.problems[0][:40],
                f"run #{run.number}: some facts could not be captured: {'; '.join(self.problems)}",
            )
        for key, value in facts.items():
            run.set_fact(key, value)
        status = run.status
        ended = run._record["ended_at"]
        facts = {k: v for k, v in facts.items() if v is not None}

        def write(s: Any) -> None:
            s.set_facts(run.id, **facts)
            if files:
                s.record_files(run.id, files)
            for name, blob, size in figures:
                s.add_artifact(run.id, name, blob=blob, size=size, media_type="image/png",
                               meta={"source": "display"})
            s.finish_run(run.id, status=status, ended_at=ended)

        writer = self.ctx.writer()
        writer.submit(write)
        writer.unwatch(run.id)

    def _lineage_fact(self, store: Any) -> dict[str, Any]:
        from .capture.code import lineage_notebook, notebook_bytes

        history = [(n, _redacted_source(src)) for n, src in self.info.history]
        nb = lineage_notebook(history, language_version=sys.version.split()[0])
        return {"hash": store.put_blob(notebook_bytes(nb)), "cells": len(history)}

    def _notebook_fact(self, store: Any) -> dict[str, Any]:
        from .capture.code import read_notebook_snapshot

        path = self.info.notebook_path
        assert path is not None
        snap = read_notebook_snapshot(path)
        data = snap.pop("bytes", None)
        if data is not None:
            snap["hash"] = store.put_blob(data)
        return snap

    def _git_fact(self, store: Any) -> dict[str, Any] | None:
        if self._git is None:
            return None
        state = dict(self._git.result())
        diff = state.pop("diff", None)
        if diff:
            state["diff_hash"] = store.put_blob(diff.encode())
            state["diff_bytes"] = len(diff)
        return state

    def _file_records(self, store: Any, run_id: str, snap: _Snapshot) -> list[dict[str, Any]]:
        cache = _hash_cache()
        records: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        wanted = [(f["path"], f.get("mode", "r")) for f in snap.files]
        wanted += [(os.path.abspath(p), "r") for p in self.options.data_paths]
        for path, mode in wanted:
            directions = ["input"] if mode == "r" else ["output"] if mode == "w" else ["input", "output"]
            for direction in directions:
                if (path, direction) in seen:
                    continue
                seen.add((path, direction))
                rec = dict(cache.lookup_or_hash(path))
                rec["direction"] = direction
                rec["abs_path"] = rec.get("abs_path") or path
                rec["path"] = relative_to_dir(path, self._base_dir)
                if direction == "input" and rec.get("hash"):
                    producer = store.producer_of(rec["hash"], exclude_run=run_id)
                    if producer:
                        rec["produced_by"] = producer
                records.append(rec)
        return records

    # -- helpers -------------------------------------------------------------------------
    def _guard(self, what: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - capture must never break the cell
            self.problems.append(f"{what}: {type(exc).__name__}: {exc}")


@dataclass
class _Snapshot:
    resources: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    figures: list[bytes] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: list[tuple[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


def _abandon_late_run(store: Any) -> Callable[[Future[Any]], None]:
    """For a run whose creation outlasted CREATE_TIMEOUT_S: close it as failed, with the
    reason, so it never reads as running (or crashed) for a cell that ran untracked."""

    def done(fut: Future[Any]) -> None:
        try:
            run_id, _ = fut.result()
            store.set_facts(run_id, capture_problems=[
                f"the store was locked for more than {CREATE_TIMEOUT_S:g} s when the run "
                "started; the cell ran untracked"
            ])
            store.finish_run(run_id, status="failed")
        except Exception:  # noqa: BLE001 - nothing was created, nothing to close
            pass

    return done


def mark_open_runs_killed() -> None:
    """At interpreter exit: runs still open (a script that never ended its run, a kernel
    shut down mid-cell) are recorded as killed rather than left running."""
    for run in reversed(CONTEXT.stack):
        try:
            run._store.finish_run(run.id, status="killed")
        except Exception:  # noqa: BLE001 - best effort while the interpreter goes away
            pass
    CONTEXT.stack.clear()


def _status_for(error: BaseException | None) -> str:
    if error is None:
        return "finished"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, SystemExit):
        return "killed"
    return "failed"


def _error_fact(error: BaseException) -> dict[str, Any]:
    from .capture.redact import redact

    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"type": type(error).__name__, "message": redact(str(error)), "traceback": redact(tb)}


def _is_dataset(obj: Any) -> bool:
    root = (type(obj).__module__ or "").partition(".")[0]
    return root in ("pandas", "numpy", "torch") and type(obj).__name__ in (
        "DataFrame",
        "Series",
        "ndarray",
        "Tensor",
        "Parameter",
    )


def _datasets(snap: _Snapshot) -> list[dict[str, Any]]:
    from .capture.data import fingerprint

    out = []
    for name, obj in snap.datasets:
        fp = fingerprint(obj, name)
        if fp is not None:
            out.append(fp)
    return out


def _stdio_fact(store: Any, snap: _Snapshot) -> dict[str, Any] | None:
    from .capture.redact import redact

    fact: dict[str, Any] = {}
    for name, text, truncated in (
        ("stdout", snap.stdout, snap.stdout_truncated),
        ("stderr", snap.stderr, snap.stderr_truncated),
    ):
        if text:
            fact[name] = store.put_blob(redact(text).encode())
            fact[f"{name}_bytes"] = len(text)
            if truncated:
                fact[f"{name}_truncated"] = True
    return fact or None


_env_cache: dict[tuple[str, ...], tuple[bytes, dict[str, Any]]] = {}


def _env_fact(store: Any) -> dict[str, Any]:
    """The environment as a blob plus a small summary. The serialised bytes are cached per
    (imported packages, env vars); `put_blob` of bytes already stored writes nothing."""
    import orjson

    from .capture.env import imported_distributions, static_environment
    from .capture.redact import allowed_env

    static = _static_env.result() if _static_env is not None else static_environment()
    imported = imported_distributions(list(sys.modules))
    env_vars = allowed_env(os.environ)
    key = (*sorted(imported), "|", *sorted(f"{k}={v}" for k, v in env_vars.items()))
    cached = _env_cache.get(key)
    if cached is None:
        full = {**static, "imported": imported, "env_vars": env_vars}
        summary = {
            "python": (static.get("python") or {}).get("version"),
            "platform": (static.get("platform") or {}).get("system"),
            "packages": len(static.get("packages") or {}),
            "imported": len(imported),
        }
        cached = (orjson.dumps(full, option=orjson.OPT_SORT_KEYS), summary)
        _env_cache[key] = cached
    data, summary = cached
    return {"hash": store.put_blob(data), **summary}


_redacted: dict[str, str] = {}


def _redacted_source(source: str) -> str:
    """Redacted cell source, remembered: the lineage repeats every earlier cell each run."""
    done = _redacted.get(source)
    if done is None:
        from .capture.redact import redact

        done = _redacted[source] = redact(source)
    return done


def _quick_git(path: str) -> dict[str, Any] | None:
    try:
        from .capture.git import git_head

        return git_head(path)
    except Exception:  # noqa: BLE001
        return None


_cache: Any = None


def _hash_cache() -> Any:
    global _cache
    if _cache is None:
        from .capture.data import HashCache

        _cache = HashCache()
    return _cache


_file_recorder_instance: Any = None


def _file_recorder(factory: Any) -> Any:
    """One FileAccessRecorder per process (its audit hook cannot be removed)."""
    global _file_recorder_instance
    if _file_recorder_instance is None:
        _file_recorder_instance = factory()
    return _file_recorder_instance
