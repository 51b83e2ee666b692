"""The `%%track` line: split from its cell and parsed once into a `TrackRequest`.

The input transformer, the pre-run hook, the cell magic and the Launch bridge all read a
tracked cell through here; a line is parsed by argparse once (the result is cached by its
text) and every reader gets the same request.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from IPython.core.error import UsageError

from ..capture.system_metrics import interval_from
from ..tracking.request import RunOptions

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
    p.add_argument("--system-metrics", metavar="SECONDS")  # sampling interval; 0 or off: none
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
    p.add_argument("--workers", metavar="ADDRESS|N")  # a sweep's trials on Dask workers
    p.add_argument("--search-top", type=int, metavar="N")  # a search's child runs; 0: none
    p.add_argument("--no-eval", action="store_true")  # no automatic evaluation after the cell
    return p


_PARSER = _track_parser()


@dataclass(frozen=True)
class TrackRequest:
    """Everything a `%%track` line asks for: the run's options and, with `--sweep`, the search."""

    name: str | None
    experiment: str | None
    tags: tuple[tuple[str, str], ...]
    param_names: tuple[str, ...]
    data_paths: tuple[str, ...]
    sweep: str | None
    trials: int
    metric: str | None
    direction: str | None
    sampler: str
    pruner: str | None
    resume: bool
    max_failures: int
    background: bool
    search_top: int | None = None
    system_metrics: str | None = None
    no_eval: bool = False
    workers: str | None = None  # --workers: a count or a Dask scheduler's address

    def options(self) -> RunOptions:
        """The run's options (a fresh, mutable copy for the Recording)."""
        return RunOptions(name=self.name, experiment=self.experiment, tags=dict(self.tags),
                          param_names=list(self.param_names), data_paths=list(self.data_paths),
                          search_top=self.search_top, system_metrics=self.system_metrics,
                          evaluate=not self.no_eval)


@lru_cache(maxsize=64)
def parse_track_line(line: str) -> TrackRequest:
    """Parse the arguments of a `%%track` line; a UsageError names what is wrong."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%%track: cannot split arguments ({exc}): {line!r}") from None
    args = _PARSER.parse_args(argv)
    tags: dict[str, str] = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"%%track: --tag wants KEY=VALUE, got {item!r}")
        tags[key] = value
    for name in args.param:
        if not name.isidentifier():
            raise UsageError(f"%%track: --param wants a variable name, got {name!r}")
    if args.search_top is not None and args.search_top < 0:
        raise UsageError(f"%%track: --search-top wants 0 or more, got {args.search_top}")
    if args.system_metrics is not None:
        try:
            interval_from(args.system_metrics)
        except ValueError:
            raise UsageError("%%track: --system-metrics wants seconds (0 or off: none), "
                             f"got {args.system_metrics!r}") from None
    return TrackRequest(
        name=args.name, experiment=args.experiment, tags=tuple(tags.items()),
        param_names=tuple(args.param), data_paths=tuple(args.data), sweep=args.sweep,
        trials=args.trials, metric=args.metric, direction=args.direction,
        sampler=args.sampler, pruner=args.pruner, resume=args.resume,
        max_failures=args.max_failures, background=args.background,
        search_top=args.search_top,
        system_metrics=args.system_metrics,
        no_eval=args.no_eval,
        workers=args.workers,
    )


def split_track_cell(raw: str) -> tuple[str, str] | None:
    """(argument line, body) when `raw` is a `%%track` cell, else None. `%%track` may stand
    anywhere among the cell magics the cell starts with (`%%time`, `%%capture`,
    `%%writefile f`, ...): the body is the cell without its `%%track` line, the other
    magics kept."""
    lines = raw.splitlines(keepends=True)
    at = track_line_index(lines)
    if at is None:
        return None
    start = first_line(lines)
    return track_args(lines[at]), "".join(lines[start:at] + lines[at + 1 :])


def track_args(line: str) -> str:
    """The arguments of a `%%track ...` line, as `parse_track_line` caches them."""
    return line.strip()[len(TRACK) :].strip()


def first_line(lines: Sequence[str]) -> int:
    """The index of the first line that is not blank (len(lines) when none is)."""
    return next((i for i, text in enumerate(lines) if text.strip()), len(lines))


def track_line_index(lines: Sequence[str]) -> int | None:
    """The index of the `%%track` line among the cell magic lines a cell starts with, or None
    when it has none there (a `%%track` after the first line of code is text of the body)."""
    for i in range(first_line(lines), len(lines)):
        text = lines[i].strip()
        if not text.startswith("%%"):
            return None
        if _is_track(text):
            return i
    return None


def _is_track(text: str) -> bool:
    rest = text[len(TRACK) :]
    return text.startswith(TRACK) and (not rest or rest[0].isspace())  # not %%tracking


# Cell magics that run their body as Python in the user's namespace: a tracked body under
# them is read for params like any cell. Under any other (%%writefile, %%bash) it is not code.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})


def python_body(body: str) -> str:
    """The Python a tracked body runs, for reading its params and metrics: the body without
    the stacked cell magics that run it as Python; empty under one that does not."""
    lines = body.splitlines(keepends=True)
    at = first_line(lines)
    while at < len(lines) and lines[at].lstrip().startswith("%%"):
        name = lines[at].strip()[2:].split(maxsplit=1)
        if not name or name[0] not in PYTHON_CELL_MAGICS:
            return ""
        at += 1
    return "".join(lines[at:])


def cell_body(source: str) -> str:
    """A cell's source without its `%%track ...` line (unchanged when it has none)."""
    split = split_track_cell(source)
    return source if split is None else split[1]
