"""xtrack subcommands for notebook hygiene: strip, hooks, outputs, diff.

Handlers import the notebook package lazily so other commands do not pay for it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add this family's subcommands to the `xtrack` parser."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.options import add_strip_arguments

    p = sub.add_parser(
        "strip",
        help="strip outputs, counts and volatile metadata from notebooks",
        description="Strip notebooks in place (outputs are archived in the run store), or "
        "stdin to stdout with `-`. Options follow nbstripout.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="notebooks or folders; - for stdin")
    p.add_argument("--dry-run", action="store_true", help="list what would change, write nothing")
    p.add_argument(
        "--verify", action="store_true", help="like --dry-run, but exit 1 if anything would change"
    )
    p.add_argument(
        "-t", "--textconv", action="store_true", help="print stripped notebooks to stdout"
    )
    p.add_argument(
        "-f", "--force", action="store_true", help="strip files without a .ipynb extension too"
    )
    p.add_argument("--mode", choices=["jupyter", "zeppelin"], default="jupyter")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any input is not a valid notebook (it is still left unchanged)",
    )
    p.add_argument(
        "--no-archive", action="store_true", help="do not keep stripped outputs in the run store"
    )
    add_strip_arguments(p)
    p.set_defaults(func=cmd_strip)

    hooks = sub.add_parser("hooks", help="git filter, diff and merge drivers for notebooks")
    hsub = hooks.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    for name, func, text in (
        ("install", cmd_hooks_install, "set up the filter, diff/merge drivers and attributes"),
        ("status", cmd_hooks_status, "show what is installed and where"),
        ("uninstall", cmd_hooks_uninstall, "remove exactly what install added"),
    ):
        hp = hsub.add_parser(name, help=text, description=text)
        hp.add_argument("--global", dest="global_", action="store_true", help="user-wide config")
        hp.add_argument("--attributes", type=Path, metavar="PATH", help="attributes file to use")
        if name == "install":
            hp.add_argument(
                "--pre-commit", action="store_true", help="also add a pre-commit hook entry"
            )
            hp.add_argument(
                "--no-archive", action="store_true", help="filter without archiving outputs"
            )
            add_strip_arguments(hp)
        hp.set_defaults(func=func)

    outputs = sub.add_parser("outputs", help="archived notebook outputs")
    osub = outputs.add_subparsers(dest="outputs_command", metavar="ACTION", required=True)
    rp = osub.add_parser(
        "restore",
        help="put archived outputs back into stripped notebooks",
        description="Restore outputs archived when notebooks were stripped, matching cells by "
        "id and source; cells changed since are listed and left without outputs. The newest "
        "archived outputs win (those of this exact notebook first); --version picks an older "
        "version from `xtrack outputs list`.",
    )
    rp.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    rp.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    rp.add_argument(
        "--version",
        metavar="ID",
        help="restore the outputs as archived by this version (an id, or its start, from "
        "`xtrack outputs list`); one notebook only",
    )
    rp.set_defaults(func=cmd_outputs_restore)
    lp = osub.add_parser(
        "list",
        help="list archived versions of a notebook's outputs",
        description="Each line is one archiving (a `git add`, a strip) and the cells whose "
        "outputs were new then, newest first.",
    )
    lp.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    lp.set_defaults(func=cmd_outputs_list)

    dp = sub.add_parser(
        "diff",
        help="notebook-aware diff of two notebooks or two runs' notebooks (nbdime)",
        description="A and B are notebook files or run references (#12, 12, an id prefix).",
    )
    dp.add_argument("a", metavar="A")
    dp.add_argument("b", metavar="B")
    dp.add_argument(
        "--lineage",
        action="store_true",
        help="for runs, diff the executed lineage instead of the saved notebook",
    )
    fmt = dp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print nbdime's JSON diff format")
    fmt.add_argument("--html", type=Path, metavar="FILE", help="write a standalone HTML page")
    dp.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    dp.add_argument("--max-bytes", type=int, default=50_000_000, help="size guard per notebook")
    dp.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    dp.set_defaults(func=cmd_diff)


def _err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


# --- strip ------------------------------------------------------------------------------


def _expand(paths: list[str], force: bool) -> list[str]:
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(folder, f) for f in sorted(files) if f.endswith(".ipynb")]
        elif force or path.endswith((".ipynb", ".zpln")):
            found.append(path)
    return found


def _write_atomically(path: str, data: bytes) -> None:
    tmp = f"{path}.xtrack-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    try:
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    except OSError:
        pass
    os.replace(tmp, path)


def cmd_strip(args: argparse.Namespace) -> int:
    """`xtrack strip`: see the parser's help."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.options import options_from_args, read_git_strip_config
    from jupyter_xtrack.notebook.strip import strip_bytes, strip_zeppelin_bytes

    try:
        options = options_from_args(args, read_git_strip_config())
    except ValueError as exc:
        _err(f"xtrack strip: {exc}")
        return 2
    dry_run = args.dry_run or args.verify

    def strip(data: bytes) -> Any:
        if args.mode == "zeppelin":
            return strip_zeppelin_bytes(data)
        return strip_bytes(data, options)

    any_change = False
    failed = False
    paths = list(args.paths)
    if not paths or paths == ["-"]:
        if not paths and sys.stdin.isatty():
            _err("xtrack strip: give notebook paths, or - to read a notebook from stdin")
            return 2
        data = sys.stdin.buffer.read()
        result = strip(data) if data.strip() else None
        if result is not None and result.error:
            _err(f"xtrack strip: stdin: {result.error}; passed through unchanged")
            failed = True
        if result is not None:
            for warning in result.warnings:
                _err(f"xtrack strip: {warning}")
        changed = bool(result and result.changed)
        if dry_run:
            if changed:
                sys.stdout.write("Dry run: would have stripped input from stdin\n")
        else:
            sys.stdout.buffer.write(result.data if result else data)
            sys.stdout.flush()
        any_change = changed
    else:
        for path in _expand(paths, args.force):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                _err(f"xtrack strip: cannot read {path}: {exc.strerror}")
                failed = True
                continue
            result = strip(data)
            if result.error:
                _err(f"xtrack strip: {path}: {result.error}; left unchanged")
                failed = True
                continue
            for warning in result.warnings:
                _err(f"xtrack strip: {path}: {warning}")
            any_change |= result.changed
            if dry_run:
                if result.changed:
                    sys.stdout.write(f"Dry run: would have stripped {path}\n")
                continue
            if args.textconv:
                sys.stdout.buffer.write(result.data)
                continue
            if result.data != data:
                if result.removed and not args.no_archive:
                    _archive(path, result)
                _write_atomically(path, result.data)
    if args.verify and any_change:
        return 1
    if args.strict and failed:
        return 1
    return 0


