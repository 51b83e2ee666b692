"""The run-cell hooks that let a tracked cell run natively, and what is shown under it.

A cell that starts with `%%track ...` has that line removed by an input transformer, so
IPython runs the body exactly as it would run an untracked cell (same tracebacks, same
`Out[n]`, top-level await); the run is started in `pre_run_cell` and finished in
`post_run_cell`. When the transformer cannot apply (bad arguments, or a sweep), the
`%%track` cell magic (kernel/magics.py) runs the body itself.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from .. import views as notebook_views
from ..records.summary import RunSummary
from ..tracking.datasets import settle as settle_fingerprints
from ..tracking.recorder import NO_RESULT, Recording
from ..tracking.request import RunOptions
from ..tracking.shell import cell_info
from .track_line import parse_track_line, split_track_cell


class TrackHooks:
    """The pre/post run-cell hooks and the input transformer for one shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last_cell_id: str | None = None
        self.last_raw_cell: str | None = None
        self._frames: list[tuple[Recording | None, Any, Any]] = []

    # Input transformer (cleanup stage): drop the `%%track` line when its arguments parse, so
    # the body runs as a normal cell. A blank line keeps the body's line numbers.
    def transform(self, lines: list[str]) -> list[str]:
        first = next((i for i, text in enumerate(lines) if text.strip()), None)
        if first is None or split_track_cell(lines[first]) is None:
            return lines
        try:
            request = parse_track_line(split_track_cell(lines[first])[0])  # type: ignore[index]
        except UsageError:
            return lines  # the cell magic will run and report the error
        if request.sweep:
            return lines  # a sweep runs the body once per trial: the cell magic does that
        return [*lines[:first], "\n", *lines[first + 1 :]]

    def pre_execute(self) -> None:
        """Before a cell, a silent execute or a comm message (widget callback) runs: finish
        the last cell's data fingerprints first, so they are of the state it left."""
        settle_fingerprints()

    def pre_run_cell(self, info: Any) -> None:
        raw = getattr(info, "raw_cell", "") or ""
        self.last_cell_id = getattr(info, "cell_id", None)
        self.last_raw_cell = raw
        recording: Recording | None = None
        restore = None
        views = None
        split = split_track_cell(raw)
        if split is not None:
            try:
                request = parse_track_line(split[0])
                options = None if request.sweep else request.options()
            except UsageError:
                options = None  # reported by the cell magic itself
            if options is not None:
                recording = self._begin(raw, split[1], options)
                if recording is not None and recording.run is not None:
                    restore = self._capture_display(recording)
                    views = call_views("on_run_start", recording.run, calls_log="log(" in split[1])
        self._frames.append((recording, restore, views))

    def _begin(self, raw: str, body: str, options: RunOptions) -> Recording | None:
        try:
            py = self.shell.transform_cell(body)
        except Exception:  # noqa: BLE001 - IPython reports syntax problems itself
            py = body
        info = cell_info(self.shell, source=raw, python_source=py, with_namespace=True)
        recording = Recording(info, options)
        recording.defer_fingerprints = True  # pre_execute settles them before the next code
        return recording if recording.begin() is not None else None

    def _capture_display(self, recording: Recording) -> Any:
        """Keep a copy of every PNG the cell displays (inline matplotlib figures included)."""
        pub = getattr(self.shell, "display_pub", None)
        if pub is None:
            return None
        original = pub.publish

        def publish(data: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                png = data.get("image/png") if isinstance(data, dict) else None
                if png:
                    recording.figures.append(
                        base64.b64decode(png) if isinstance(png, str) else bytes(png)
                    )
            except Exception:  # noqa: BLE001
                pass
            return original(data, *args, **kwargs)

        pub.publish = publish
        return lambda: setattr(pub, "publish", original)

    def post_run_cell(self, result: Any) -> None:
        if not self._frames:
            return
        recording, restore, views = self._frames.pop()
        if recording is None:
            return
        if restore is not None:
            restore()
        error = None
        value = NO_RESULT
        if result is not None:
            error = result.error_in_exec or result.error_before_exec
            value = result.result if result.result is not None else NO_RESULT
        run = recording.end(error, value)
        if not call_views("on_run_end", run, views):
            show_summary(run)


def call_views(hook: str, *args: Any, **kwargs: Any) -> Any:
    """Call a hook of the in-notebook views when they are enabled; never raise."""
    if os.environ.get("XTRACK_WIDGETS", "1") == "0":
        return None
    try:
        fn = getattr(notebook_views, hook, None)
        return None if fn is None else fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - views are a courtesy; the run is recorded either way
        return None


def show_summary(run: Any) -> None:
    """Display the one-line summary under the cell (text/plain and text/html)."""
    if run is None:
        return
    try:
        fields = run.summary_fields()
        fields["metrics"] = run.key_metrics()
        display(RunSummary(fields))
    except Exception:  # noqa: BLE001 - the summary is a courtesy; never fail the cell for it
        pass
