"""`xtrack push` / `xtrack pull`: copy runs and the model registry between this store and a
team store (store/sync.py does the copying; this module names the two stores, shows
progress, and exits 1 when a registry conflict was left unresolved)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

TEAM_STORE_ENV = "XTRACK_TEAM_STORE"
TEAM_ARTIFACTS_ENV = "XTRACK_TEAM_ARTIFACTS"


def register(sub: Any) -> None:
    """Add `push` and `pull` to the `xtrack` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "filter",
        nargs="?",
        help="which runs (the filter language of "
        "`xtrack ls`; default: all); their parents and children come along",
    )
    common.add_argument(
        "--store",
        help="this store (default: $XTRACK_STORE unless it names a database, else .xtrack/ "
        "at the root of the current git repository)",
    )
    common.add_argument(
        "--artifacts",
        help="where the team store's blobs live: a folder or an "
        f"fsspec URL such as s3://bucket/prefix (default: ${TEAM_ARTIFACTS_ENV}, "
        "else the team store's own blobs/ folder)",
    )

    p = sub.add_parser(
        "push",
        parents=[common],
        help="copy runs, their blobs and registered models to the team store; idempotent",
    )
    p.add_argument(
        "--to", help=f"the team store (default: ${TEAM_STORE_ENV}, else a database $XTRACK_STORE)"
    )
    p.set_defaults(func=cmd_push)

    p = sub.add_parser(
        "pull",
        parents=[common],
        help="copy runs, their blobs and registered models from the team store; idempotent",
    )
    p.add_argument(
        "--from",
        dest="from_",
        help=f"the team store (default: ${TEAM_STORE_ENV}, else a database $XTRACK_STORE)",
    )
    p.set_defaults(func=cmd_pull)


def cmd_push(args: argparse.Namespace) -> int:
    return _sync(args, args.to, push=True)


def cmd_pull(args: argparse.Namespace) -> int:
    return _sync(args, args.from_, push=False)


def _sync(args: argparse.Namespace, team_url: str | None, *, push: bool) -> int:
    # lazy: sqlite3 and the blob backends load only for commands that use a store
    from ..store import StoreError, open_store
    from ..store.location import ENV_VAR, default_store_path, is_postgres_url, redact
    from ..store.sync import sync_runs

    team_url = team_url or os.environ.get(TEAM_STORE_ENV)
    local_path = args.store
    if local_path is None and is_postgres_url(os.environ.get(ENV_VAR, "")):
        # XTRACK_STORE names the team store: this store is the local one that kernels keep
        # runs in while the team store is unreachable (tracking/team.py).
        team_url = team_url or os.environ[ENV_VAR]
        local_path = default_store_path(os.getcwd())
    if not team_url:
        flag = "--to" if push else "--from"
        return _fail(f"no team store: give {flag} URL or set {TEAM_STORE_ENV}=URL")
    artifacts = args.artifacts or os.environ.get(TEAM_ARTIFACTS_ENV) or ""
    try:
        local = open_store(local_path)
        team = open_store(team_url, artifacts=artifacts)
    except (StoreError, ValueError) as exc:
        return _fail(str(exc))
    source, target = (local, team) if push else (team, local)
    bar = ProgressBar("push" if push else "pull")
    try:
        summary = sync_runs(source, target, args.filter, progress=bar.update)
    except (StoreError, ValueError) as exc:
        bar.end()
        return _fail(redact(str(exc)))
    finally:
        local.close()
        team.close()
    bar.end()
    where = redact(target.name)
    print(f"{'pushed to' if push else 'pulled into'} {where}: {summary}")
    for conflict in summary.registry.conflicts:
        print(f"xtrack: conflict: {conflict}", file=sys.stderr)
    return 1 if summary.registry.conflicts else 0


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second (and once at
    the end), so that stdout keeps only the summary."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._last = 0.0
        self._drawn = False
        self._what = "runs"

    def update(self, done: int, total: int, what: str = "runs") -> None:
        if what != self._what:  # a new phase (runs, then model versions): a new line
            self.end()
            self._what, self._last = what, 0.0
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}"
        )
        sys.stderr.flush()
        self._drawn = True

    def end(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False


def _fail(message: str) -> int:
    print(f"xtrack: error: {message}", file=sys.stderr)
    return 2