def _archive(path: str, result: Any) -> None:
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.archive import archive_now

    try:
        archive_now(path, result)
    except Exception as exc:  # archiving is a bonus; the strip the user asked for goes on
        _err(f"xtrack strip: {path}: outputs not archived ({exc}); use --no-archive to skip")


# --- hooks ------------------------------------------------------------------------------


def cmd_hooks_install(args: argparse.Namespace) -> int:
    """`xtrack hooks install`."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook import hooks
    from jupyter_xtrack.notebook.options import options_from_args, options_to_argv

    try:
        strip_args = options_to_argv(options_from_args(args))
    except ValueError as exc:
        _err(f"xtrack hooks install: {exc}")
        return 2
    if args.no_archive:
        strip_args.append("--no-archive")
    try:
        done = hooks.install(
            Path.cwd(),
            global_=args.global_,
            attributes=args.attributes,
            pre_commit=args.pre_commit,
            strip_args=strip_args,
        )
    except hooks.HooksError as exc:
        _err(f"xtrack hooks install: {exc}")
        return 1
    for line in done:
        print(line)
    if not done:
        print("already installed; nothing changed")
    return 0


def cmd_hooks_uninstall(args: argparse.Namespace) -> int:
    """`xtrack hooks uninstall`."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook import hooks

    try:
        done = hooks.uninstall(Path.cwd(), global_=args.global_, attributes=args.attributes)
    except hooks.HooksError as exc:
        _err(f"xtrack hooks uninstall: {exc}")
        return 1
    for line in done:
        print(line)
    if not done:
        print("nothing to remove")
    return 0


