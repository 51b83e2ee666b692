"""The `xtrack` command (also `jupyter xtrack`).

Each command family lives in its own module and registers its subcommands here;
heavy imports happen inside the handlers so that `xtrack strip` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import hygiene, interop, models, reproduce, runs
from . import sync as team_sync
from . import worker as sweep_worker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtrack", description="Jupyter-native experiment tracking: runs, hygiene, diffs."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    runs.register(sub)
    hygiene.register(sub)
    reproduce.register(sub)
    models.register(sub)
    interop.register(sub)
    team_sync.register(sub)
    sweep_worker.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
