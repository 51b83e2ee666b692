"""`xtrack worker SWEEP`: join a running sweep from this machine (see
`optimize/sweep/join.py`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .runs import _fail, store_options


def register(sub: Any) -> None:
    """Add `worker` to the `xtrack` parser."""
    p = sub.add_parser(
        "worker",
        parents=[store_options()],
        help="run trials of a running sweep, in a kernel or on workers, until it has its count",
    )
    p.add_argument("sweep", help="the sweep's run: number (12 or #12), id or unique id prefix")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed this worker's sampler (default: unseeded; give each worker its own seed)",
    )
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    # lazy: optuna and the sweep machinery load only for this command
    from ..optimize.sweep import SweepError
    from ..optimize.sweep.join import join_sweep
    from ..store.errors import StoreError

    ref: str | int = args.sweep.lstrip("#")
    if isinstance(ref, str) and ref.isdigit():
        ref = int(ref)
    try:
        report = join_sweep(
            ref, args.store, say=lambda line: print(line, flush=True), seed=args.seed
        )
    except (SweepError, StoreError) as exc:
        return _fail(str(exc))
    done = ", ".join(f"{n} {state}" for state, n in sorted(report.counts.items())) or "no trial"
    print(f"worker done: {done}; {report.reason}", file=sys.stderr)
    return 0
