"""Thin async handlers: parse the request, call the StoreReader on a worker thread, send
JSON. Every method is `@authenticated` and `@authorized` on the "xtrack" resource, and
every error goes through `errors.error_response`."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from ..store.ids import INT64_MAX, run_number
from ..store.query import combine_filters
from .encoding import encode
from .errors import RequestError, error_response
from .feed import ChangeFeed
from .heavy import DiffJob, DiffWorkers
from .reader import ServedFile, StoreReader

AUTH_RESOURCE = "xtrack"
_CHUNK = 1 << 20
_INTEGER = re.compile(r"\s*+([+-]?)([0-9]++)\s*+")  # possessive: no backtracking


class XTrackHandler(APIHandler):
    """Base of every xtrack API handler: its reader, feed and diff workers, argument parsing,
    errors."""

    auth_resource = AUTH_RESOURCE
    reader: StoreReader
    feed: ChangeFeed
    diffs: DiffWorkers

    def initialize(self, reader: StoreReader, feed: ChangeFeed, diffs: DiffWorkers) -> None:
        self.reader = reader
        self.feed = feed
        self.diffs = diffs

    # -- replies ---------------------------------------------------------------------
    def reply(self, payload: Any) -> None:
        """Send `payload` (JSON-able, non-finite floats already named) as the response."""
        self.set_header("Cache-Control", "no-store")
        self.finish(encode(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        headers: dict[str, str]
        if exc is None:
            status, body, headers = status_code, {"message": self._reason, "reason": "http"}, {}
        else:
            status, body, headers = error_response(exc)
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        self.clear_header("Content-Disposition")
        self.finish(encode(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        status = error_response(value)[0]
        if status >= 500 and status not in (503, 504):
            super().log_exception(typ, value, tb)
        else:
            # Refusals, a locked or missing store, a busy pool or a diff stopped at its
            # time limit are expected: no traceback.
            logging.getLogger("jupyter_xtrack.server").info(
                "%s %s -> %s: %s", self.request.method, self.request.path, status, value
            )

    # -- arguments -------------------------------------------------------------------
    def int_arg(self, name: str, default: int | None, low: int = 0) -> int | None:
        """Query argument `name` as an integer from `low` to 2**63 - 1 (RequestError 400
        otherwise: SQLite cannot take a larger one)."""
        text = self.get_argument(name, None)
        if text is None or text == "":
            return default
        match = _INTEGER.fullmatch(text)
        if match is None:
            raise RequestError(400, f"{name} must be a whole number, not {text!r:.40}")
        sign, digits = match.groups()
        digits = digits.lstrip("0") or "0"
        # Past 19 digits it is out of range (and int() of a huge string is slow).
        value = int(digits) if len(digits) <= 19 else INT64_MAX + 1
        value = -value if sign == "-" else value
        if value < low:
            raise RequestError(400, f"{name} must be at least {low} (got {value})")
        if value > INT64_MAX:
            raise RequestError(400, f"{name} must be at most {INT64_MAX} (got {text:.40})")
        return value

    def history_points(self, default: int | None) -> int:
        """Query argument max_points (`default` when absent), at most the server's
        max_history_points, so that no response carries a history of millions of points."""
        cap = self.reader.config.max_history_points
        return min(self.int_arg("max_points", default, low=1) or cap, cap)

    def run_ref(self, ref: str) -> str:
        """`ref` (a run id, id prefix or number), refused with 400 when it is a run number
        past 2**63 - 1, which no run can have."""
        number = run_number(ref)
        if number is not None and number > INT64_MAX:
            raise RequestError(
                400, f"run number {ref.strip():.40} is out of range; run numbers are at most "
                f"{INT64_MAX}", reason="bad_request",
            )
        return ref

    def list_arg(self, name: str) -> list[str] | None:
        """Comma-separated query argument `name` as a list (None when absent)."""
        text = self.get_argument(name, None)
        if text is None:
            return None
        return [part.strip() for part in text.split(",") if part.strip()]

    def json_object(self, example: str) -> dict[str, Any]:
        """The request's body as a JSON object. State-changing requests take
        application/json only (415 otherwise), so a cross-site form cannot send them."""
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise RequestError(
                415, f"send the request as application/json (got {ctype or 'no Content-Type'})",
                reason="content_type",
            )
        try:
            body = self.get_json_body()
        except UnicodeDecodeError:  # Jupyter decodes the body without catching this
            raise RequestError(400, f"the body is not UTF-8 text; send a JSON object, e.g. "
                               f"{example}") from None
        if not isinstance(body, dict):
            raise RequestError(400, f"the body must be a JSON object, e.g. {example}")
        return body

    async def send_file(self, served: ServedFile) -> None:
        """Stream a stored file. Anything a browser could run (HTML, SVG, notebooks, ...)
        goes out as a download; everything is sandboxed and never sniffed."""
        media = served.media_type
        if media.startswith("text/"):
            media += "; charset=utf-8"
        disposition = "inline" if served.inline else "attachment"
        self.set_header("Content-Disposition",
                        f"{disposition}; filename*=UTF-8''{quote(served.name, safe='')}")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.set_header("Content-Length", str(served.path.stat().st_size))
        self.set_header("Content-Type", media)
        try:
            with open(served.path, "rb") as fh:
                while chunk := await self.reader.call(fh.read, _CHUNK):
                    self.write(chunk)
                    await self.flush()
            await self.finish(set_content_type=media)
        except StreamClosedError:
            # The client went away mid-download (closed the tab, cancelled): nothing to do.
            logging.getLogger("jupyter_xtrack.server").debug(
                "%s %s: the client closed the connection", self.request.method, self.request.path
            )

    @property
    def content_security_policy(self) -> str:
        return super().content_security_policy + "; sandbox"


class StatusHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Where the store is and whether it can be read."""
        self.reply(await self.reader.call(self.reader.status))


class RunsHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """A page of runs: filter (repeatable: all must match), order_by, offset, limit,
        columns, experiment, parent, group_by, nest (1: a filter's matched children under
        their parents)."""
        limit = self.int_arg("limit", 100) or 0
        offset = self.int_arg("offset", 0) or 0
        page = await self.reader.call(
            self.reader.page,
            # Repeated: the user's filter or words and another view's (a chart's brush).
            combine_filters(self.get_arguments("filter")),
            self.get_argument("order_by", None),
            offset,
            limit,
            self.list_arg("columns"),
            self.get_argument("experiment", None),
            self.get_argument("parent", None),
            self.get_argument("group_by", None),
            self.get_argument("nest", "") == "1",
        )
        self.reply(page)


class UsersHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Who ran the runs a filter matches (filter repeatable, experiment), each with a
        count, and who this server's user is (the sidebar's Mine / Everyone)."""
        self.reply(await self.reader.call(
            self.reader.users, combine_filters(self.get_arguments("filter")),
            self.get_argument("experiment", None),
        ))


class RunHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str) -> None:
        """Everything captured for one run."""
        self.reply(await self.reader.call(self.reader.run, self.run_ref(id)))

    @web.authenticated
    @authorized
    async def patch(self, id: str) -> None:
        """Rename a run or set its tags (application/json only)."""
        body = self.json_object('{"name": "best"}')
        self.reply(await self.reader.call(self.reader.update, self.run_ref(id), body))


class MetricHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str, name: str) -> None:
        """One metric's history, downsampled to max_points keeping min/max shape."""
        max_points = self.history_points(None)
        self.reply(await self.reader.call_history(self.reader.metric, self.run_ref(id), name,
                                                  max_points))


class ArtifactHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str, path: str) -> None:
        """An artifact's bytes."""
        await self.send_file(await self.reader.call(self.reader.artifact, self.run_ref(id), path))


class ArtifactPreviewHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str, path: str) -> None:
        """The head of an artifact as text, a table or JSON, for the run detail."""
        self.reply(await self.reader.call(self.reader.preview, self.run_ref(id), path))


class BlobHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str, hash: str) -> None:
        """A blob the run refers to (code, notebook snapshot, environment, ...)."""
        await self.send_file(await self.reader.call(self.reader.blob, self.run_ref(id), hash))


class CompareHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Differences between runs ids=a,b,c; metrics=loss,acc adds overlaid histories;
        auto_metric=1 (without metrics) adds those of the first metric with a history."""
        ids = [self.run_ref(ref) for ref in self.list_arg("ids") or []]
        metrics = self.list_arg("metrics") or []
        max_points = self.history_points(1000)
        auto = self.get_query_argument("auto_metric", "0") in ("1", "true")
        self.reply(await self.reader.call_history(self.reader.compare, ids, metrics,
                                                  max_points, auto))


class DiffHandler(XTrackHandler):
    _work: asyncio.Future[bytes] | None = None
    _client_gone = False

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """nbdime's diff of runs a and b's notebooks (kind=notebook or lineage): checked on
        the reader's threads, computed by a diff worker process."""
        a, b = self.run_ref(self.get_argument("a")), self.run_ref(self.get_argument("b"))
        kind = self.get_argument("kind", "notebook")
        await self.answer(await self.reader.call(self.reader.diff_job, a, b, kind))

    async def answer(self, job: DiffJob) -> None:
        """Run `job` on a diff worker and send its body (nobody to answer if the client
        left)."""
        self._work = asyncio.ensure_future(self.diffs.run(job))
        try:
            body = await self._work
        except asyncio.CancelledError:
            if self._client_gone:
                return  # its worker was killed; there is nobody to answer
            raise
        self.set_header("Cache-Control", "no-store")
        self.finish(body)

    def on_connection_close(self) -> None:
        """The client went away: stop its diff (this kills the worker process)."""
        self._client_gone = True
        if self._work is not None:
            self._work.cancel()
        super().on_connection_close()


class EventsHandler(XTrackHandler):
    # A held-open poll is not user activity (it would keep an idle server alive).
    _track_activity = False

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Long poll: answers when runs changed after `cursor` (or after `timeout` s)."""
        cursor = self.int_arg("cursor", None)
        limit = self.reader.config.events_timeout_s
        try:
            timeout = float(self.get_argument("timeout", str(limit)))
        except ValueError:
            raise RequestError(400, "timeout must be a number of seconds") from None
        self.reply(await self.feed.wait(cursor, max(0.0, min(timeout, limit))))


class JobsHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Sweeps and AutoML searches (background or not), newest first, with progress."""
        limit = self.int_arg("limit", 50, low=1) or 50
        self.reply({"jobs": await self.reader.call(self.reader.jobs, limit)})


class ReproduceHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def post(self, id: str) -> None:
        """Start reproducing a run as a background job (application/json only)."""
        body = self.json_object('{"env": "current"}')
        self.reply(await self.reader.call(self.reader.reproduce, self.run_ref(id), body))


class JobCancelHandler(XTrackHandler):
    @web.authenticated
    @authorized
    async def post(self, id: str) -> None:
        """Ask a running job to stop (application/json only): it keeps its finished trials."""
        self.json_object("{}")
        self.reply({"job": await self.reader.call(self.reader.cancel_job, self.run_ref(id))})
