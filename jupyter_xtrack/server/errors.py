"""The one place that turns exceptions into HTTP responses.

Handlers raise; `error_response` decides the status and the JSON body the sidebar shows.
Every body has `message` (what went wrong and what to do) and `reason` (a short code the
sidebar switches on: "filter", "unknown_run", "store", "bad_request", ...).
"""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError

from ..store.errors import FilterError, FilterLimitError, StoreError, UnknownRunError
from ..store.query import MAX_FILTER_CHARS


class RequestError(Exception):
    """A request the server refuses, with the status to answer and a message naming the fix."""

    def __init__(self, status: int, message: str, *, reason: str = "bad_request",
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # seconds, sent as Retry-After (503 busy)


def error_response(exc: BaseException | None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, extra headers) for an exception raised by a handler."""
    if isinstance(exc, RequestError):
        headers = {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        return exc.status, {"message": str(exc), "reason": exc.reason}, headers
    if isinstance(exc, FilterError):
        body = {
            "message": str(exc),
            "reason": "filter",
            "filter": exc.text[:MAX_FILTER_CHARS],
            "position": exc.position,
            "detail": exc.reason,
        }
        if isinstance(exc, FilterLimitError):
            body["limit"] = exc.limit
        return 400, body, {}
    if isinstance(exc, UnknownRunError):
        return 404, {"message": str(exc), "reason": "unknown_run"}, {}
    if isinstance(exc, StoreError):
        headers = {"Retry-After": "1"} if exc.retryable else {}
        return 503, {"message": str(exc), "reason": "store"}, headers
    if isinstance(exc, HTTPError):
        message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
        return exc.status_code, {"message": message or exc.reason or "", "reason": "http"}, {}
    return (
        500,
        {"message": "internal error in the xtrack server extension; see the server log",
         "reason": "internal"},
        {},
    )
