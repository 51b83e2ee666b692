"""The run-cell hooks that let a tracked cell run natively, and what is shown under it.

A cell that starts with `%%track ...` has that line removed by an input transformer, so
IPython runs the body exactly as it would run an untracked cell (same tracebacks, same
`Out[n]`, top-level await); the run is started in `pre_run_cell` and finished in
`post_run_cell`. `%%track` stacks with other cell magics (`%%time`, `%%capture`,
`%%writefile`, ...) in either order: its line is removed wherever it stands among them and
the run is recorded around the whole cell. When the transformer cannot apply (bad
arguments, a sweep, or a `%%track` body that a running magic transforms itself), the
`%%track` cell magic (kernel/magics.py) runs the body, through the same `begin` / `end`.
"""

from __future__ import annotations

import base64
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.display import display

from .. import views as notebook_views
from ..records.summary import RunSummary
from ..tracking import later as tracked_later
from ..tracking.datasets import settle as settle_fingerprints
from ..tracking.recorder import NO_RESULT, Recording
from ..tracking.request import RunOptions
from ..tracking.shell import cell_info
from ..views.activity import KERNEL
from .track_line import (
    first_line,
    parse_track_line,
    python_body,
    split_track_cell,
    track_args,
    track_line_index,
)

# One cell being recorded: its Recording (None: untracked), the display hook to restore,
# the views' handle.
Frame = tuple[Recording | None, Any, Any]

# The interpreter's switch interval while the hooks run (see `_short_switch`).
HOOK_SWITCH_S = 0.0005
_Hook = TypeVar("_Hook", bound=Callable[..., Any])


def _short_switch(hook: _Hook) -> _Hook:
    """Run `hook` with a switch interval of HOOK_SWITCH_S, then put back the one it found.

    As a cell starts and ends, the tracker's threads are busy with Python (the last cell's
    finalisation, the writer, git). Each of the hook's calls that lets the GIL go (a store
    read, a `/proc` write, a message to the front end) then waits to get it back until the
    busy thread is made to drop it, a switch interval later: up to 5 ms by default, a few
    such calls a hook. No user code runs meanwhile, and the user's interval is back
    before the cell's code runs."""

    @functools.wraps(hook)
    def with_short_switch(*args: Any, **kwargs: Any) -> Any:
        interval = sys.getswitchinterval()
        if interval <= HOOK_SWITCH_S:
            return hook(*args, **kwargs)
        sys.setswitchinterval(HOOK_SWITCH_S)
        try:
            return hook(*args, **kwargs)
        finally:
            sys.setswitchinterval(interval)

    return with_short_switch  # type: ignore[return-value]


