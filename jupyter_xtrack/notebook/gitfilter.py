"""The git clean filter as one long-running process per git command (`filter.<driver>.process`).

git starts `python -m jupyter_xtrack.notebook.gitfilter [strip flags]` once, shakes hands
(pkt-line, version 2, capability `clean`; `smudge` passes content through), then sends every notebook it adds, diffs or checks
through the same pipe; we answer each with the stripped bytes. A notebook we cannot strip gets
`status=error` with a message on stderr, and git's `filter.<driver>.required` decides whether the
command stops; the others go through. Stripped outputs are handed to the archive at the end.

Start-up cost matters (it is paid once per git command), so this module imports only the
stripping core; the store is imported by the archive only when there is something to archive.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO, TextIO

from .archive import SpoolingArchiver
from .options import add_strip_arguments, options_from_args, read_git_strip_config
from .pktline import (
    FLUSH,
    ProtocolError,
    encode_content,
    encode_text,
    read_content,
    read_text_list,
)
from .strip import StripOptions, StripResult, strip_bytes, strip_zeppelin_bytes

OnStripped = Callable[[str, StripResult, bytes], None]  # path, result, original


def strip_for_path(path: str, data: bytes, options: StripOptions) -> StripResult:
    """Strip `data` as the notebook at `path` (Zeppelin notes by their .zpln extension)."""
    if not data.strip():
        # An empty new file: nothing to strip and nothing to lose.
        return StripResult(data, False)
    if path.endswith(".zpln"):
        return strip_zeppelin_bytes(data)
    return strip_bytes(data, options)


def serve(
    stdin: BinaryIO,
    stdout: BinaryIO,
    options: StripOptions,
    *,
    on_stripped: OnStripped | None = None,
    log: TextIO | None = None,
) -> int:
    """Run the filter protocol until git closes the pipe; return the exit status.

    Raises ProtocolError if git does not speak version 2 of the protocol or never offers
    `clean`; per-notebook problems never raise, they answer `status=error`.
    """
    log = log or sys.stderr
    welcome = read_text_list(stdin)
    if "git-filter-client" not in welcome or "version=2" not in welcome:
        raise ProtocolError(f"expected git-filter-client version=2, got {welcome!r}")
    stdout.write(encode_text(["git-filter-server", "version=2"]))
    stdout.flush()
    capabilities = read_text_list(stdin)
    if "capability=clean" not in capabilities:
        raise ProtocolError(f"git did not offer the clean capability ({capabilities!r})")
    # smudge is a pass-through, but it must be offered: with `required = true` git refuses to
    # check out (or to diff against the index) through a filter that lacks it.
    offered = ["capability=clean"]
    if "capability=smudge" in capabilities:
        offered.append("capability=smudge")
    stdout.write(encode_text(offered))
    stdout.flush()

    while True:
        try:
            header = read_text_list(stdin)
        except EOFError:
            return 0
        fields = dict(line.partition("=")[::2] for line in header)
        content = read_content(stdin)
        path = fields.get("pathname", "<unknown path>")
        if fields.get("command") == "smudge":
            stdout.write(encode_text(["status=success"]) + encode_content(content) + FLUSH)
            stdout.flush()
            continue
        if fields.get("command") != "clean":
            log.write(f"xtrack filter: {path}: unsupported command {fields.get('command')!r}\n")
            stdout.write(encode_text(["status=error"]))
            stdout.flush()
            continue
        try:
            result = strip_for_path(path, content, options)
        except Exception as exc:  # a bug in the stripper must not corrupt a commit
            result = StripResult(content, False, f"internal error {exc!r}; please report it")
        if result.error:
            log.write(f"xtrack filter: {path}: {result.error}; notebook not stripped\n")
            log.flush()
            stdout.write(encode_text(["status=error"]))
            stdout.flush()
            continue
        for warning in result.warnings:
            log.write(f"xtrack filter: {path}: {warning}\n")
        stdout.write(encode_text(["status=success"]) + encode_content(result.data) + FLUSH)
        stdout.flush()
        if on_stripped is not None and result.removed:
            on_stripped(path, result, content)


def build_parser() -> argparse.ArgumentParser:
    """The filter's command line: the strip flags plus --no-archive."""
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_xtrack.notebook.gitfilter",
        description="git long-running clean filter for notebooks (started by git, not by you).",
    )
    add_strip_arguments(parser)
    parser.add_argument(
        "--no-archive",
        action="store_true",
        help="do not keep stripped outputs in the run store",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point git runs; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        options = options_from_args(args, read_git_strip_config())
    except ValueError as exc:
        sys.stderr.write(f"xtrack filter: {exc}\n")
        return 2
    archiver = None
    if not args.no_archive and os.environ.get("XTRACK_ARCHIVE", "1") != "0":
        archiver = SpoolingArchiver(os.getcwd())
    try:
        status = serve(
            sys.stdin.buffer,
            sys.stdout.buffer,
            options,
            on_stripped=archiver.add if archiver else None,
        )
    except ProtocolError as exc:
        sys.stderr.write(f"xtrack filter: {exc}\n")
        status = 1
    finally:
        if archiver is not None:
            archiver.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
