"""`xtrack models ...`: register a run's model, list and search models, show what data and
code made a version, move aliases, read the alias history."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..records.formatting import fmt_bytes, fmt_short
from .runs import (
    _dump,
    _fail,
    _reading_store,
    _store,
    _user_errors,
    _when,
    render_table,
    store_options,
)

if TYPE_CHECKING:
    from ..registry import AliasChange, ModelVersion

CODE_LINES = 15
# The imported distributions `show` names (with versions); the others are counted.
_MODEL_LIBRARIES = (
    "scikit-learn",
    "torch",
    "tensorflow",
    "keras",
    "xgboost",
    "lightgbm",
    "catboost",
    "transformers",
    "pandas",
    "numpy",
    "scipy",
    "polars",
)


def register(sub: Any) -> None:
    """Add `models register/ls/show/alias/history` to the `xtrack` parser."""
    common = store_options(json=True)
    models = sub.add_parser("models", help="the model registry: versions, aliases, lineage")
    cmds = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser(
        "register", parents=[common], help="register a run's model: RUN [ARTIFACT] NAME"
    )
    p.add_argument("run", help="run number (12 or #12), id, or RUN:artifact")
    p.add_argument("names", nargs="+", metavar="[ARTIFACT] NAME")
    p.add_argument("--alias", action="append", default=[], help="an alias to set (repeatable)")
    p.add_argument("--tag", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    p.add_argument("--description")
    p.set_defaults(func=cmd_register)

    p = cmds.add_parser("ls", parents=[common], help="list models (QUERY: name part, k=v, @alias)")
    p.add_argument("query", nargs="*")
    p.set_defaults(func=cmd_ls)

    p = cmds.add_parser("show", parents=[common], help="a version and what data and code made it")
    p.add_argument("uri", help="NAME, NAME@ALIAS, NAME/VERSION or models:/...")
    p.set_defaults(func=cmd_show)

    p = cmds.add_parser(
        "alias", parents=[common], help="point ALIAS at VERSION, or --delete it (kept in history)"
    )
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("version", type=int, nargs="?")
    p.add_argument("--delete", action="store_true", help="remove the alias (give no VERSION)")
    p.add_argument("--reason")
    p.add_argument("--evaluation", help="the evaluation run that justified the move")
    p.set_defaults(func=cmd_alias)

    p = cmds.add_parser("history", parents=[common], help="every change of a model's aliases")
    p.add_argument("name")
    p.add_argument("alias", nargs="?")
    p.set_defaults(func=cmd_history)


def _registry(args: argparse.Namespace, *, write: bool = False) -> Any:
    from ..registry import Registry  # lazy: sqlite3 and the records load only here

    return Registry(_store(args) if write else _reading_store(args))


def cmd_register(args: argparse.Namespace) -> int:
    if len(args.names) > 2:
        return _fail("usage: xtrack models register RUN [ARTIFACT] NAME")
    artifact, name = args.names if len(args.names) == 2 else (None, args.names[0])
    try:
        tags = dict(_pair(t) for t in args.tag)
        version = _registry(args, write=True).register(
            args.run,
            name,
            artifact=artifact,
            aliases=args.alias,
            tags=tags,
            description=args.description,
        )
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump(_version_json(version))
    else:
        aliases = f" ({', '.join(version.aliases)})" if version.aliases else ""
        print(
            f"registered {version.name}/{version.version}{aliases} from run "
            f"{version.run_id} artifact {version.artifact!r}"
        )
    return 0


def _pair(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise ValueError(f"--tag {text!r}: write it as key=value")
    return key, value


def cmd_ls(args: argparse.Namespace) -> int:
    try:
        models = _registry(args).models(" ".join(args.query) or None)
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump([vars(m) for m in models])
        return 0
    if not models:
        print("no registered models" + (f" match {' '.join(args.query)!r}" if args.query else ""))
        return 0
    print(
        render_table(
            [
                {
                    "model": m.name,
                    "latest": "" if m.latest_version is None else str(m.latest_version),
                    "versions": str(m.versions),
                    "aliases": ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())),
                    "tags": ", ".join(f"{k}={v}" for k, v in sorted(m.tags.items())),
                    "updated": _when(m.updated_at),
                }
                for m in models
            ]
        )
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        version = _registry(args).get(args.uri)
        lineage = version.lineage()
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump({**_version_json(version), "lineage": lineage})
    else:
        print(show_text(version, lineage))
    return 0


def show_text(version: ModelVersion, lineage: dict[str, Any]) -> str:
    """A version and the answer to "what data and code made this model"."""
    size = f", {fmt_bytes(version.size)}" if version.size is not None else ""
    lines = [
        f"{version.name}/{version.version}"
        + (f"  aliases: {', '.join(version.aliases)}" if version.aliases else ""),
        f"  registered  {_when(version.created_at)} by {version.user or '?'}",
        f"  artifact    {version.artifact} ({version.format or 'unknown format'}{size})",
    ]
    if version.tags:
        lines.append(
            "  tags        " + ", ".join(f"{k}={v}" for k, v in sorted(version.tags.items()))
        )
    if version.description:
        lines.append(f"  description {version.description}")
    run = lineage.get("run")
    if run is None:
        lines.append(f"what made it: run {version.run_id} is no longer in the store")
        return "\n".join(lines)
    lines.append("what made it:")
    lines.append(
        f"  run         #{run['number']} {run['name'] or ''} ({run['status']}, "
        f"experiment {run['experiment']})"
    )
    if lineage["notebook_path"] or lineage["cell_id"]:
        lines.append(
            f"  notebook    {lineage['notebook_path'] or '?'}, cell {lineage['cell_id'] or '?'}"
        )
    git = lineage["git"]
    if git.get("commit"):
        dirty = ", uncommitted changes" if git.get("dirty") else ""
        lines.append(
            f"  git         {git['commit'][:12]} ({git.get('branch') or 'detached'}{dirty})"
        )
    lines += _code_lines(lineage)
    for f in lineage["inputs"]:
        lines.append(
            f"  input       {f.get('path')}  {f.get('hash') or 'not hashed'}"
            + (f"  {fmt_bytes(f['size'])}" if f.get("size") is not None else "")
        )
    for d in lineage["datasets"]:
        lines.append(
            f"  dataset     {d.get('name')}  {d.get('kind', '')} {fmt_short(d.get('shape'))}"
            f"  {d.get('hash') or ''}"
        )
    lines.append("  environment " + _environment(lineage["environment"]))
    if lineage["metrics"]:
        lines.append(
            "  metrics     "
            + ", ".join(f"{k}={fmt_short(v)}" for k, v in sorted(lineage["metrics"].items()))
        )
    return "\n".join(lines)


def _code_lines(lineage: dict[str, Any]) -> list[str]:
    code = (lineage.get("code") or "").splitlines()
    if not code:
        return []
    out = [
        "  code        (the tracked cell"
        + (f", first {CODE_LINES} of {len(code)} lines)" if len(code) > CODE_LINES else ")")
    ]
    out += [f"    {line}" for line in code[:CODE_LINES]]
    before = len(lineage.get("executed_cells") or [])
    if before:
        out.append(
            f"  lineage     {before} executed cells (xtrack show #{lineage['run']['number']})"
        )
    return out


def _environment(env: dict[str, Any]) -> str:
    head = f"Python {env.get('python') or '?'}, {env.get('platform') or '?'}"
    packages: dict[str, str] = env.get("packages") or {}
    first = [k for k in _MODEL_LIBRARIES if k in packages]
    shown = ", ".join(f"{k} {packages[k]}" for k in first)
    more = len(packages) - len(first)
    return head + (f"; {shown}" if shown else "") + (f" (+{more} imported)" if more else "")


def cmd_alias(args: argparse.Namespace) -> int:
    if args.delete == (args.version is not None):
        return _fail("give either a VERSION to point the alias at, or --delete to remove it")
    try:
        registry = _registry(args, write=True)
        if args.delete:
            change = registry.delete_alias(args.name, args.alias, reason=args.reason)
        else:
            change = registry.set_alias(
                args.name, args.alias, args.version, reason=args.reason, evaluation=args.evaluation
            )
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump(vars(change))
    else:
        print(_change_line(change))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    try:
        changes = _registry(args).history(args.name, args.alias)
    except _user_errors() as exc:
        return _fail(str(exc))
    if args.json:
        _dump([vars(c) for c in changes])
    elif not changes:
        print(f"no alias changes for {args.name}" + (f"@{args.alias}" if args.alias else ""))
    else:
        print("\n".join(_change_line(c) for c in changes))
    return 0


def _change_line(change: AliasChange) -> str:
    before = "—" if change.from_version is None else str(change.from_version)
    after = "removed" if change.to_version is None else str(change.to_version)
    why = f"  {change.reason}" if change.reason else ""
    evaluation = f"  (evaluation {change.evaluation[:12]})" if change.evaluation else ""
    return (
        f"{_when(change.at)}  {change.name}@{change.alias}  {before} → {after}  "
        f"by {change.user or '?'}{why}{evaluation}"
    )


def _version_json(version: ModelVersion) -> dict[str, Any]:
    return {k: v for k, v in vars(version).items() if k not in ("store", "run")}
