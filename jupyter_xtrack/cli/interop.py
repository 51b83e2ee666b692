"""xtrack import mlflow / xtrack export mlflow: MLflow history into the store and back out,
idempotent and verified (the counts table is printed; a mismatch exits 1)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .runs import _fail, _store, _user_errors, store_options


def register(sub: Any) -> None:
    """Add `import` and `export` (each with its `mlflow` target) to the `xtrack` parser."""
    common = store_options()
    common.add_argument("--no-progress", action="store_true", help="no progress bar")

    imp = sub.add_parser("import", help="bring runs in from another tracker")
    p = imp.add_subparsers(dest="target", metavar="TARGET", required=True).add_parser(
        "mlflow",
        parents=[common],
        help="import MLflow runs: experiments, nested runs, params, metric histories, tags, "
        "artifacts, datasets, registered models (again: only what changed)",
    )
    p.add_argument(
        "source",
        help="tracking URI (sqlite:///mlflow.db, ./mlruns, "
        "http://server) or an mlflow-export-import folder",
    )
    p.add_argument(
        "--experiment",
        "-e",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="only these experiments (repeatable)",
    )
    p.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write runs out for another tracker")
    p = exp.add_subparsers(dest="target", metavar="TARGET", required=True).add_parser(
        "mlflow",
        parents=[common],
        help="export runs and their registered models to MLflow, xtrack's facts as xtrack/ "
        "artifacts and xtrack.* tags (again: only what changed)",
    )
    p.add_argument(
        "dest",
        help="tracking URI (sqlite:///mlflow.db, http://server), a .db "
        "path, a folder (MLflow file store), or with --folder an "
        "mlflow-export-import folder",
    )
    p.add_argument("filter", nargs="?", help="only runs matching this filter (as in xtrack ls)")
    p.add_argument("--folder", action="store_true", help="write an mlflow-export-import folder")
    p.set_defaults(func=cmd_export)


def _errors(interop_error: type[BaseException]) -> tuple[type[BaseException], ...]:
    return (interop_error, *_user_errors())


def _report(result: Any) -> int:
    print(result.summary())
    return 0 if result.ok else 1


def cmd_import(args: argparse.Namespace) -> int:
    """Exit status 0 when verified, 1 on a mismatch or failed runs, 2 for bad input."""
    from ..interop import InteropError, import_mlflow  # lazy: mlflow loads only here

    try:
        with _store(args) as store:
            result = import_mlflow(
                store, args.source, args.experiment, show_progress=not args.no_progress
            )
    except _errors(InteropError) as exc:
        return _fail(str(exc))
    return _report(result)


def cmd_export(args: argparse.Namespace) -> int:
    """Exit status 0 when verified, 1 on a mismatch or failed runs, 2 for bad input."""
    from ..interop import InteropError, export_mlflow  # lazy: see cmd_import

    try:
        with _store(args) as store:
            result = export_mlflow(
                store,
                args.dest,
                args.filter,
                folder=args.folder,
                show_progress=not args.no_progress,
            )
    except _errors(InteropError) as exc:
        return _fail(str(exc))
    sys.stdout.flush()
    return _report(result)