class TrackHooks:
    """The pre/post run-cell hooks and the input transformer for one shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last_cell_id: str | None = None
        self.last_raw_cell: str | None = None
        self._frames: list[Frame] = []
        # runs' finalisations and the figures left open wait until no cell runs
        tracked_later.set_quiet(KERNEL.wait_quiet)
        KERNEL.code_ran()  # the cell loading the extension: what waits for quiet waits for it

    # Input transformer (cleanup stage): drop the `%%track` line when its arguments parse, so
    # the body runs as a normal cell, or under the cell magics stacked with it (`%%time`,
    # `%%capture`, `%%writefile`, in either order): the run is recorded around the whole cell.
    # Alone, it becomes a blank line that keeps the body's line numbers; before another magic
    # it goes, so that IPython's cell-magic transform finds that magic on the first line.
    def transform(self, lines: list[str]) -> list[str]:
        if self._frames:
            # A cell is running: this is a magic transforming its body (%%time), where
            # `%%track` stays, so that the %%track magic records it.
            return lines
        at = track_line_index(lines)
        if at is None:
            return lines
        try:
            request = parse_track_line(track_args(lines[at]))
        except UsageError:
            return lines  # the cell magic will run and report the error
        if request.sweep:
            return lines  # a sweep runs the body once per trial: the cell magic does that
        rest = lines[at + 1 :]
        after = first_line(rest)
        if after < len(rest) and rest[after].lstrip().startswith("%%"):
            return [*lines[:at], *rest[after:]]
        if at == first_line(lines):
            return [*lines[:at], "\n", *rest]
        return [*lines[:at], *rest]

    @_short_switch
    def pre_execute(self) -> None:
        """Before a cell, a silent execute or a comm message (widget callback) runs: finish
        the last cell's data fingerprints first, so they are of the state it left."""
        KERNEL.code_ran()
        settle_fingerprints()

    @_short_switch
    def pre_run_cell(self, info: Any) -> None:
        if not self._frames:
            KERNEL.cell_started()
        if self._frames:
            # A cell run by a running cell (%%capture runs its body so): its %%track, if any,
            # is the magic's to record, and the running cell keeps its id.
            self._frames.append((None, None, None))
            return
        raw = getattr(info, "raw_cell", "") or ""
        self.last_cell_id = getattr(info, "cell_id", None)
        self.last_raw_cell = raw
        frame: Frame = (None, None, None)
        split = split_track_cell(raw)
        if split is not None:
            try:
                request = parse_track_line(split[0])
                options = None if request.sweep else request.options()
            except UsageError:
                options = None  # reported by the cell magic itself
            if options is not None:
                frame = self.begin(raw, split[1], options, defer=True)
        self._frames.append(frame)

    def begin(self, raw: str, body: str, options: RunOptions, *, defer: bool = False) -> Frame:
        """Start recording `raw` (whose `%%track` line is gone from `body`): the run, a copy
        of what the cell displays, the views. The frame is what `end` needs."""
        try:
            py = self.shell.transform_cell(python_body(body))
        except Exception:  # noqa: BLE001 - IPython reports syntax problems itself
            py = body
        info = cell_info(self.shell, source=raw, python_source=py, with_namespace=True)
        recording = Recording(info, options)
        # From pre_run_cell, pre_execute settles the fingerprints before the next code runs;
        # the %%track magic (run inside another cell) hashes them before it returns.
        recording.defer_fingerprints = defer
        recording.finalize_when_quiet = True
        if recording.begin() is None:
            return (None, None, None)
        assert recording.run is not None
        restore = self._capture_display(recording)
        views = call_views("on_run_start", recording.run, calls_log="log(" in body)
        return (recording, restore, views)

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

    @_short_switch
    def post_run_cell(self, result: Any) -> None:
        if not self._frames:
            return
        error = None
        value = NO_RESULT
        if result is not None:
            error = result.error_in_exec or result.error_before_exec
            value = result.result if result.result is not None else NO_RESULT
        frame = self._frames.pop()
        if not self._frames:
            # The cell's code is done. Said before the run's end is handled, which hands the
            # card and the finalisation to their threads: said after, they would take the
            # cell that has just ended for a long cell still running (quiet enough for them,
            # views/activity.py) and do their work at once, beside the next cell of a Run All.
            KERNEL.cell_ended()
        self.end(frame, error, value)

    def end(self, frame: Frame, error: BaseException | None, value: Any) -> None:
        """Finish what `begin` started: the run ends, its card or summary is shown."""
        recording, restore, views = frame
        if recording is None:
            return
        if restore is not None:
            restore()
        # The earlier cells' cards first, and this run's finalisation only once its card is
        # shown: while the tracker's threads are idle (see Recording.release_finalize).
        call_views("on_cell_end")
        recording.hold_finalize = True
        try:
            run = recording.end(error, value)
            if not call_views("on_run_end", run, views):
                show_summary(run)
        finally:
            recording.release_finalize()
        if error is None and run is not None and recording.options.evaluate:
            auto_evaluate(recording, run)


def auto_evaluate(recording: Recording, run: Any) -> None:
    """Start the evaluation of the model the cell fitted and scored on held-out data, if any
    (evaluate/auto.py), on its own thread; never raise."""
    try:
        from ..evaluation import auto  # lazy: loads no numpy until a cell wants an evaluation

        info = recording.info
        auto.after_cell(info.python_source or info.source, info.user_ns, recording.scored, run)
    except Exception:  # noqa: BLE001 - an evaluation is a courtesy; the cell ran
        pass


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
