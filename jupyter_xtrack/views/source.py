"""Where the views get runs from: a source injected by the layer above (`api` injects
itself on import), so the views never import the API they are shown by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from ..records.compare import Comparison
    from ..records.run import Run


class RunSource(Protocol):
    """What the views read: the runs table, one run, a comparison."""

    def runs(self, filter: str | None = None) -> pd.DataFrame:
        """All runs matching `filter` (the filter language), newest first."""
        ...

    def get_run(self, ref: str | int) -> Run:
        """One run by id, id prefix or number."""
        ...

    def compare(self, *refs: Any) -> Comparison:
        """The comparison of two or more runs."""
        ...

    def wait_pending(self, timeout: float | None = 60.0) -> None:
        """Wait until every run finished so far is fully stored."""
        ...


_source: RunSource | None = None


def use(source: RunSource) -> None:
    """Make `source` the views' source of runs."""
    global _source
    _source = source


def current() -> RunSource:
    """The source in use; `import jupyter_xtrack.api` provides one."""
    if _source is None:
        raise RuntimeError("the xtrack views have no run source: import jupyter_xtrack first")
    return _source
