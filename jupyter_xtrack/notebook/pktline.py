"""git's pkt-line framing: 4 hex digits of length (including themselves), then the payload.

`0000` is a flush packet that ends a list. Payloads are at most 65516 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

MAX_PAYLOAD = 65516
FLUSH = b"0000"


class ProtocolError(Exception):
    """The other side broke the pkt-line framing or the filter protocol."""


def read_packet(stream: BinaryIO) -> bytes | None:
    """Read one packet: its payload, or None for a flush packet.

    Raises EOFError on a clean end of input before a packet starts, ProtocolError on a
    truncated or malformed packet.
    """
    head = stream.read(4)
    if not head:
        raise EOFError
    if len(head) < 4:
        raise ProtocolError(f"truncated pkt-line header {head!r}")
    try:
        size = int(head, 16)
    except ValueError:
        raise ProtocolError(f"bad pkt-line header {head!r}") from None
    if size == 0:
        return None
    if size < 4:
        raise ProtocolError(f"bad pkt-line length {size}")
    payload = stream.read(size - 4)
    if len(payload) != size - 4:
        raise ProtocolError("truncated pkt-line payload")
    return payload


def read_text_list(stream: BinaryIO) -> list[str]:
    """Read text packets ("key=value\\n") up to the next flush; return them without newlines."""
    lines: list[str] = []
    while (packet := read_packet(stream)) is not None:
        lines.append(packet.decode("utf-8", "replace").rstrip("\n"))
    return lines


def read_content(stream: BinaryIO) -> bytes:
    """Read binary packets up to the next flush and return them joined."""
    parts: list[bytes] = []
    while (packet := read_packet(stream)) is not None:
        parts.append(packet)
    return b"".join(parts)


def encode_text(lines: Iterable[str]) -> bytes:
    """Encode lines as text packets followed by a flush."""
    out = [b"%04x%s\n" % (len(line.encode()) + 5, line.encode()) for line in lines]
    out.append(FLUSH)
    return b"".join(out)


def encode_content(data: bytes) -> bytes:
    """Encode bytes as binary packets followed by a flush."""
    out = []
    view = memoryview(data)
    for start in range(0, len(data), MAX_PAYLOAD):
        chunk = view[start : start + MAX_PAYLOAD]
        out.append(b"%04x" % (len(chunk) + 4))
        out.append(bytes(chunk))
    out.append(FLUSH)
    return b"".join(out)
