"""What the API answers, as plain JSON-able data read from the store.

`StoreReader` opens the store lazily (a server started before the first tracked cell
finds it once it exists, and never creates one by looking). Every method is blocking and
is called from the handlers through `StoreReader.call`, i.e. on a worker thread, never on
the server's event loop.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..facts import (
    GIT_DIFF,
    NOT_STORED_TAG,
    STDERR,
    STDOUT,
    Fact,
    blob_of,
    fact_of,
    git_diff_blob,
    stdio_blob,
)
from ..optimize.scoring import metric_direction
from ..records.compare import compare_runs
from ..records.formatting import param_mark_help, param_marks
from ..records.run import Run
from ..store import open_store_for_reading
from ..store.blobs import hashes_in
from ..store.codec import dumps
from ..store.errors import BlobUnavailableError, StoreError
from ..store.liveness import current_user
from ..store.location import check_store_folder, redact
from ..store.query import MAX_FILTER_CHARS, as_filter, compile_filter, compile_order, resolve_field
from ..store.table import BASE_COLUMNS, is_system_column
from .config import XTrack, is_database_url
from .downsample import downsample_history
from .encoding import jsonable
from .errors import RequestError
from .facets import user_counts
from .groups import group_runs
from .heavy import DiffJob
from .jobs import list_jobs, request_cancel
from .preview import preview_file
from .reproductions import reproduction_links, start_reproduction
from .safe_paths import check_artifact_name

if TYPE_CHECKING:
    from ..store.contract import RunStore

# A param sampled log-uniform in a sweep's stored space: "lr=loguniform(1e-4, 1e-1)".
_LOG_SPACE = re.compile(r"([\w.\-]+)\s*=\s*log(?:uniform|int)\s*\(")

T = TypeVar("T")

DIFF_KINDS = (Fact.NOTEBOOK, Fact.LINEAGE)
MAX_COMPARE = 500
# How long a store that could not be opened answers its error again before a new try.
RETRY_OPEN_S = 2.0
MAX_KEPT_FACETS = 64
# Media types a browser may show in place; everything else is sent as a download.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
     "application/json"}
)


class ServedFile:
    """A file inside the store to send: its resolved path, media type and download name."""

    def __init__(self, path: Path, media_type: str, name: str) -> None:
        self.path = path
        self.media_type = media_type
        self.name = name

    @property
    def inline(self) -> bool:
        """Whether the browser may render it in place (images, plain text, JSON)."""
        return self.media_type in INLINE_TYPES


class StoreReader:
    """Read access to one store for the API (see the module docstring)."""

    def __init__(
        self, location: str | Path, config: XTrack | None = None, *, root_dir: str | None = None
    ) -> None:
        self.location = str(location)
        # The local folder of a folder store; None for a store on a database server.
        self.folder = None if is_database_url(self.location) else Path(self.location)
        # What users see: the location with a URL's credentials masked.
        self.shown = redact(self.location)
        self.root_dir = root_dir
        self._failed_at: tuple[float, StoreError] | None = None
        # GET users' answers by (filter, experiment), with the change signature they hold for.
        self._users: dict[tuple[str | None, str | None], tuple[object, list[Any], bool]] = {}
        self.config = config or XTrack()
        self._store: RunStore | None = None
        self._lock = threading.Lock()
        self._blob_cache = BlobCache()
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xtrack-api")
        # Metric histories (and comparisons with them) can read millions of points: they
        # queue on threads of their own, so that the table and the run details never wait
        # behind them. Notebook diffs are not run here at all (heavy.DiffWorkers).
        self.history_executor = ThreadPoolExecutor(max_workers=2,
                                                   thread_name_prefix="xtrack-history")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking `fn(*args)` on the reader's worker threads."""
        return await self._on(self.executor, fn, *args)

    async def call_history(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking `fn(*args)`, which reads metric histories, on the history threads."""
        return await self._on(self.history_executor, fn, *args)

    @staticmethod
    async def _on(executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, lambda: fn(*args))

    # -- the store -----------------------------------------------------------------
    def exists(self) -> bool:
        """Whether there is a store to read yet: a folder store's database file exists, a
        database server's store can be opened."""
        if self.folder is not None:
            return (self.folder / "xtrack.db").is_file()
        try:
            return self.store() is not None
        except StoreError:
            return False

    def store(self) -> RunStore | None:
        """The open store, or None while a folder store does not exist. StoreError when it
        exists but cannot be opened (unreadable, damaged, a database server that does not
        answer) or its path is a file. A store that cannot be written is opened read-only:
        it is served, and changes to it answer 503."""
        if self._store is not None:
            return self._store
        if self.folder is not None:
            check_store_folder(self.folder)
            if not self.exists():
                return None
        with self._lock:
            if self._store is None:
                self._store = self._open()
        return self._store

    def _open(self) -> RunStore:
        """Open the store; a failure is answered again for RETRY_OPEN_S without trying, so
        a database server that is down is not asked on every poll of every client."""
        failed = self._failed_at
        if failed is not None and time.monotonic() - failed[0] < RETRY_OPEN_S:
            raise failed[1]
        try:
            store = open_store_for_reading(self.location)
        except StoreError as exc:
            error = StoreError(redact(str(exc)), retryable=exc.retryable)
            self._failed_at = (time.monotonic(), error)
            raise error from None
        self._failed_at = None
        return store

    def change_signature(self) -> object:
        """The store's `change_signature()`, or None while there is no store: the change
        feed compares it between polls (blocking: call it through `call`)."""
        store = self.store()
        return None if store is None else store.change_signature()

    def need_store(self) -> RunStore:
        """The open store; RequestError 404 (reason no_store) while there is none."""
        store = self.store()
        if store is None:
            raise RequestError(
                404, f"there is no run store at {self.shown} yet: track a cell with %%track "
                "(after %load_ext jupyter_xtrack) and its run appears here", reason="no_store",
            )
        return store

    def close(self) -> None:
        """Close the store and stop the worker threads."""
        for executor in (self.executor, self.history_executor):
            executor.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()

    # -- endpoints -----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Where the store is and whether it can be read: state ok, missing or error."""
        out: dict[str, Any] = {"store": self.shown, "state": "missing", "runs": 0}
        try:
            store = self.store()
            if store is not None:
                out["runs"] = store.query_runs(limit=0, columns=[]).total
                out["state"] = "ok"
        except StoreError as exc:
            out.update(state="error", message=redact(str(exc)))
        return out

    def page(
        self,
        filter: str | None,
        order_by: str | None,
        offset: int,
        limit: int,
        columns: Sequence[str] | None,
        experiment: str | None = None,
        parent_id: str | None = None,
        group_by: str | None = None,
        nest: bool = False,
    ) -> dict[str, Any]:
        """One page of runs: base columns plus the params/metrics/tags columns matching
        `columns` (globs; None means all), with the total the filter matched. Each row
        has `children_count`; `system` lists the columns that are the tracker's
        bookkeeping. With `group_by`, `groups` splits every matched run by that column
        (see server/groups.py), aggregating the metrics that `columns` selects (globs
        allowed; all metrics when absent). With `nest` and a filter, the page lists the
        top of the matched runs' tree (see `_nested`)."""
        limit = max(0, min(limit, self.config.max_page))
        offset = max(0, offset)
        store = self.store()
        if store is None:
            # Still validate the filter, so a typo shows before the first run exists.
            compile_filter(filter)
            compile_order(order_by)
            return {"runs": [], "columns": [], "system": [], "total": 0, "offset": offset,
                    "limit": limit, "store_state": "missing",
                    **({"groups": [], "truncated": False} if group_by else {})}
        order = [o.strip() for o in order_by.split(",") if o.strip()] if order_by else None
        nesting = None
        if nest and filter and not parent_id and not group_by:
            nesting = _nested(store, filter, experiment)
            filter = nesting.top_filter if nesting else filter
        marker = f"tags.{NOT_STORED_TAG}"  # read always: it decides `incomplete`
        extra = columns is not None and marker not in columns
        table = store.query_runs(
            filter or None, experiment=experiment, order_by=order, limit=limit, offset=offset,
            columns=[*columns, marker] if extra and columns is not None else columns,
            parent_id=parent_id,
        )
        rows = table.rows()
        counts = store.child_counts([row["id"] for row in rows]) if rows else {}
        for row in rows:
            row["incomplete"] = bool(row.pop(marker) if extra else row.get(marker))
            row["children_count"] = counts.get(row["id"], 0)
        if nesting is not None:
            nesting.mark(rows)
        shown = [c for c in table.columns if not (extra and c == marker)]
        page = {
            "runs": jsonable(rows),
            "columns": shown,
            "system": [c for c in shown if is_system_column(c)],
            "total": table.total,
            "offset": offset,
            "limit": limit,
            "store_state": "ok",
        }
        if nest and filter and not parent_id and not group_by:
            page["nested"] = nesting is not None
            if nesting is not None:
                page["matched"] = nesting.matched(table.total)
        if group_by:
            page.update(self._groups(store, filter, experiment, parent_id, group_by, columns))
        return page

    @staticmethod
    def _groups(
        store: RunStore, filter: str | None, experiment: str | None, parent_id: str | None,
        group_by: str, columns: Sequence[str] | None,
    ) -> dict[str, Any]:
        """Every run the filter matched, split by `group_by` (a table column)."""
        field = resolve_field(group_by.strip(), text=group_by)
        if field.namespace is None and field.name not in BASE_COLUMNS:
            raise RequestError(400, f"cannot group by {group_by!r}: group by a params, "
                               f"metrics or tags column or one of {', '.join(BASE_COLUMNS)}")
        patterns = [c for c in columns or ("metrics.*",) if c.startswith("metrics.")]
        wanted = [*patterns, *([field.name] if field.namespace else [])]
        table = store.query_runs(filter or None, experiment=experiment, parent_id=parent_id,
                                 columns=wanted)
        metrics = [c for c in table.columns if c.startswith("metrics.") and c != field.name]
        return group_runs(table, field.name, metrics)

    def run(self, ref: str) -> dict[str, Any]:
        """Everything captured for one run, with its blobs' text inlined: code, git diff,
        environment, stdout/stderr; inputs carry the run that produced them."""
        store = self.need_store()
        record = store.get_run(ref)
        cap = self.config.max_text_bytes
        detail: dict[str, Any] = dict(record)
        detail["code_text"] = self._text(store, blob_of(record, Fact.CODE), cap)
        git = fact_of(record, Fact.GIT)
        diff_ref = git_diff_blob(record)
        if diff_ref:
            git[GIT_DIFF] = self._text(store, diff_ref, cap)
        detail[Fact.GIT] = git or None
        detail["env_full"] = self._json_blob(store, blob_of(record, Fact.ENV))
        detail[STDOUT] = self._text(store, stdio_blob(record, STDOUT), cap)
        detail[STDERR] = self._text(store, stdio_blob(record, STDERR), cap)
        for entry in detail["inputs"]:
            producer = None
            if entry.get("hash"):
                producer_id = store.producer_of(entry["hash"], exclude_run=record["id"])
                if producer_id is not None:
                    producer = _brief(store.get_run(producer_id))
            entry["producer"] = producer
        detail[Fact.DATASETS] = _datasets_with_producers(store, record)
        detail["parent"] = _brief(store.get_run(record["parent_id"])) if record.get(
            "parent_id") else None
        detail["metric_keys"] = sorted(record.get("metrics") or {})
        # Only these have points to chart: a metric read from the namespace has none.
        detail["history_keys"] = store.metric_keys(record["id"])
        detail["notebook_relpath"] = self._relpath(record.get("notebook_path"))
        detail["has_notebook"] = bool(blob_of(record, Fact.NOTEBOOK))
        detail["has_lineage"] = bool(blob_of(record, Fact.LINEAGE))
        detail["incomplete"] = bool(record.get(Fact.NOT_STORED))
        detail.update(reproduction_links(store, record))
        detail["param_marks"] = {k: _mark_json(t) for k, t in param_marks(record).items()}
        return cast(dict[str, Any], jsonable(detail))

    def metric(self, ref: str, name: str, max_points: int | None) -> dict[str, Any]:
        """One metric's history, downsampled to `max_points` keeping min/max shape."""
        store = self.need_store()
        run_id = store.resolve_ref(ref)
        history = store.metric_history(run_id, name)
        if not history["value"]:
            known = ", ".join(store.metric_keys(run_id)) or "none"
            raise RequestError(
                404, f"run {ref} has no metric {name!r} (its metrics: {known})",
                reason="unknown_metric",
            )
        out = downsample_history(history, max_points)
        out.update(run=run_id, name=name)
        return cast(dict[str, Any], jsonable(out))

    def artifact(self, ref: str, name: str) -> ServedFile:
        """The file of artifact `name` of run `ref`, checked to stay inside the store."""
        check_artifact_name(name)
        store = self.need_store()
        run_id = store.resolve_ref(ref)
        for art in store.artifacts(run_id):
            if art["name"] == name:
                path = _blob_file(store, art["hash"])
                media = art.get("media_type") or _guess_type(name)
                return ServedFile(path, media, name.rsplit("/", 1)[-1])
        known = ", ".join(a["name"] for a in store.artifacts(run_id)) or "none"
        raise RequestError(
            404, f"run {ref} has no artifact {name!r} (its artifacts: {known})",
            reason="unknown_artifact",
        )

    def preview(self, ref: str, name: str) -> dict[str, Any]:
        """A bounded preview of artifact `name` of run `ref` (server/preview.py)."""
        served = self.artifact(ref, name)
        return cast(dict[str, Any], jsonable(preview_file(served.path, name, served.media_type)))

    def blob(self, ref: str, blob_hash: str) -> ServedFile:
        """A blob the run refers to (its code, notebook, env, git diff, files...). Blobs
        other runs refer to are not served through this run."""
        store = self.need_store()
        record = store.get_run(ref)
        if blob_hash not in hashes_in(dumps(record)):
            raise RequestError(
                404, f"run #{record['number']} does not refer to blob {blob_hash:.60}",
                reason="unknown_blob",
            )
        path = _blob_file(store, blob_hash)
        return ServedFile(path, "application/octet-stream", blob_hash.replace(":", "-"))

    def compare(
        self,
        refs: Sequence[str],
        metrics: Sequence[str],
        max_points: int | None,
        auto_metric: bool = False,
    ) -> dict[str, Any]:
        """Params, metrics, env, git, data and code differences of 2..500 runs, plus the
        histories of `metrics` for each run (downsampled), for overlaid charts. With
        `auto_metric` and no `metrics`, the histories of the first metric (by name) that some
        run logged more than once, so a client can draw a chart from its first answer."""
        if not 2 <= len(refs) <= MAX_COMPARE:
            raise RequestError(
                400, f"compare needs 2 to {MAX_COMPARE} runs (got {len(refs)}); "
                "give them as ids=a,b,c",
            )
        store = self.need_store()
        blobs = _CachingBlobs(store, self._blob_cache)
        runs = [Run(store.get_run(ref), cast("RunStore", blobs)) for ref in refs]
        comparison = compare_runs(runs)
        sections = {
            name: {key: {"values": values, "differs": comparison.differs(values)}
                   for key, values in rows.items()}
            for name, rows in comparison.sections()
        }
        histories: dict[str, dict[str, Any]] = {}
        if auto_metric and not metrics:
            metrics = self._first_charted_metric(store, runs, sorted(sections.get("metrics", {})))
        for name in metrics:
            per_run: dict[str, Any] = {}
            for run in runs:
                history = store.metric_history(run.id, name)
                if history["value"]:
                    per_run[run.id] = downsample_history(history, max_points)
            histories[name] = per_run
        return cast(dict[str, Any], jsonable({
            "runs": [_brief_run(r) for r in runs],
            "labels": comparison.labels,
            "sections": sections,
            "code_diffs": comparison.code_diffs,
            "histories": histories,
            **self._directions(store, runs, list(sections.get("metrics", {}))),
            "log_params": self._log_params(store, runs),
            "param_marks": _compare_marks([r.param_marks for r in runs]),
            # Which runs carry an xt.evaluate report: the sidebar fetches those runs' details
            # for its Evaluation overlay (the reports, with their curves, are too large to send
            # for up to MAX_COMPARE runs here).
            "evaluated": [r.id for r in runs if r.record.get(Fact.EVALUATION)],
        }))

    @staticmethod
    def _directions(store: RunStore, runs: Sequence[Any], names: list[str]) -> dict[str, Any]:
        """Which way each metric is better (`directions`) and how that is known
        (`direction_sources`): "recorded" when a search among the runs or their parents
        optimised that metric in a stated direction, "name" when only the name says it
        (optimize/scoring.py), null when neither does (the user may say it in Compare)."""
        recorded = _searched_directions(store, runs)
        directions: dict[str, str | None] = {}
        sources: dict[str, str | None] = {}
        for name in names:
            direction = recorded.get(name)
            source = "recorded" if direction else None
            if direction is None:
                direction = metric_direction(name)
                source = "name" if direction else None
            directions[name], sources[name] = direction, source
        return {"directions": directions, "direction_sources": sources}

    @staticmethod
    def _log_params(store: RunStore, runs: Sequence[Any]) -> list[str]:
        """The params the runs' sweeps sampled log-uniform, read from each parent's stored
        space (param `sweep.space`), so charts put them on log axes."""
        names: set[str] = set()
        for parent in {r.parent_id for r in runs if r.parent_id}:
            try:
                space = store.get_run(parent).get("params", {}).get("sweep.space")
            except StoreError:
                continue
            if isinstance(space, str):
                names.update(_LOG_SPACE.findall(space))
        return sorted(names)

    @staticmethod
    def _first_charted_metric(store: RunStore, runs: Sequence[Any], names: Sequence[str]) -> list[str]:
        """[the first of `names` some run has a history of 2+ points for], else the first
        name, else []."""
        for name in names:
            for run in runs:
                if len(store.metric_history(run.id, name)["value"]) > 1:
                    return [name]
        return list(names[:1])

    def diff_job(self, a: str, b: str, kind: str) -> DiffJob:
        """What nbdime's diff of two runs' notebooks needs (`kind` notebook: the saved file;
        lineage: the cells the session executed up to the run), read and checked against
        the size limits before any work starts: RequestError 413 names the limit. The diff
        itself runs in a worker process (`heavy.DiffWorkers`), never on these threads."""
        if kind not in DIFF_KINDS:
            raise RequestError(400, f"unknown diff kind {kind!r}; use kind=notebook or "
                               "kind=lineage")
        store = self.need_store()
        sides = []
        for ref in (a, b):
            record = store.get_run(ref)
            blob = blob_of(record, kind)
            if not blob:
                hint = ("its notebook file was not known when it ran; try kind=lineage"
                        if kind == Fact.NOTEBOOK else "it was not run from a notebook session")
                raise RequestError(
                    404, f"run #{record['number']} has no {kind} snapshot ({hint})",
                    reason="no_notebook",
                )
            sides.append((record, blob))
        for record, blob in sides:
            self._check_diff_bytes(record, kind, _blob_file(store, blob).stat().st_size)
        data = [_blob_bytes(store, blob) for _, blob in sides]
        for (record, _), side in zip(sides, data, strict=True):
            self._check_diff_cells(record, kind, side)
        return DiffJob(
            names=(f"#{sides[0][0]['number']}", f"#{sides[1][0]['number']}"),
            sides=(data[0], data[1]),
            head=jsonable({"kind": kind, "a": _brief(sides[0][0]), "b": _brief(sides[1][0])}),
        )

    def _check_diff_bytes(self, record: Mapping[str, Any], kind: str, size: int) -> None:
        limit = self.config.max_diff_bytes
        if size > limit:
            raise RequestError(
                413, f"run #{record['number']}'s {kind} snapshot is {_size(size)} ({size:,} "
                f"bytes), over the diff limit of {_size(limit)} (c.XTrack.max_diff_bytes in "
                "jupyter_server_config.py)", reason="too_large",
            )

    def _check_diff_cells(self, record: Mapping[str, Any], kind: str, data: bytes) -> None:
        # Each cell has one "cell_type" key; inside a JSON string the quotes would be
        # escaped, so counting the quoted key counts cells without parsing the notebook.
        cells, limit = data.count(b'"cell_type"'), self.config.max_diff_cells
        if cells > limit:
            raise RequestError(
                413, f"run #{record['number']}'s {kind} snapshot has {cells:,} cells, over the "
                f"diff limit of {limit:,} (c.XTrack.max_diff_cells in jupyter_server_config.py)",
                reason="too_large",
            )

    def update(self, ref: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Rename a run and/or set tags: body {"name": str|null, "tags": {str: str}}."""
        unknown = set(body) - {"name", "tags"}
        if unknown:
            raise RequestError(400, f"unknown field(s) {', '.join(sorted(unknown))}; a run "
                               "update takes only name and tags")
        name, tags = body.get("name", ...), body.get("tags")
        if name is not ... and name is not None and not isinstance(name, str):
            raise RequestError(400, "name must be a string or null")
        if tags is not None and (
            not isinstance(tags, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise RequestError(400, 'tags must be an object of strings, e.g. {"note": "best"}')
        store = self.need_store()
        run_id = store.resolve_ref(ref)
        if name is not ...:
            store.set_name(run_id, name)
        if tags:
            store.set_tags(run_id, tags)
        return _brief(store.get_run(run_id))

    def users(self, filter: str | None, experiment: str | None) -> dict[str, Any]:
        """Who ran the runs `filter` matches, most runs first (`users`: user and runs;
        `truncated` past facets.MAX_VALUES people), and `me`: the user this server runs as
        ($XTRACK_USER, else the login name), whose runs are "Mine". An answer is kept until
        the store's change signature moves: counting reads the whole table."""
        out: dict[str, Any] = {"users": [], "me": current_user(), "truncated": False}
        store = self.store()
        if store is None:
            compile_filter(filter)  # a typo shows before the first run exists
            return out
        key, signature = (filter, experiment), store.change_signature()
        kept = self._users.get(key)
        if kept is None or kept[0] != signature:
            counts, truncated = user_counts(store, filter, experiment)
            kept = (signature, [{"user": u, "runs": n} for u, n in counts], truncated)
            with self._lock:
                if len(self._users) >= MAX_KEPT_FACETS:
                    self._users.clear()
                self._users[key] = kept
        out.update(users=kept[1], truncated=kept[2])
        return out

    def jobs(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` background jobs (none while there is no store)."""
        store = self.store()
        return [] if store is None else list_jobs(store, min(limit, self.config.max_page))

    def cancel_job(self, ref: str) -> dict[str, Any]:
        """Ask the job whose parent run is `ref` to stop."""
        return request_cancel(self.need_store(), ref)

    def reproduce(self, ref: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Start reproducing run `ref` in the background (server/reproductions.py)."""
        env = body.get("env", "current")
        if env not in ("current", "fresh") or set(body) - {"env"}:
            raise RequestError(400, 'the body is {"env": "current"} or {"env": "fresh"}',
                               reason="bad_request")
        return start_reproduction(self.need_store(), ref, str(env))

    # -- helpers ---------------------------------------------------------------------
    def _text(self, store: RunStore, blob_hash: Any, cap: int) -> str | None:
        if not blob_hash:
            return None
        try:
            data = store.get_blob(blob_hash)
        except (StoreError, ValueError):
            return None
        text = data[:cap].decode("utf-8", errors="replace")
        if len(data) > cap:
            text += f"\n… truncated ({len(data)} bytes stored; the API shows the first {cap})"
        return text

    def _json_blob(self, store: RunStore, blob_hash: Any) -> Any:
        if not blob_hash:
            return None
        try:
            return _CachingBlobs(store, self._blob_cache).json(blob_hash)
        except (StoreError, ValueError):
            return None

    def _relpath(self, path: str | None) -> str | None:
        """`path` relative to the server's root folder when it lies inside it (the form
        JupyterLab opens files by), else None."""
        root = self.root_dir
        if not path or not root:
            return None
        try:
            rel = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
        except ValueError:
            return None
        return None if rel.startswith("..") else rel.replace(os.sep, "/")


class BlobCache:
    """Small blobs (environments, mostly the same across runs) remembered between requests:
    blobs are content-addressed, so a cached one never goes stale. Thread-safe."""

    def __init__(self, max_items: int = 256, max_blob_bytes: int = 1 << 20) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._max_items = max_items
        self._max_blob_bytes = max_blob_bytes

    def get(self, store: RunStore, h: str) -> bytes:
        """The bytes of blob `h` of `store`, from memory when seen before."""
        with self._lock:
            data = self._items.get(h)
            if data is not None:
                self._items.move_to_end(h)
                return data
        data = store.get_blob(h)
        if len(data) <= self._max_blob_bytes:
            with self._lock:
                self._items[h] = data
                while len(self._items) > self._max_items:
                    self._items.popitem(last=False)
        return data


class _CachingBlobs:
    """The store as `Run` sees it, reading blobs through a BlobCache."""

    def __init__(self, store: RunStore, cache: BlobCache) -> None:
        self._store = store
        self._cache = cache

    def get_blob(self, h: str) -> bytes:
        return self._cache.get(self._store, h)

    def json(self, h: str) -> Any:
        import orjson

        return orjson.loads(self.get_blob(h))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _blob_file(store: RunStore, h: str) -> Path:
    """`store.blob_file(h)`, its refusals as 403 (a link out of the store) or 404."""
    try:
        return store.blob_file(h)
    except BlobUnavailableError as exc:
        raise _unavailable(exc) from None


def _blob_bytes(store: RunStore, h: str) -> bytes:
    """`store.get_blob(h)`, its refusals as 403 or 404."""
    try:
        return store.get_blob(h)
    except BlobUnavailableError as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: BlobUnavailableError) -> RequestError:
    if exc.refused:
        return RequestError(403, str(exc), reason="bad_path")
    return RequestError(404, str(exc), reason="missing_blob")


class _Nesting:
    """A filter's matches as a tree: the matched runs without a parent and the parents of
    the matched children (`top_filter` selects both), each parent with how many of its
    children matched; a parent that does not match itself is shown as `context`."""

    def __init__(self, filter: str, matched_children: dict[str, int], matched_parents: set[str]):
        self.matched_children = matched_children
        self.matched_parents = matched_parents
        roots = f"({as_filter(filter)}) and parent_id = null"
        if matched_children:
            ids = ", ".join(f"'{pid}'" for pid in matched_children)
            roots = f"({roots}) or id in ({ids})"
        self.top_filter = roots

    def matched(self, top_total: int) -> int:
        """How many runs the filter matched, from the number of top rows: those that are
        not context, plus the matched children."""
        context = len(self.matched_children) - len(self.matched_parents)
        return top_total - context + sum(self.matched_children.values())

    def mark(self, rows: list[dict[str, Any]]) -> None:
        """Set each top row's `context` and count only its children the filter matched
        (those its expansion lists, the client asking with the same filter)."""
        for row in rows:
            rid = row["id"]
            row["children_count"] = self.matched_children.get(rid, 0)
            row["context"] = rid in self.matched_children and rid not in self.matched_parents


def _nested(store: RunStore, filter: str, experiment: str | None) -> _Nesting | None:
    """The tree of `filter`'s matches (see `_Nesting`), or None when its parents are too
    many to name in one filter (then the page stays flat and says `nested: false`).

    Two reads besides the page: the matched children's parent ids (the filter's own
    scan, base columns only), and which of those parents match themselves (by id)."""
    compile_filter(filter)  # errors point into what the user typed, not the filter built here
    children = store.query_runs(
        f"({as_filter(filter)}) and parent_id != null", experiment=experiment, columns=[]
    ).columns["parent_id"]
    counts: dict[str, int] = {}
    for pid in children:
        counts[pid] = counts.get(pid, 0) + 1
    nesting = _Nesting(filter, counts, set())
    if len(nesting.top_filter) > MAX_FILTER_CHARS:
        return None
    if counts:
        ids = ", ".join(f"'{pid}'" for pid in counts)
        matched = store.query_runs(
            f"({as_filter(filter)}) and id in ({ids})", experiment=experiment, columns=[]
        ).columns["id"]
        nesting.matched_parents = set(matched)
    return nesting


# Where a search records the metric it optimised and its direction: a job's tags, then a
# sweep's tag and params, then AutoML's param (whose direction is its scorer's, in the job tags).
_SEARCH_METRIC = (("tags", "xtrack.job.metric"), ("params", "sweep.metric"),
                  ("params", "automl.metric"))
_SEARCH_DIRECTION = (("tags", "xtrack.job.direction"), ("tags", "xtrack.sweep.direction"),
                     ("params", "sweep.direction"))


def _first_of(record: Mapping[str, Any], places: Sequence[tuple[str, str]]) -> Any:
    for section, key in places:
        value = (record.get(section) or {}).get(key)
        if value:
            return value
    return None


def _searched_directions(store: RunStore, runs: Sequence[Any]) -> dict[str, str]:
    """metric -> direction, as the sweeps and AutoML searches among `runs` (or their
    parents, for trials) recorded them; each parent is read once."""
    records: list[Mapping[str, Any]] = [{"tags": r.tags, "params": r.params} for r in runs]
    for parent in dict.fromkeys(r.parent_id for r in runs if r.parent_id):
        try:
            records.append(store.get_run(parent))
        except StoreError:
            continue  # deleted since: its trials still compare
    out: dict[str, str] = {}
    for record in records:
        metric = _first_of(record, _SEARCH_METRIC)
        direction = _first_of(record, _SEARCH_DIRECTION)
        if isinstance(metric, str) and direction in ("maximize", "minimize"):
            out.setdefault(metric, direction)
    return out


def _datasets_with_producers(store: RunStore, record: Mapping[str, Any]) -> list[Any]:
    """The run's in-memory datasets, each with the earlier run that produced its content
    (`RunStore.dataset_producer`), or None when this run is the first to hold it."""
    out: list[Any] = []
    for entry in record.get(Fact.DATASETS) or []:
        if isinstance(entry, Mapping):
            digest, producer = entry.get("hash"), None
            if isinstance(digest, str) and digest:
                producer_id = store.dataset_producer(digest, run_id=record["id"])
                if producer_id is not None:
                    producer = _brief(store.get_run(producer_id))
            entry = {**entry, "producer": producer}
        out.append(entry)
    return out


def _brief(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("id", "number", "name", "experiment", "status")}


def _brief_run(run: Any) -> dict[str, Any]:
    return {"id": run.id, "number": run.number, "name": run.name,
            "experiment": run.experiment, "status": run.status}


def _size(n: int) -> str:
    """`n` bytes for a message: 17.2 MB, 65.9 KB, 512 bytes."""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _guess_type(name: str) -> str:
    if name.endswith(".ipynb"):
        return "application/x-ipynb+json"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _mark_json(text: str) -> dict[str, str]:
    """A param's marks as the API sends them: {text: "↻ varies", help: what it means}."""
    return {"text": text, "help": param_mark_help(text)}


def _compare_marks(per_run: Sequence[Mapping[str, str]]) -> dict[str, list[dict[str, str] | None]]:
    """Param key -> each run's marks (or null), for the params some run marks."""
    keys = sorted({k for marks in per_run for k in marks})
    return {k: [_mark_json(m[k]) if k in m else None for m in per_run] for k in keys}
