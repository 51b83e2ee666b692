"""A notebook-diff worker process, and the frames the server and it exchange.

The server (`heavy.py`) starts `python -m jupyter_xtrack.server.diff_worker` and keeps it
for the next diff; when a diff must stop (its client left, it ran past its time), the
server ends the process, which is the only way to stop nbdime mid-diff. A frame is a JSON
header line followed by the raw byte strings whose lengths the header's `sizes` lists, so
notebooks and diffs pass through without being parsed or pickled on the server's side.

Request: {"names": ["#1", "#2"], "sizes": [len(a), len(b)]} a b
Reply:   {"ok": true, "changed": bool, "sizes": [len(base), len(diff)]} base diff
         (base: notebook a read as nbformat 4, diff: nbdime's diff of a to b, both JSON), or
         {"ok": false, "message": "..."} when a notebook cannot be read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, Any

import orjson

from .encoding import jsonable

Frame = tuple[dict[str, Any], list[bytes]]


def write_frame(out: IO[bytes], header: dict[str, Any], parts: Sequence[bytes]) -> None:
    """Send `header` (its `sizes` set from `parts`) and `parts`, then flush."""
    out.write(orjson.dumps({**header, "sizes": [len(p) for p in parts]}) + b"\n")
    for part in parts:
        out.write(part)
    out.flush()


def read_frame(source: IO[bytes]) -> Frame | None:
    """The next frame from `source`; None at a clean end of input (the other side closed
    it between frames). EOFError when it ends inside a frame."""
    line = source.readline()
    if not line:
        return None
    header = orjson.loads(line)
    parts = []
    for size in header.get("sizes", []):
        part = source.read(size)
        if len(part) != size:
            raise EOFError(f"the frame ended after {len(part)} of {size} bytes")
        parts.append(part)
    return header, parts


def compute(header: dict[str, Any], parts: Sequence[bytes]) -> Frame:
    """The reply to one request: base notebook and nbdime diff as JSON, or the reason."""
    from ..notebook.diff import notebook_diff

    names = (str(header["names"][0]), str(header["names"][1]))
    try:
        base, diff = notebook_diff(parts[0], parts[1], names)
    except ValueError as exc:
        return {"ok": False, "message": str(exc)}, []
    encoded = [orjson.dumps(jsonable(base)), orjson.dumps(jsonable(diff))]
    return {"ok": True, "changed": bool(diff)}, encoded


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Answer requests until `source` ends."""
    while (frame := read_frame(source)) is not None:
        write_frame(out, *compute(*frame))


def main() -> int:
    """The worker's entry point: frames on stdin and stdout, everything else to stderr."""
    source, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt a frame
    if hasattr(os, "nice"):
        os.nice(10)  # a diff yields the CPU to the server's ordinary requests
    serve(source, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
