"""The `%%track` line: split from its cell and parsed once into a `TrackRequest`.

The input transformer, the pre-run hook, the cell magic and the Launch bridge all read a
tracked cell through here; a line is parsed by argparse once (the result is cached by its
text) and every reader gets the same request.
"""

from __future__ import annotations

import argparse
import shlex
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
    system_metrics: str | None = None

    def options(self) -> RunOptions:
        """The run's options (a fresh, mutable copy for the Recording)."""
        return RunOptions(name=self.name, experiment=self.experiment, tags=dict(self.tags),
                          param_names=list(self.param_names), data_paths=list(self.data_paths),
                          system_metrics=self.system_metrics)


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
        system_metrics=args.system_metrics,
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


def cell_body(source: str) -> str:
    """A cell's source without its `%%track ...` line (unchanged when it has none)."""
    split = split_track_cell(source)
    return source if split is None else split[1]
