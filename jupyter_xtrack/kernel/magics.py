"""`%%track` and `%xtrack`: the magics."""

from __future__ import annotations

import ast
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .. import api
from ..records.summary import RunDetail
from ..tracking.recorder import NO_RESULT
from ..tracking.session import CONTEXT
from .hooks import TrackHooks, call_views
from .track_line import TRACK, TrackRequest, parse_track_line


@magics_class
class XTrackMagics(Magics):
    """`%%track` and `%xtrack`."""

    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Track this cell as a run: `%%track [--name N] [--experiment E] [--tag k=v]...
        [--param NAME]... [--data PATH]... [--no-eval]` (`--no-eval`: no automatic
        evaluation of a model the cell fits and scores on held-out data)."""
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        request = parse_track_line(line)
        if request.sweep:
            return self._sweep(request, cell)
        # Reached when the input transformer left the line: run_cell_magic called directly,
        # or a magic running a body that starts with %%track (`%%time` transforms its body
        # itself). Run the body ourselves, as close to a normal cell as exec allows, and
        # record it as the hooks record a cell (run, displayed figures, card or summary).
        shell = self.shell
        assert shell is not None
        hooks = getattr(shell, "_xtrack_hooks", None) or TrackHooks(shell)
        frame = hooks.begin(f"{TRACK} {line}\n{cell}", cell, request.options())
        value: Any = NO_RESULT
        try:
            value = _exec_body(shell, shell.transform_cell(cell))
        except BaseException as exc:
            hooks.end(frame, exc, NO_RESULT)
            raise
        hooks.end(frame, None, value)
        return None if value is NO_RESULT else value

    def _sweep(self, args: TrackRequest, cell: str) -> Any:
        try:
            # lazy: optuna loads only when a sweep starts
            from ..optimize.sweep import sweep_cell
        except ImportError as exc:
            raise UsageError(f"%%track --sweep needs the optimize extra ({exc})") from None
        assert args.sweep is not None
        return sweep_cell(
            self.shell,
            cell,
            space=args.sweep,
            trials=args.trials,
            metric=args.metric,
            direction=args.direction,  # None: the metric's name decides
            sampler=args.sampler,
            pruner=args.pruner,
            resume=args.resume,
            max_failures=args.max_failures,
            background=args.background,
            name=args.name,
            experiment=args.experiment,
            tags=dict(args.tags),
            workers=args.workers,
        )

    @line_magic
    def xtrack(self, line: str) -> Any:
        """`%xtrack runs [FILTER]`, `%xtrack show REF`, `%xtrack compare REF REF...`,
        `%xtrack store [PATH]`."""
        cmd, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if cmd == "runs":
            frame = api.runs(rest or None)
            view = call_views("show", frame, filter=rest or None)
            return frame if view is None else view
        if cmd == "show":
            if not rest:
                raise UsageError("%xtrack show REF (a run number like 12 or #12, or an id prefix)")
            return RunDetail(api.get_run(rest))
        if cmd == "compare":
            refs = shlex.split(rest)
            if len(refs) < 2:
                raise UsageError("%xtrack compare REF REF... (at least two runs)")
            return api.compare(*refs)
        if cmd == "store":
            if rest:
                api.open_store(rest)
            print(f"xtrack store: {CONTEXT.store_status()}")
            return None
        raise UsageError(
            "usage: %xtrack runs [FILTER] | show REF | compare REF REF... | store [PATH]"
        )


def _exec_body(shell: Any, source: str) -> Any:
    __tracebackhide__ = True  # noqa: F841
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body[-1].value)
        tree.body.pop()
    name = shell.compile.cache(source)
    exec(compile(tree, name, "exec"), shell.user_ns)
    if last is not None:
        return eval(compile(last, name, "eval"), shell.user_ns)
    return NO_RESULT
