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


class ReadOnlyStoreError(StoreError):
    """The store cannot be written (read-only folder, file or mount; or opened read-only).
    Readers fall back to opening it read-only (`open_store_for_reading`)."""


class BlobUnavailableError(StoreError):
    """A blob's file cannot be served: it is missing, or it is not a regular file inside the
    store's blob folder (a symlink out of the store, a folder, a device). `refused` is true
    in the second case; readers show the blob as unavailable, never its target."""

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


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
        super().__init__(self._shown())

    def _shown(self) -> str:
        if not self.text:
            return self.reason
        # A long filter shows only the part around the offending token.
        start = max(0, min(self.position - _WINDOW // 2, len(self.text) - _WINDOW))
        part = self.text[start:start + _WINDOW]
        lead = "..." if start else ""
        tail = "..." if start + _WINDOW < len(self.text) else ""
        # One character shown per character, so the caret stays aligned.
        part = "".join(" " if c < " " else c for c in part).encode("utf-8", "replace").decode()
        caret = " " * (len(lead) + self.position - start) + "^"
        return f"{self.reason}\n  {lead}{part}{tail}\n  {caret}"


class FilterLimitError(FilterError):
    """A filter or ordering over one of the language's limits (length, nesting depth,
    comparisons, order_by fields, integer range). `limit` names which; the message is one
    line that gives the column."""

    def __init__(self, message: str, *, text: str = "", position: int = 0, limit: str = "") -> None:
        self.limit = limit
        super().__init__(message, text=text, position=position)

    def _shown(self) -> str:
        return f"{self.reason} (column {self.position + 1})" if self.text else self.reason


_WINDOW = 100
