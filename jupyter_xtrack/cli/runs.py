"""xtrack subcommands over runs: ls, show, compare, rm, gc (readable tables; --json for scripts)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from ..facts import NOT_STORED_TAG
from ..records.compare import compare_runs
from ..records.formatting import fmt_bytes, fmt_duration, fmt_short
from ..records.run import Run
from ..records.summary import detail_text


def store_options(*, json: bool = False) -> argparse.ArgumentParser:
    """The options every command that opens a store shares (`--store`, and `--json` where the
    command can answer in JSON), as a parent parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store folder or sqlite:/// URL (default: $XTRACK_STORE, "
                        "else .xtrack/ at the root of the current git repository)")
    if json:
        common.add_argument("--json", action="store_true", help="machine-readable output")
    return common


def register(sub: Any) -> None:
    """Add `ls`, `show`, `compare`, `rm` and `gc` to the `xtrack` parser."""
    common = store_options(json=True)

    p = sub.add_parser("ls", parents=[common], help="list runs (optionally filtered)")
    p.add_argument("filter", nargs="?", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"")
    p.add_argument("--experiment", "-e")
    p.add_argument("--order-by", "-o", action="append", help="e.g. 'metrics.acc desc' (repeatable)")
    p.add_argument("--limit", "-l", type=int, default=50, help="rows to show (default 50, 0 = all)")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("show", parents=[common], help="everything captured for one run")
    p.add_argument("ref", help="run number (12 or #12), id or unique id prefix")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("compare", parents=[common], help="differences between runs")
    p.add_argument("refs", nargs="+", metavar="REF")
    p.add_argument("--all", action="store_true", help="show equal rows too")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("rm", parents=[common], help="delete runs (and their child runs)")
    p.add_argument("refs", nargs="+", metavar="REF")
    p.set_defaults(func=cmd_rm)

    p = sub.add_parser("gc", parents=[common], help="remove blobs that no run references")
    p.set_defaults(func=cmd_gc)


def _store(args: argparse.Namespace) -> Any:
    # lazy: sqlite3 loads only for commands that read a store
    from ..store import open_store

    return open_store(args.store)


def _reading_store(args: argparse.Namespace) -> Any:
    """The store for commands that only read: opened read-only when it is not writable."""
    from ..store import open_store_for_reading  # lazy: see _store

    return open_store_for_reading(args.store)


def _fail(message: str) -> int:
    print(f"xtrack: error: {message}", file=sys.stderr)
    return 2


def _user_errors() -> tuple[type[BaseException], ...]:
    # lazy: sqlite3 loads only for commands that read a store
    from ..store import FilterError, StoreError, UnknownRunError

    return (FilterError, StoreError, UnknownRunError, ValueError)


def _dump(obj: Any) -> None:
    print(json.dumps(obj, indent=1, default=str, ensure_ascii=False, allow_nan=True))


def cmd_ls(args: argparse.Namespace) -> int:
    try:
        store = _reading_store(args)
        table = store.query_runs(
            args.filter,
            experiment=args.experiment,
            order_by=args.order_by,
            limit=args.limit or None,
        )
    except _user_errors() as exc:
        return _fail(str(exc))
    cols = table.columns
    n = len(cols.get("id", []))
    if args.json:
        _dump({"total": table.total, "runs": [{k: v[i] for k, v in cols.items()} for i in range(n)]})
        return 0
    if n == 0:
        print("no runs" + (f" match {args.filter!r}" if args.filter else f" in {store.root}"))
        return 0
    print(render_table(runs_rows(cols)))
    incomplete = sum(1 for value in cols.get(_NOT_STORED_COLUMN, ()) if value)
    if incomplete:
        print(f"⚠ {incomplete} run{'s are' if incomplete > 1 else ' is'} missing data the "
              "store could not write (xtrack show <#> says what)")
    if table.total > n:
        print(f"({n} of {table.total} runs; --limit 0 shows all)")
    return 0


_NOT_STORED_COLUMN = f"tags.{NOT_STORED_TAG}"


def runs_rows(cols: dict[str, list[Any]]) -> list[dict[str, str]]:
    """Readable rows for a runs listing."""

    n = len(cols["id"])
    # Metrics first: when the terminal is narrow, they are what a user looks for.
    dyn = [k for prefix in ("metrics.", "params.", "tags.") for k in cols if k.startswith(prefix)]
    rows = []
    for i in range(n):
        started = cols["started_at"][i]
        commit = (cols.get("git.commit", [None] * n)[i] or "")[:7]
        dirty = "*" if cols.get("git.dirty", [None] * n)[i] else ""
        incomplete = cols.get(_NOT_STORED_COLUMN, [None] * n)[i]
        row = {
            "#": str(cols["number"][i]),
            "name": cols["name"][i] or "",
            "experiment": cols["experiment"][i] or "",
            "status": (cols["status"][i] or "") + (" ⚠" if incomplete else ""),
            "started": _when(started),
            "duration": fmt_duration(cols["duration_s"][i]) if cols["duration_s"][i] is not None else "",
            "git": commit + dirty,
        }
        for key in dyn:
            value = cols[key][i]
            row[key] = "" if value is None else fmt_short(value)
        rows.append(row)
    return rows


def _when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc).astimezone()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def render_table(rows: Sequence[dict[str, str]], max_width: int | None = None) -> str:
    """Left-aligned columns; columns that do not fit the terminal are dropped (and counted)."""
    if not rows:
        return ""
    width = max_width or shutil.get_terminal_size((160, 24)).columns
    keys = list(rows[0])
    widths = {k: min(24, max(len(k), *(len(r.get(k, "")) for r in rows))) for k in keys}
    shown: list[str] = []
    used = 0
    for k in keys:
        if used + widths[k] + 2 > width and shown:
            break
        shown.append(k)
        used += widths[k] + 2
    lines = ["  ".join(k.ljust(widths[k]) for k in shown)]
    for r in rows:
        lines.append("  ".join(_clip(r.get(k, ""), widths[k]).ljust(widths[k]) for k in shown))
    hidden = len(keys) - len(shown)
    if hidden:
        lines.append(f"({hidden} more columns; widen the terminal or use --json)")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_show(args: argparse.Namespace) -> int:

    try:
        store = _reading_store(args)
        record = store.get_run(args.ref)
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump(record)
    else:
        print(detail_text(Run(record, store)))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:

    try:
        store = _reading_store(args)
        runs = [Run(store.get_run(r), store) for r in args.refs]
        comp = compare_runs(runs)
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump(
            {
                "runs": [r.id for r in runs],
                "labels": comp.labels,
                **{name: rows for name, rows in comp.sections()},
                "differences": comp.differences(),
                "code_diffs": comp.code_diffs,
            }
        )
        return 0
    if not args.all:
        diffs = comp.differences()
        comp.params, comp.metrics, comp.env = diffs["params"], diffs["metrics"], diffs["env"]
        comp.git, comp.data = diffs["git"], diffs["data"]
    print(repr(comp))
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    try:
        store = _store(args)
        ids = [store.resolve_ref(r) for r in args.refs]
        count = store.delete_runs(ids)
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump({"deleted": count})
    else:
        print(f"deleted {count} run(s); `xtrack gc` frees their blobs")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    try:
        store = _store(args)
        removed, freed = store.gc()
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump({"removed_blobs": removed, "freed_bytes": freed})
    else:

        print(f"removed {removed} unreferenced blob(s), freed {fmt_bytes(freed)}")
    return 0

