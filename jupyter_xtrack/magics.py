"""IPython glue: `%%track`, `%xtrack`, and the hooks that let a tracked cell run natively.

A cell that starts with `%%track ...` has that line removed by an input transformer, so
IPython runs the body exactly as it would run an untracked cell (same tracebacks, same
`Out[n]`, top-level await); the run is started in `pre_run_cell` and finished in
`post_run_cell`. When the transformer cannot apply (bad arguments, or the magic called
directly), the `%%track` cell magic runs the body itself.
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .context import CONTEXT
from .recorder import NO_RESULT, CellInfo, Recording, RunOptions, prefetch_environment

TRACK = "%%track"


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit(); a magic must not
        raise UsageError(f"%%track: {message}\n{self.format_usage().strip()}")


def _track_parser() -> argparse.ArgumentParser:
    p = _ArgParser(prog="%%track", add_help=False, description="Track this cell as a run.")
    p.add_argument("--name", "-n")
    p.add_argument("--experiment", "-e")
    p.add_argument("--tag", "-t", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME")
    p.add_argument("--data", "-d", action="append", default=[], metavar="PATH")
    # Sweeps (the optimize package runs the body once per trial).
    p.add_argument("--sweep", metavar="SPACE")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--metric")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--maximize", dest="direction", action="store_const", const="maximize")
    direction.add_argument("--minimize", dest="direction", action="store_const", const="minimize")
    p.add_argument("--sampler", default="tpe")
    p.add_argument("--pruner")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--max-failures", type=int, default=5)
    p.add_argument("--background", action="store_true")
    return p


_PARSER = _track_parser()


def parse_track_line(line: str) -> RunOptions:
    """Parse the arguments of a `%%track` line; a UsageError names what is wrong."""
    return _options(_parse(line))


def _parse(line: str) -> argparse.Namespace:
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%%track: cannot split arguments ({exc}): {line!r}") from None
    return _PARSER.parse_args(argv)


def _options(args: argparse.Namespace) -> RunOptions:
    tags: dict[str, str] = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"%%track: --tag wants KEY=VALUE, got {item!r}")
        tags[key] = value
    for name in args.param:
        if not name.isidentifier():
            raise UsageError(f"%%track: --param wants a variable name, got {name!r}")
    return RunOptions(
        name=args.name,
        experiment=args.experiment,
        tags=tags,
        param_names=list(args.param),
        data_paths=list(args.data),
    )


def split_track_cell(raw: str) -> tuple[str, str] | None:
    """(argument line, body) when `raw` is a `%%track` cell, else None."""
    stripped = raw.lstrip("\n")
    if not stripped.startswith(TRACK):
        return None
    first, _, body = stripped.partition("\n")
    rest = first[len(TRACK):]
    if rest and not rest[0].isspace():
        return None  # e.g. %%tracking: another magic
    return rest.strip(), body


def cell_info(shell: Any, *, kind: str = "cell", source: str | None = None,
              python_source: str | None = None, with_namespace: bool = False) -> CellInfo:
    """What the shell knows about the cell being run: source, id, notebook, lineage."""
    hooks: TrackHooks | None = getattr(shell, "_xtrack_hooks", None)
    raw_hist = list(getattr(shell.history_manager, "input_hist_raw", []) or [])
    if source is None:
        source = hooks.last_raw_cell if hooks and hooks.last_raw_cell else (raw_hist[-1] if raw_hist else "")
    history = [(i, src) for i, src in enumerate(raw_hist) if i > 0 and src]
    if source and (not history or history[-1][1] != source):
        # Before IPython stores the current cell (pre_run_cell), add it ourselves.
        history.append((int(getattr(shell, "execution_count", len(raw_hist))), source))
    from .capture.code import find_notebook_path

    ns = shell.user_ns
    return CellInfo(
        source=source,
        python_source=python_source,
        kind=kind,
        cell_id=hooks.last_cell_id if hooks else None,
        notebook_path=find_notebook_path(os.environ, ns),
        history=history,
        user_ns=ns if with_namespace else None,
    )


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
            args = _parse(split_track_cell(lines[first])[0])  # type: ignore[index]
            _options(args)
        except UsageError:
            return lines  # the cell magic will run and report the error
        if args.sweep:
            return lines  # a sweep runs the body once per trial: the cell magic does that
        return [*lines[:first], "\n", *lines[first + 1 :]]

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
                args = _parse(split[0])
                options = None if args.sweep else _options(args)
            except UsageError:
                options = None  # reported by the cell magic itself
            if options is not None:
                recording = self._begin(raw, split[1], options)
                if recording is not None and recording.run is not None:
                    restore = self._capture_display(recording)
                    views = _widgets("on_run_start", recording.run, calls_log="log(" in split[1])
        self._frames.append((recording, restore, views))

    def _begin(self, raw: str, body: str, options: RunOptions) -> Recording | None:
        try:
            py = self.shell.transform_cell(body)
        except Exception:  # noqa: BLE001 - IPython reports syntax problems itself
            py = body
        info = cell_info(self.shell, source=raw, python_source=py, with_namespace=True)
        recording = Recording(info, options)
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
                    import base64

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
        if not _widgets("on_run_end", run, views):
            show_summary(run)


def _widgets(hook: str, *args: Any, **kwargs: Any) -> Any:
    """Call a hook of the in-notebook views when they are available and enabled; never raise."""
    if os.environ.get("XTRACK_WIDGETS", "1") == "0":
        return None
    try:
        import importlib

        module = importlib.import_module("jupyter_xtrack.widgets")
        fn = getattr(module, hook, None)
        return None if fn is None else fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - views are a courtesy; the run is recorded either way
        return None


def show_summary(run: Any) -> None:
    """Display the one-line summary under the cell (text/plain and text/html)."""
    if run is None:
        return
    try:
        from IPython.display import display

        from .summary import RunSummary

        fields = run._summary_fields()
        fields["metrics"] = run.key_metrics()
        display(RunSummary(fields))
    except Exception:  # noqa: BLE001 - the summary is a courtesy; never fail the cell for it
        pass


@magics_class
class XTrackMagics(Magics):
    """`%%track` and `%xtrack`."""

    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Track this cell as a run: `%%track [--name N] [--experiment E] [--tag k=v]...
        [--param NAME]... [--data PATH]...`."""
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        args = _parse(line)
        options = _options(args)
        if args.sweep:
            return self._sweep(args, options, cell)
        # Reached only when the input transformer did not apply (e.g. run_cell_magic called
        # directly): run the body ourselves, as close to a normal cell as exec allows.
        shell = self.shell
        assert shell is not None
        py = shell.transform_cell(cell)
        info = cell_info(shell, source=f"{TRACK} {line}\n{cell}", python_source=py,
                         with_namespace=True)
        recording = Recording(info, options)
        recording.begin()
        value: Any = NO_RESULT
        try:
            value = _exec_body(shell, py)
        except BaseException as exc:
            show_summary(recording.end(exc))
            raise
        show_summary(recording.end(None, value))
        return None if value is NO_RESULT else value

    def _sweep(self, args: argparse.Namespace, options: RunOptions, cell: str) -> Any:
        try:
            from .optimize.sweep import sweep_cell
        except ImportError as exc:
            raise UsageError(f"%%track --sweep needs the optimize extra ({exc})") from None
        return sweep_cell(
            self.shell,
            cell,
            space=args.sweep,
            trials=args.trials,
            metric=args.metric,
            direction=args.direction or "maximize",
            sampler=args.sampler,
            pruner=args.pruner,
            resume=args.resume,
            max_failures=args.max_failures,
            background=args.background,
            name=options.name,
            experiment=options.experiment,
            tags=options.tags,
        )

    @line_magic
    def xtrack(self, line: str) -> Any:
        """`%xtrack runs [FILTER]`, `%xtrack show REF`, `%xtrack compare REF REF...`,
        `%xtrack store [PATH]`."""
        from . import api

        cmd, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if cmd == "runs":
            frame = api.runs(rest or None)
            view = _widgets("show", frame, filter=rest or None)
            return frame if view is None else view
        if cmd == "show":
            if not rest:
                raise UsageError("%xtrack show REF (a run number like 12 or #12, or an id prefix)")
            from .summary import RunDetail

            return RunDetail(api.get_run(rest))
        if cmd == "compare":
            refs = shlex.split(rest)
            if len(refs) < 2:
                raise UsageError("%xtrack compare REF REF... (at least two runs)")
            return api.compare(*refs)
        if cmd == "store":
            if rest:
                store = api.open_store(rest)
            else:
                store = CONTEXT.store()
            print(f"xtrack store: {store.root}")
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


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext jupyter_xtrack`: register the magics and the run-cell hooks."""
    if getattr(shell, "_xtrack_hooks", None) is not None:
        return
    from .capture.code import find_notebook_path

    nb = find_notebook_path(os.environ, shell.user_ns)
    CONTEXT.start_dir = os.path.dirname(os.path.abspath(nb)) if nb else os.getcwd()
    hooks = TrackHooks(shell)
    shell._xtrack_hooks = hooks
    shell.register_magics(XTrackMagics)
    # After IPython strips leading blank lines, so our blank line keeps the cell's numbering.
    shell.input_transformers_cleanup.insert(1, hooks.transform)
    shell.events.register("pre_run_cell", hooks.pre_run_cell)
    shell.events.register("post_run_cell", hooks.post_run_cell)
    if "xt" not in shell.user_ns:
        import jupyter_xtrack

        shell.user_ns["xt"] = jupyter_xtrack
    prefetch_environment()


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext jupyter_xtrack`: remove the hooks (magics stay registered, as usual)."""
    hooks = getattr(shell, "_xtrack_hooks", None)
    if hooks is None:
        return
    if hooks.transform in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(hooks.transform)
    shell.events.unregister("pre_run_cell", hooks.pre_run_cell)
    shell.events.unregister("post_run_cell", hooks.post_run_cell)
    shell._xtrack_hooks = None
