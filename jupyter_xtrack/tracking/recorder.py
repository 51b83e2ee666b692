"""Records one tracked execution (a `%%track` cell or a `start_run` block).

`begin()` creates the run and starts every capture; `end()` stops them, reads what must be
read before the user's next statement can change it (the namespace, resources, the opened
files' names), and hands the rest (hashing, git, blobs, store writes) to background workers,
so the cell returns at once; in a kernel all but the files' hashing waits for a quiet kernel
(`tracking/later.py`). Every step is guarded: capture trouble becomes a warning and a
note in the run, never an exception in the user's cell.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..facts import (
    GIT_DIFF_BYTES,
    GIT_DIFF_HASH,
    GIT_STRIPPED_NOTEBOOKS,
    STDIO_STREAMS,
    CodeFact,
    EnvFact,
    ErrorFact,
    Fact,
    GitFact,
    GitNotebookFact,
    LineageFact,
    ParamVariation,
    Status,
    StdioFact,
)
from . import figures as figures_later
from . import inherit, later, lifecycle
from .active_run import ActiveRun
from .datasets import CellDatasets, take
from .request import CellInfo, RunOptions
from .session import CONTEXT, TrackerContext
from .workers import background

if TYPE_CHECKING:
    from ..capture.code import LineageEncoder
    from ..store.contract import RunStore

STDIO_CAP_BYTES = 1_000_000
NO_RESULT: Any = object()
# How long a cell waits for its run's number; past that (a store locked by another process)
# the cell runs tracked all the same and the run is created once the lock frees.
CREATE_WAIT_S = 0.5
FINALIZE_POOL = "xtrack-finalize"  # the one thread of finalisations that wait for quiet

_static_env: Future[Any] | None = None
_static_env_started = threading.Event()


def prefetch_environment() -> None:
    """Start computing the static environment (package list, hardware: tens of milliseconds
    of Python) off the hot path, in the first pause between cells (`later.warm_up`); a run
    finalised before that computes it itself."""
    global _static_env
    if _static_env is None:
        _static_env = later.warm_up(_prefetch_environment)


def _prefetch_environment() -> dict[str, Any]:
    # lazy: importlib.metadata is slow
    from ..capture.env import static_environment

    _static_env_started.set()
    return static_environment()


# The folders a git capture ran in under the kernel hooks. The first capture in a folder
# does not build the work tree's watch (capture/tree_watch.py: a walk of the work tree in
# Python) beside the kernel's first cell, often a notebook's imports: it runs `git status`,
# a process of its own, and the build is left to the first pause between cells or to the
# next capture, whichever comes first (a Run All has no pause, and `git status` at every
# cell of a large repository is what the watch is for).
_git_captured: set[str] = set()


def _build_git_watch(base_dir: str) -> None:
    # lazy, as every capture: loaded by the first run
    from ..capture.git import git_state
    from ..notebook.gitdiff import strip_for_git_diff

    git_state(base_dir, strip_notebooks=strip_for_git_diff)


def wait_pending(timeout: float | None = 60.0) -> None:
    """Wait for every run still being finalised in the background, then for the writer."""
    lifecycle.wait_pending(CONTEXT, timeout)


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
        self._calls: Any = None  # capture.metric_calls.MetricCalls while the cell runs
        self._meter: Any = None
        self._tees: tuple[Any, Any] | None = None
        self._saved_stdio: tuple[Any, Any] | None = None
        self._figures_before: set[int] = set()
        self._git: Future[Any] | None = None
        self._base_dir = os.getcwd()
        # True when the kernel hooks end the run: the next code waits for deferred fingerprints
        self.defer_fingerprints = False
        # While True, `end` leaves the finalisation for `release_finalize` (see there)
        self.hold_finalize = False
        # True when the kernel hooks end the run: the finalisation waits for a quiet kernel
        # (tracking/later.py), all but the hashing of the files the cell used
        self.finalize_when_quiet = False
        self._held: Callable[[], None] | None = None

    # -- start ---------------------------------------------------------------------------
    def begin(self) -> ActiveRun | None:
        """Create the run and start capturing. Returns None (after one warning) when the run
        cannot be recorded; the user's code runs either way."""
        ctx = self.ctx
        info, opts = self.info, self.options
        parent = ctx.active
        self._nested = parent is not None
        parent_id = opts.parent_id or (parent.id if parent is not None else None)
        if info.notebook_path:
            self._base_dir = os.path.dirname(os.path.abspath(info.notebook_path))
        try:
            run = lifecycle.open_run(
                ctx, name=opts.name, experiment=opts.experiment, tags=opts.tags,
                parent_id=parent_id, kind=info.kind, notebook_path=info.notebook_path,
                cell_id=info.cell_id, create_wait=CREATE_WAIT_S,
                proven=not opts.parent_id,  # a parent named by the user: see that it exists
            )
        except lifecycle.CannotOpen as exc:
            if exc.reason == "open":
                ctx.warn_once(
                    "store-open",
                    f"the run store {exc.where} cannot be used ({exc.cause}); "
                    "this cell runs untracked",
                )
            else:
                ctx.warn_once(
                    "store-create",
                    f"could not create a run in {exc.where} ({exc.cause}); this cell runs untracked",
                )
            return None
        self.run = run
        self._guard("start capture", self._start_captures)
        return run

    def _start_captures(self) -> None:
        # lazy, as every capture: loaded by the first run
        from ..capture.git import git_state
        from ..capture.resources import ResourceMeter
        from ..notebook.gitdiff import strip_for_git_diff

        self._git = background().submit(
            git_state, self._base_dir, strip_notebooks=strip_for_git_diff,
            build_watch=self._may_build_git_watch(),
        )
        self._meter = ResourceMeter()
        self._meter.start(*self._system_sampling())
        if self._nested:
            return  # the enclosing run already records files, stdout and figures
        # lazy, as every capture: loaded by the first run
        from ..capture.data import FileAccessRecorder
        from ..capture.metric_calls import MetricCalls

        if self.info.user_ns is not None:
            sources = [src for _, src in self.info.history]
            sources.append(self.info.python_source or self.info.source)
            ns = cast("MutableMapping[str, Any]", self.info.user_ns)  # the shell's own dict
            self._calls = MetricCalls(ns, sources)
            self._calls.start()
        from ..capture.outputs import TeeStream, open_figure_numbers

        self._figures_before = open_figure_numbers()
        self._files = _file_recorder(FileAccessRecorder)
        self._files.start({threading.get_ident()})
        self._saved_stdio = (sys.stdout, sys.stderr)
        self._tees = (
            TeeStream(sys.stdout, STDIO_CAP_BYTES),
            TeeStream(sys.stderr, STDIO_CAP_BYTES),
        )
        sys.stdout, sys.stderr = self._tees

    def _system_sampling(self) -> tuple[float | None, Any]:
        """(interval, sink) for the system metrics: the `%%track` option, else the
        XTRACK_SYSTEM_METRICS variable, else every second. The sink appends `system/*`
        points to the run's history without touching its last values, so the summary and
        the card's headline keep the user's metrics."""
        # lazy, as every capture: loaded by the first run
        from ..capture.system_metrics import DEFAULT_INTERVAL_S, interval_from

        setting = self.options.system_metrics
        if setting is None:
            setting = os.environ.get("XTRACK_SYSTEM_METRICS", str(DEFAULT_INTERVAL_S))
        try:
            interval = interval_from(setting)
        except ValueError:
            self.problems.append(f"system metrics: interval {setting!r} is not a number of "
                                 f"seconds; sampled every {DEFAULT_INTERVAL_S:g} s")
            interval = DEFAULT_INTERVAL_S
        run = self.run
        if interval is None or run is None:
            return None, None
        append, run_id = self.ctx.points().append, run.id

        def emit(values: dict[str, float], step: int, wall: float) -> None:
            for key, value in values.items():
                append((run_id, key, value, step, wall))

        return interval, emit

    # -- stop ----------------------------------------------------------------------------
    def end(self, error: BaseException | None = None, result: Any = NO_RESULT,
            status: Status | None = None) -> ActiveRun | None:
        """Stop capturing, mark the run's status (given, or what `error` implies), and
        finalise it in the background."""
        run = self.run
        if run is None:
            return None
        run.on_end = None
        ended = time.time()
        snapshot = _Snapshot()
        self._guard("stop capture", lambda: self._stop_captures(snapshot))
        if self.info.user_ns is not None:
            self._guard("read the namespace", lambda: self._read_namespace(snapshot, result))
        self._guard("datasets", lambda: self._take_fingerprints(snapshot))
        if snapshot.metrics:
            run.log(None, **snapshot.metrics)
        for name, step, value in snapshot.metric_points:
            run.log(step, **{name: value})
        if snapshot.params:
            self._guard("params", lambda: run.log_params(**snapshot.params))
        if error is not None:
            snapshot.error = lifecycle.error_fact(error)
        if self.finalize_when_quiet:
            # what the run's environment is read from, as the cell left it (~0.05 ms)
            snapshot.modules = list(sys.modules)
            snapshot.environ = dict(os.environ)
        lifecycle.close_run(self.ctx, run, status or lifecycle.status_for(error),
                            ended_at=ended, error=snapshot.error)
        head = self._git_head()
        if head is not None:
            run.set_fact(Fact.GIT, head)
        finalize = partial(self._submit_finalize, run, snapshot)
        if self.hold_finalize:
            self._held = finalize
        else:
            finalize()
        return run

    def _may_build_git_watch(self) -> bool:
        """Whether this cell's git capture may build the work tree's watch: all but the
        first under the kernel hooks in a folder, whose build is asked of the first pause
        between cells (see `_git_captured`)."""
        base = self._base_dir
        if not self.finalize_when_quiet or base in _git_captured:
            return True
        _git_captured.add(base)
        later.warm_up(_build_git_watch, base)
        return False

    def _git_head(self) -> dict[str, Any] | None:
        """The run's commit and branch until its git fact is stored: from the git capture
        when it is done (what the stored fact will say), else read from `.git` now (a few
        file reads, each of which lets the GIL go while the tracker's threads are busy)."""
        capture = self._git
        if capture is not None and capture.done():
            try:
                state = capture.result()
            except BaseException:  # noqa: BLE001 - reported by _finalize; read .git instead
                return _quick_git(self._base_dir)
            if not state.get("repo"):
                return None
            return {k: state.get(k) for k in ("root", "commit", "branch")}
        return _quick_git(self._base_dir)

    def _submit_finalize(self, run: ActiveRun, snapshot: _Snapshot) -> None:
        if not self.finalize_when_quiet:
            lifecycle.track_pending(background().submit(self._finalize, run, snapshot))
        elif snapshot.files or self.options.data_paths:
            # the files now, as the cell left them (the next cells may change them); the rest
            # once the kernel is quiet
            lifecycle.track_pending(background().submit(self._hash_files_then_wait, run, snapshot))
        else:
            self._finalize_when_quiet(run, snapshot)

    def _hash_files_then_wait(self, run: ActiveRun, snap: _Snapshot) -> None:
        snap.file_records = self._try(
            "data files", lambda: self._file_records(run.store, run.id, snap)
        )
        self._finalize_when_quiet(run, snap)

    def _finalize_when_quiet(self, run: ActiveRun, snap: _Snapshot) -> None:
        later.submit(FINALIZE_POOL, later.FINALIZE_WAIT_S, self._finalize, run, snap)

    def release_finalize(self) -> None:
        """Start the finalisation that `end` held back (`hold_finalize`). The kernel hooks
        hold it while they show the card: its Python work on the tracker's threads would
        otherwise take the GIL from the hook, and every call of the hook's that lets the
        GIL go (a store read, a message to the front end) would wait up to a switch
        interval (5 ms) to get it back."""
        held, self._held = self._held, None
        if held is not None:
            held()

    @property
    def scored(self) -> list[tuple[Any, str | None]]:
        """(estimator, X's name) of each `.score` the cell made (capture/metric_calls.py)."""
        return list(self._calls.scored) if self._calls is not None else []

    def end_with(self, status: Status | None, error: BaseException | None) -> None:
        """`ActiveRun.end`'s hook: end with `status` (None: what `error` implies)."""
        self.end(error, status=status)

    def _stop_captures(self, snap: _Snapshot) -> None:
        if self._calls is not None:
            self._calls.stop()
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
            # lazy, as every capture: loaded by the first run
            from ..capture.outputs import snapshot_new_figures

            # figures the cell displayed are kept as displayed (self.figures); the ones still
            # open are copied now and drawn in _finalize, off the cell's path
            snap.figures = list(self.figures)
            snap.open_figures = snapshot_new_figures(self._figures_before)

    def _read_namespace(self, snap: _Snapshot, result: Any) -> None:
        """Params, metric-like names, estimators and datasets: read now, while the namespace
        still holds what this cell left in it."""
        # lazy, as every capture: loaded by the first run
        from ..capture.params import (
            analyze_cell,
            cell_params,
            metric_like,
            metrics_from_namespace,
            param_char_cap,
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
        params, snap.params_varying = cell_params(analysis, ns, lambda k: metric_like(k, pattern))
        self._guard("params", param_char_cap)  # a bad XTRACK_PARAM_MAX_CHARS, said once a run
        for pname in self.options.param_names:
            if pname in ns:
                params[pname] = ns[pname]
            else:
                self.problems.append(f"--param {pname}: no such name after the cell ran")
        assigned: list[str] = list(analysis.get("assigned_names") or [])
        snap.params = params
        metrics = metrics_from_namespace(assigned, ns, pattern)
        if result is not NO_RESULT and result is not None:
            metrics.update(result_metrics(result, pattern))
        snap.metrics = metrics
        if self._calls is not None:
            self._merge_calls(snap, assigned, result)
        names = list(dict.fromkeys([*assigned, *sorted(analysis.get("referenced_names") or ())]))
        snap.datasets = [(n, ns[n]) for n in names if n in ns and _is_dataset(ns[n])]

    def _merge_calls(self, snap: _Snapshot, assigned: list[str], result: Any) -> None:
        """Add the scores the cell computed with scikit-learn (capture/metric_calls.py), its
        loops' metric assignments, its `*scores` arrays and its searches. The user's names win:
        a call whose result the cell bound to a metric-like name is recorded under that name
        only, a name assigned in a loop keeps its history rather than its last value."""
        # lazy, as every capture: loaded by the first run
        from ..capture.metric_calls import mean_std, score_arrays

        calls, ns, metrics = self._calls, self.info.user_ns, snap.metrics
        assert ns is not None and self.run is not None
        for name, _, _ in calls.loop_points:
            metrics.pop(name, None)  # its history, logged below, ends with this value
        if "result" in metrics and id(result) in calls.call_results():
            del metrics["result"]  # `clf.score(X_test, y_test)` displayed: named by the call
        renamed = {id(ns[name]) for name in metrics if name in ns}
        points: list[tuple[str, int, float]] = []
        for name, numbers in score_arrays(assigned, ns).items():
            # the list and, for `[clf.score(...) for clf in clfs]`, each score in it
            renamed.update((id(ns[name]), *map(id, ns[name] if isinstance(ns[name], list) else ())))
            points += [(name, i, v) for i, v in enumerate(numbers)]
            mean, std = mean_std(numbers)
            points += [(f"{name}_mean", 0, mean), (f"{name}_std", 0, std)]
        snap.metric_points = calls.points(renamed, set(self.run.metrics.values())) + points
        for search in calls.search_results(assigned, ns, self.options.search_top):
            snap.params.update({f"{search.params_prefix}.{k}": v for k, v in search.best_params.items()})
            if search.best_score is not None:
                metrics[search.score_name] = search.best_score
            if search.candidates:
                snap.searches.append(search)
        self.problems += calls.problems

    def _take_fingerprints(self, snap: _Snapshot) -> None:
        """Fingerprint the datasets as the cell left them (tracking/datasets.py), then let
        go of them, so a `del df` frees the memory."""
        snap.fingerprints = take(snap.datasets, defer=self.defer_fingerprints)
        snap.datasets = []

    @staticmethod
    def ctx_metric_pattern() -> str | None:
        return os.environ.get("XTRACK_METRIC_PATTERN") or None

    # -- background ----------------------------------------------------------------------
    def _finalize(self, run: ActiveRun, snap: _Snapshot) -> None:
        """Everything that may happen after the cell returned: hashing, git, blobs, writes."""
        facts: dict[str, Any] = {}
        store = run.store
        info = self.info
        guarded = self._try

        # lazy, as every capture: loaded by the first run
        from ..capture.redact import redact

        if info.source:
            src_hash = guarded("code", lambda: store.put_blob(redact(info.source).encode()))
            code: CodeFact = {
                "hash": src_hash,
                "kind": info.kind,
                "script_path": info.script_path,
                "lines": info.source.count("\n") + 1,
            }
            facts[Fact.CODE] = code
        if info.history:
            facts[Fact.LINEAGE] = guarded("lineage", lambda: self._lineage_fact(store))
        if info.notebook_path:
            facts[Fact.NOTEBOOK] = guarded("notebook snapshot", lambda: self._notebook_fact(store))
        facts[Fact.ENV] = guarded(
            "environment", lambda: _env_fact(store, snap.modules, snap.environ)
        )
        facts[Fact.GIT] = guarded("git", lambda: self._git_fact(store))
        facts[Fact.RESOURCES] = snap.resources
        facts[Fact.ERROR] = snap.error
        facts[Fact.STDIO] = guarded("stdout/stderr", lambda: _stdio_fact(store, snap))
        files = snap.file_records
        if files is None:
            files = guarded("data files", lambda: self._file_records(store, run.id, snap))
        facts[Fact.DATASETS] = guarded("datasets", lambda: _datasets(snap))
        figures: list[tuple[str, str, int]] = []
        for i, png in enumerate(snap.figures):
            blob = guarded("figure", partial(store.put_blob, png))
            if blob:
                figures.append((f"figure-{i + 1}.png", blob, len(png)))
        for search in snap.searches:
            guarded("search candidates", partial(_record_candidates, self.ctx, run, search))
        if run.flagged_params:
            facts[Fact.PARAMS_FLAGGED] = list(run.flagged_params)
        if snap.params_varying:
            facts[Fact.PARAMS_VARYING] = snap.params_varying
        if self.problems:
            facts[Fact.CAPTURE_PROBLEMS] = list(self.problems)
            self.ctx.warn_once(
                "capture:" + self.problems[0][:40],
                f"run #{run.number}: some facts could not be captured: {'; '.join(self.problems)}",
            )
        lifecycle.store_run(self.ctx, run, facts, files=files or (), figures=figures)
        # the figures left open: drawn when the kernel is quiet, numbered after the displayed
        figures_later.draw_when_quiet(self.ctx, run, snap.open_figures, len(snap.figures) + 1)
        inherit.pass_on(self.ctx, run)  # a search's trials run where their parent ran

    def _lineage_fact(self, store: RunStore) -> LineageFact:
        # lazy, as every capture: loaded by the first run
        from ..capture.code import LineageEncoder

        global _lineage
        if _lineage is None:
            _lineage = LineageEncoder()
        history = [(n, _redacted_source(src)) for n, src in self.info.history]
        data = _lineage.encode(history, language_version=sys.version.split()[0])
        return {"hash": store.put_blob(data), "cells": len(history)}

    def _notebook_fact(self, store: RunStore) -> dict[str, Any]:
        # lazy, as every capture: loaded by the first run
        from ..capture.code import read_notebook_snapshot

        path = self.info.notebook_path
        assert path is not None
        snap = read_notebook_snapshot(path)
        data = snap.pop("bytes", None)
        if data is not None:
            snap["hash"] = store.put_blob(data)
        return snap

    def _git_fact(self, store: RunStore) -> GitFact | None:
        if self._git is None:
            return None
        state: dict[str, Any] = dict(self._git.result())
        diff = state.pop("diff", None)
        if diff:
            state[GIT_DIFF_HASH] = store.put_blob(diff.encode())
            state[GIT_DIFF_BYTES] = len(diff)
        notebooks = state.pop(GIT_STRIPPED_NOTEBOOKS, None)
        if notebooks is not None:  # their stripped sides, as blobs (the same across runs)
            state[GIT_STRIPPED_NOTEBOOKS] = [
                GitNotebookFact(
                    path=nb["path"],
                    base_hash=store.put_blob(nb["base"]) if nb["base"] is not None else None,
                    work_hash=store.put_blob(nb["work"]) if nb["work"] is not None else None,
                )
                for nb in notebooks
            ]
        return state  # type: ignore[return-value]  # capture.git's dict, GitFact's keys

    def _file_records(self, store: RunStore, run_id: str, snap: _Snapshot) -> list[dict[str, Any]]:
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
        self._try(what, fn)

    def _try(self, what: str, fn: Callable[[], Any]) -> Any:
        """`fn()`, or None with the problem noted in the run: never an exception."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - capture must never break the cell
            self.problems.append(f"{what}: {type(exc).__name__}: {exc}")
            return None


@dataclass
class _Snapshot:
    resources: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    figures: list[bytes] = field(default_factory=list)
    open_figures: list[Any] = field(default_factory=list)  # capture.outputs.FigureSnapshot
    params: dict[str, Any] = field(default_factory=dict)
    params_varying: dict[str, ParamVariation] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    metric_points: list[tuple[str, int, float]] = field(default_factory=list)  # name, step, value
    searches: list[Any] = field(default_factory=list)  # capture.metric_calls.SearchResult
    datasets: list[tuple[str, Any]] = field(default_factory=list)
    fingerprints: CellDatasets | None = None
    error: ErrorFact | None = None
    # for a finalisation that waits for a quiet kernel: sys.modules' names and the
    # environment variables as the cell left them, its files' records hashed before the wait
    modules: list[str] | None = None
    environ: dict[str, str] | None = None
    file_records: list[dict[str, Any]] | None = None


def _record_candidates(ctx: TrackerContext, run: ActiveRun, search: Any) -> None:
    """The best candidates of a `*SearchCV` fitted in the cell, as finished child runs of its
    run (kind trial, named after the search and the rank), each with its params and CV
    scores, as MLflow's autolog records them. Light runs, as a sweep's trials, opened through
    the lifecycle directly (tracking/search_runs.py imports this module's users). They run
    where their parent ran: its notebook cell now, its code, env and git once it is stored."""
    inherit.expect_children(run.id)
    for rank, (params, scores) in enumerate(search.candidates, 1):
        child = lifecycle.open_run(
            ctx, name=f"{search.name} #{rank}", experiment=run.experiment,
            tags={"xtrack.search": search.name}, parent_id=run.id, kind="trial", push=False,
            notebook_path=run.notebook_path, cell_id=run.cell_id,
        )
        child.log_params(**params)
        child.log(None, **scores)
        lifecycle.close_run(ctx, child, "finished", ended_at=time.time())
        lifecycle.store_run(ctx, child, inherit.context_for(run.id, child.id, {}))


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
    return snap.fingerprints.result() if snap.fingerprints is not None else []


def _stdio_fact(store: RunStore, snap: _Snapshot) -> StdioFact | None:
    # lazy, as every capture: loaded by the first run
    from ..capture.redact import redact

    fact: dict[str, Any] = {}
    for name, text, truncated in zip(
        STDIO_STREAMS,
        (snap.stdout, snap.stderr),
        (snap.stdout_truncated, snap.stderr_truncated),
        strict=True,
    ):
        if text:
            fact[name] = store.put_blob(redact(text).encode())
            fact[f"{name}_bytes"] = len(text)
            if truncated:
                fact[f"{name}_truncated"] = True
    return fact or None  # type: ignore[return-value]  # StdioFact's keys, per stream


# The last environment stored: (key, serialised bytes, summary). One entry: a key repeats
# only while nothing is installed or imported, and then it is the last one.
_env_last: tuple[tuple[Any, ...], bytes, dict[str, Any]] | None = None


def _env_fact(
    store: RunStore, modules: list[str] | None = None, environ: dict[str, str] | None = None
) -> EnvFact:
    """The environment as a blob plus a small summary. Serialised again only when the
    installed packages (capture.env's signature: a stat per sys.path folder), the
    imported ones or the allowed env vars changed; `put_blob` of bytes already stored writes
    nothing."""
    global _env_last
    # lazy, with the environment capture: both load with the first run
    import orjson

    # lazy, as every capture: loaded by the first run
    from ..capture.env import imported_with_signature, static_environment
    from ..capture.redact import allowed_env

    if _static_env is not None and _static_env_started.is_set():
        _static_env.result()  # the prefetch is computing it: wait rather than do it twice
    signature, imported = imported_with_signature(list(sys.modules) if modules is None else modules)
    env_vars = allowed_env(os.environ if environ is None else environ)
    key = (signature, *sorted(imported), "|", *sorted(f"{k}={v}" for k, v in env_vars.items()))
    last = _env_last
    if last is None or last[0] != key:
        static = static_environment()
        full = {**static, "imported": imported, "env_vars": env_vars}
        summary = {
            "python": (static.get("python") or {}).get("version"),
            "platform": (static.get("platform") or {}).get("system"),
            "packages": len(static.get("packages") or {}),
            "imported": len(imported),
        }
        last = _env_last = (key, orjson.dumps(full, option=orjson.OPT_SORT_KEYS), summary)
    _, data, summary = last
    return cast("EnvFact", {"hash": store.put_blob(data), **summary})


_redacted: dict[str, str] = {}
# The lineage notebooks' encoder: keeps each history cell encoded (capture.code)
_lineage: LineageEncoder | None = None


def _redacted_source(source: str) -> str:
    """Redacted cell source, remembered: the lineage repeats every earlier cell each run."""
    done = _redacted.get(source)
    if done is None:
        # lazy, as every capture: loaded by the first run
        from ..capture.redact import redact

        done = _redacted[source] = redact(source)
    return done


def _quick_git(path: str) -> dict[str, Any] | None:
    try:
        # lazy, as every capture: loaded by the first run
        from ..capture.git import git_head

        return git_head(path)
    except Exception:  # noqa: BLE001
        return None


_cache: Any = None


def _hash_cache() -> Any:
    global _cache
    if _cache is None:
        # lazy, as every capture: loaded by the first run
        from ..capture.data import HashCache

        _cache = HashCache()
    return _cache


_file_recorder_instance: Any = None


def _file_recorder(factory: Any) -> Any:
    """One FileAccessRecorder per process (its audit hook cannot be removed)."""
    global _file_recorder_instance
    if _file_recorder_instance is None:
        _file_recorder_instance = factory()
    return _file_recorder_instance


def relative_to_dir(path: str, base: str | None) -> str:
    """`path` relative to `base` when it lies inside it, else unchanged (absolute)."""
    if not base:
        return path
    try:
        return Path(path).resolve().relative_to(Path(base).resolve()).as_posix()
    except (ValueError, OSError):
        return path