def cmd_hooks_status(args: argparse.Namespace) -> int:
    """`xtrack hooks status`: exit 0 if the filter applies to notebooks here, else 1."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook import hooks

    st = hooks.status(Path.cwd(), attributes=args.attributes)
    print("notebook filter: " + ("installed" if st.installed else "not installed"))
    for scope, values in st.config.items():
        print(f"git config ({scope}):")
        for key, value in values.items():
            print(f"  {key} = {value}")
    for file, lines in st.attribute_files.items():
        print(f"attributes ({file}):")
        for line in lines:
            print(f"  {line}")
    if st.effective:
        print("effective for *.ipynb: " + ", ".join(f"{k}={v}" for k, v in st.effective.items()))
    if st.pending_archive:
        print(f"stripped outputs waiting to be archived: {st.pending_archive} spool file(s)")
    for note in st.notes:
        print(f"note: {note}")
    return 0 if st.installed else 1


# --- outputs ----------------------------------------------------------------------------


def cmd_outputs_restore(args: argparse.Namespace) -> int:
    """`xtrack outputs restore`."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.archive import archive_key_path, content_hash, open_store_for
    from jupyter_xtrack.notebook.nbjson import NotebookFormatError, dump_notebook, parse_notebook
    from jupyter_xtrack.notebook.restore import (
        archived_versions,
        find_version,
        records_as_of,
        restore_outputs,
    )

    if args.version is not None and len(args.notebooks) != 1:
        _err("xtrack outputs restore: --version names the version of one notebook; give one")
        return 2
    status = 0
    for notebook in args.notebooks:
        try:
            data = notebook.read_bytes()
            nb = parse_notebook(data)
        except (OSError, NotebookFormatError) as exc:
            _err(f"xtrack outputs restore: {notebook}: {exc}")
            status = 1
            continue
        root, rel = archive_key_path(notebook)
        try:
            store = open_store_for(root)
        except Exception as exc:
            _err(f"xtrack outputs restore: cannot open the run store for {root}: {exc}")
            return 1
        try:
            records = store.archived_outputs(rel)
            if not records:
                _err(f"xtrack outputs restore: no archived outputs for {rel} in this store")
                status = 1
                continue
            versions = archived_versions(records)
            if args.version is not None:
                try:
                    records = records_as_of(records, find_version(versions, args.version))
                except LookupError as exc:
                    _err(f"xtrack outputs restore: {rel}: {exc}")
                    return 2
            report = restore_outputs(nb, records, store.get_blob, content_hash(data))
        finally:
            if hasattr(store, "close"):
                store.close()
        if report.restored and not args.dry_run:
            _write_atomically(str(notebook), dump_notebook(nb))
        verb = "would restore" if args.dry_run else "restored"
        print(f"{notebook}: {verb} outputs of {len(report.restored)} cell(s)")
        if report.changed:
            print(
                f"  {len(report.changed)} cell(s) changed since their outputs were archived "
                "and stay without outputs: " + ", ".join(report.changed)
            )
        if report.kept_existing:
            print(f"  {len(report.kept_existing)} cell(s) already had outputs and were left as is")
        if len(versions) > 1 and args.version is None:
            print(
                f"  the newest matching outputs of {len(versions)} archived versions "
                f"(`xtrack outputs list {notebook}` lists them; --version ID picks one)"
            )
    return status


def cmd_outputs_list(args: argparse.Namespace) -> int:
    """`xtrack outputs list`: archived versions of one notebook, newest first."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.archive import archive_key_path, open_store_for

    root, rel = archive_key_path(args.notebook)
    try:
        store = open_store_for(root)
    except Exception as exc:
        _err(f"xtrack outputs list: cannot open the run store for {root}: {exc}")
        return 1
    try:
        records = store.archived_outputs(rel)
    finally:
        if hasattr(store, "close"):
            store.close()
    if not records:
        print(f"no archived outputs for {rel}")
        return 1
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.restore import archived_versions

    for version in archived_versions(records):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(version.archived_at))
        notebooks = sorted({str(r["notebook_hash"])[:22] for r in version.records})
        runs = version.runs
        suffix = f" (runs: {', '.join(runs)})" if runs else ""
        print(
            f"{version.id}  {when}  {len(version.records)} cell(s) with new outputs  "
            f"notebook {', '.join(notebooks)}{suffix}"
        )
    return 0


# --- diff -------------------------------------------------------------------------------


def _diff_side(ref: str, lineage: bool) -> tuple[str, bytes]:
    """(display name, notebook bytes) for a file path or a run reference."""
    if os.path.isfile(ref):
        with open(ref, "rb") as f:
            return ref, f.read()
    # lazy: sqlite3 loads only for commands that read a store
    from jupyter_xtrack.store import open_store

    store = open_store(None, start_dir=os.getcwd())
    try:
        run_id = store.resolve_ref(ref)
        run = store.get_run(run_id)
        fact = run.get("lineage" if lineage else "notebook")
        if not fact or not fact.get("hash"):
            what = "executed lineage" if lineage else "saved notebook"
            hint = "" if lineage else " (try --lineage)"
            raise LookupError(f"run {ref} has no {what} snapshot{hint}")
        label = f"run {ref}" + (" lineage" if lineage else f" {fact.get('path', '')}".rstrip())
        return label, store.get_blob(fact["hash"])
    finally:
        if hasattr(store, "close"):
            store.close()


def cmd_diff(args: argparse.Namespace) -> int:
    """`xtrack diff A B`: exit 0 with a diff (empty when equivalent), 2 on error."""
    # lazy: each command loads only what it runs (fast `xtrack strip`)
    from jupyter_xtrack.notebook.diff import diff_notebook_bytes

    try:
        name_a, a = _diff_side(args.a, args.lineage)
        name_b, b = _diff_side(args.b, args.lineage)
    except Exception as exc:
        _err(f"xtrack diff: {exc}\n(A and B must be notebook files or run references like #12)")
        return 2
    fmt = "json" if args.json else "html" if args.html else "text"
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    outcome = diff_notebook_bytes(
        a,
        b,
        names=(name_a, name_b),
        fmt=fmt,
        color=color,
        max_bytes=args.max_bytes,
        timeout_s=args.timeout,
    )
    if outcome.error:
        _err(f"xtrack diff: {outcome.error}")
        return 2
    if args.html:
        args.html.write_text(outcome.text, encoding="utf-8")
        print(f"wrote {args.html}")
    else:
        sys.stdout.write(outcome.text)
        sys.stdout.flush()
    return 0
