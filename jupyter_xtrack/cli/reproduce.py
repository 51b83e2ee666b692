"""xtrack reproduce and xtrack checkout: a run back from the store, re-run and verified, or
written out as the files that ran (lineage notebook, pinned requirements, data manifest)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..records.run import Run
from .runs import _dump, _fail, _store, _user_errors, store_options


def register(sub: Any) -> None:
    """Add `reproduce` and `checkout` to the `xtrack` parser."""
    common = store_options()

    p = sub.add_parser(
        "reproduce",
        parents=[common],
        help="re-run a run's lineage in a fresh kernel and compare the results",
    )
    p.add_argument("ref", help="run number (12 or #12), id or unique id prefix")
    p.add_argument(
        "--env",
        choices=("current", "fresh"),
        default="current",
        help="current: this interpreter (version differences reported); fresh: a "
        "new venv with the run's exact package versions",
    )
    p.add_argument(
        "--tolerance",
        action="append",
        metavar="[METRIC=][rel:|abs:]X",
        help="accept metrics within X (relative and absolute; rel:/abs: for one; "
        "METRIC= for one metric; repeatable). Default: exact",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds per cell before the reproduction gives up (default 600)",
    )
    p.add_argument(
        "--allow-data-drift",
        action="store_true",
        help="run even when recorded inputs changed (said in the verdict)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--as-job",
        action="store_true",
        help="record progress and verdict on a job run (the sidebar's Jobs tab)",
    )
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "checkout",
        parents=[common],
        help="write what a run ran: lineage notebook, requirements, data manifest",
    )
    p.add_argument("ref", help="run number (12 or #12), id or unique id prefix")
    p.add_argument(
        "-o", "--output", help="folder to write (default: run-<number>; must be empty or new)"
    )
    p.set_defaults(func=cmd_checkout)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Exit status 0 when reproduced (within tolerance or not), 1 when it differs or could
    not run, 2 for bad input."""
    # lazy: nbclient and the reproduction load only for this command
    from ..reproduction import reproduce
    from ..reproduction.compare import parse_tolerance
    from ..reproduction.job import ReproduceJob

    try:
        store = _store(args)
        original = Run(store.get_run(args.ref), store)
        parse_tolerance(args.tolerance)  # bad input fails before anything runs
    except _user_errors() as exc:
        return _fail(str(exc))
    job = ReproduceJob(store, original) if args.as_job else None
    try:
        rep = reproduce(
            original.id,
            env=args.env,
            tolerance=args.tolerance,
            timeout=args.timeout,
            allow_data_drift=args.allow_data_drift,
            store=store,
            progress=job.progress if job else None,
            should_stop=job.should_stop if job else None,
        )
    except Exception as exc:
        if job is not None:
            job.finish(None, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, _user_errors()):
            return _fail(str(exc))
        raise
    if job is not None:
        job.finish(rep)
    if args.json:
        _dump(rep.to_dict())
    else:
        print(rep.text())
    return 0 if rep.ok else 1


def cmd_checkout(args: argparse.Namespace) -> int:
    errors: tuple[type[BaseException], ...] = (*_user_errors(), OSError)
    try:
        store = _store(args)
        run = Run(store.get_run(args.ref), store)
        out = Path(args.output or f"run-{run.number}")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ValueError(f"{out} exists and is not an empty folder")
        written = write_checkout(run, out)
    except errors as exc:
        return _fail(str(exc))
    print(f"run #{run.number} checked out to {out}/: " + ", ".join(written))
    return 0


def write_checkout(run: Run, out: Path) -> list[str]:
    """Write the run's lineage notebook, requirements.txt (the imported distributions, exact
    pins) with constraints.txt (every distribution it had), data-manifest.json and, for a run
    with uncommitted changes, changes.diff. Returns the names written."""
    # lazy: the reproduction's helpers, shared with `xtrack reproduce`
    from ..reproduction.environment import requirement_lines
    from ..reproduction.program import cells_of, lineage_notebook

    out.mkdir(parents=True, exist_ok=True)
    cells = cells_of(run)
    nb = lineage_notebook(cells.sources, "%load_ext jupyter_xtrack")
    (out / "lineage.ipynb").write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n")
    written = ["lineage.ipynb"]
    env = run.env
    if env:
        pins, constraints, local = requirement_lines(env)
        python = (env.get("python") or {}).get("version", "?")
        head = f"# run #{run.number}: Python {python}; the distributions it imported, pinned\n"
        if local:
            head += "# installed from a local path or VCS, not listed: " + ", ".join(local) + "\n"
        (out / "requirements.txt").write_text(head + "\n".join(pins) + "\n")
        (out / "constraints.txt").write_text("\n".join(constraints) + "\n")
        written += ["requirements.txt", "constraints.txt"]
    inputs = {
        f.get("abs_path") or f.get("path"): _file(f)
        for r in reversed(cells.originals.values())
        for f in r.inputs
    }
    manifest = {
        "run": run.id,
        "number": run.number,
        "git": _git_summary(run),
        "inputs": list(inputs.values()),
        "outputs": [_file(f) for f in run.outputs],
        "datasets": run.datasets,
    }
    (out / "data-manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    written.append("data-manifest.json")
    diff = (run.git or {}).get("diff")
    if diff:
        (out / "changes.diff").write_text(diff)
        written.append("changes.diff")
    return written


def _git_summary(run: Run) -> dict[str, Any]:
    git = run.git or {}
    return {k: git.get(k) for k in ("root", "commit", "branch", "dirty", "remote") if k in git}


def _file(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        k: rec.get(k) for k in ("path", "abs_path", "hash", "size", "produced_by") if rec.get(k)
    }
