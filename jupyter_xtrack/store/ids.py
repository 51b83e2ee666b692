"""Run ids: 32 lowercase hex digits laid out like UUIDv7, so they sort by creation time."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_run_id() -> str:
    """A fresh run id: 48 bits of Unix milliseconds, a 12-bit counter that keeps ids from
    one process increasing within a millisecond, and 62 random bits (UUIDv7 layout).

    Ids begin with '0' until the year 2527, which is how `resolve_ref` tells a digit-only
    id prefix (leading zero) from a run number.
    """
    global _last_ms, _counter
    # one read of the system's randomness: each is a system call that releases the GIL,
    # which a busy background thread then keeps (this runs on the cell's path)
    noise = int.from_bytes(os.urandom(10), "big")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = (noise >> 64) & 0x3FF  # leave room to count up
        counter = _counter
    rand = noise & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return f"{value:032x}"


INT64_MAX = 2**63 - 1


def run_number(ref: str) -> int | None:
    """The run number that `ref` ("12", "#12") spells, or None when it spells none (ASCII
    digits only; digits with a leading zero are an id prefix). Past 2**63 - 1 the result is
    only known to be too large (2**63), which SQLite could not even look up."""
    text = ref.strip()
    digits = text[1:] if text.startswith("#") else text
    if not (digits.isascii() and digits.isdigit()) or digits == text and text.startswith("0"):
        return None
    significant = digits.lstrip("0") or "0"
    return INT64_MAX + 1 if len(significant) > 19 else int(significant)
