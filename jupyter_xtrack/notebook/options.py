"""The strip options as command-line flags, shared by `xtrack strip`, the git filter and pre-commit.

Spellings and meanings follow nbstripout so that existing habits, scripts and git config carry
over; `git config filter.xtrack.extrakeys` / `filter.xtrack.keepmetadatakeys` add to the flags
the way nbstripout's `filter.nbstripout.*` keys do (and those are read too in compat mode).
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Mapping

from .strip import StripOptions, parse_size, split_words


def add_strip_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the nbstripout-compatible stripping flags to `parser`."""
    g = parser.add_argument_group("what to strip (nbstripout-compatible)")
    g.add_argument("--keep-output", action="store_true", default=None, help="keep outputs")
    g.add_argument("--keep-count", action="store_true", help="keep execution counts")
    g.add_argument(
        "--keep-id",
        action="store_true",
        default=None,
        help="keep cell ids (the default here; with --nbstripout-compat ids become 0, 1, ...)",
    )
    g.add_argument(
        "--extra-keys",
        action="append",
        default=[],
        metavar="KEYS",
        help='more metadata keys to remove, e.g. "metadata.foo cell.metadata.bar"',
    )
    g.add_argument(
        "--keep-metadata-keys",
        action="append",
        default=[],
        metavar="KEYS",
        help='metadata keys to keep although removed by default, e.g. "cell.metadata.scrolled"',
    )
    g.add_argument(
        "--drop-empty-cells", action="store_true", help="remove cells whose source is blank"
    )
    g.add_argument(
        "--drop-tagged-cells",
        action="append",
        default=[],
        metavar="TAGS",
        help='remove cells carrying any of these tags, e.g. "scratch private"',
    )
    g.add_argument(
        "--strip-init-cells",
        action="store_true",
        help="strip outputs of cells with init_cell: true as well",
    )
    g.add_argument(
        "--max-size",
        default="0",
        metavar="SIZE",
        help="keep outputs no larger than SIZE (bytes; k/M/G suffixes)",
    )
    g.add_argument(
        "--nbstripout-compat",
        action="store_true",
        help="use nbstripout's defaults and output format exactly (byte-identical results)",
    )


def read_git_strip_config(cwd: str | None = None) -> dict[str, str]:
    """Read `filter.{xtrack,nbstripout}.{extrakeys,keepmetadatakeys}` from git config.

    Returns {} outside a repository or without git: configuration is optional.
    """
    try:
        proc = subprocess.run(
            [
                "git",
                "config",
                "--get-regexp",
                r"^filter\.(xtrack|nbstripout)\.(extrakeys|keepmetadatakeys)$",
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        found[key.lower()] = (found.get(key.lower(), "") + " " + value).strip()
    return found


def options_from_args(
    args: argparse.Namespace, git_config: Mapping[str, str] | None = None
) -> StripOptions:
    """Build StripOptions from parsed flags plus git config keys (flags and config add up).

    Raises ValueError with a usable message for a bad --max-size.
    """
    config = git_config or {}
    drivers = ["xtrack", "nbstripout"] if args.nbstripout_compat else ["xtrack"]
    extra = [config.get(f"filter.{d}.extrakeys", "") for d in drivers]
    keep = [config.get(f"filter.{d}.keepmetadatakeys", "") for d in drivers]
    return StripOptions(
        keep_output=args.keep_output,
        keep_count=args.keep_count,
        keep_id=args.keep_id,
        extra_keys=split_words([*extra, *args.extra_keys]),
        keep_metadata_keys=split_words([*keep, *args.keep_metadata_keys]),
        drop_empty_cells=args.drop_empty_cells,
        drop_tagged_cells=split_words(args.drop_tagged_cells),
        strip_init_cells=args.strip_init_cells,
        max_size=parse_size(args.max_size),
        nbstripout_compat=args.nbstripout_compat,
    )


def options_to_argv(options: StripOptions) -> list[str]:
    """The flags that reproduce `options` (to write into the git filter's command line)."""
    argv: list[str] = []
    if options.keep_output:
        argv.append("--keep-output")
    if options.keep_count:
        argv.append("--keep-count")
    if options.keep_id:
        argv.append("--keep-id")
    if options.extra_keys:
        argv += ["--extra-keys", " ".join(options.extra_keys)]
    if options.keep_metadata_keys:
        argv += ["--keep-metadata-keys", " ".join(options.keep_metadata_keys)]
    if options.drop_empty_cells:
        argv.append("--drop-empty-cells")
    if options.drop_tagged_cells:
        argv += ["--drop-tagged-cells", " ".join(options.drop_tagged_cells)]
    if options.strip_init_cells:
        argv.append("--strip-init-cells")
    if options.max_size:
        argv += ["--max-size", str(options.max_size)]
    if options.nbstripout_compat:
        argv.append("--nbstripout-compat")
    return argv
