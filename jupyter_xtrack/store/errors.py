"""The store's exceptions: each message names the store or the thing at fault and the fix."""

from __future__ import annotations


class StoreError(Exception):
    """The run store cannot do what was asked (missing, read-only, full, damaged, locked).

    `retryable` is true when trying again later may succeed (the store was locked by
    another process for longer than the busy timeout).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class UnknownRunError(StoreError, LookupError):
    """A run reference (id, id prefix or number) matches no run, or more than one."""


class FilterError(StoreError, ValueError):
    """A run filter or ordering could not be parsed.

    The message repeats the filter with a caret under the offending token; `position`
    is that token's 0-based offset in `text`.
    """

    def __init__(self, message: str, *, text: str = "", position: int = 0) -> None:
        self.reason = message
        self.text = text
        self.position = position
        shown = f"{message}\n  {text}\n  {' ' * position}^" if text else message
        super().__init__(shown)
