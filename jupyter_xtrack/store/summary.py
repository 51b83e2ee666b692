"""Per-run summaries of params, last metric values and tags, shaped for wide reads.

Each run row holds, per namespace, a key-set id and the values in that key set's (sorted)
order: metrics as packed float64 (NaN exact), params and tags as a JSON array. Runs of one
experiment share a key set, so reading 100,000 runs means joining their value blobs and
slicing them into columns, with no per-run dictionaries.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Mapping, Sequence
from contextlib import suppress
from itertools import chain
from typing import Any

import orjson
import xxhash

from .codec import dumps, float_array, loads, may_hold_big_ints, to_le_bytes, unpack_floats
from .dialect import Conn

NAMESPACES = ("params", "metrics", "tags")
_CHUNK = 1000  # runs decoded per step when reading many runs
_IN_LIST = 500  # runs per `IN (...)` list (SQLite's bound-parameter limit)
_DROPPED = object()  # a pending change that removes its key


class FloatColumn:
    """One metrics column kept packed: `values` holds a float64 per run (NaN where a run
    lacks the key), `present` has a nonzero byte for each run that has it (None: every run
    does). Packed because building 100,000 Python floats per column, only for pandas to
    turn them back into an array, is most of the cost of a wide read."""

    __slots__ = ("present", "values")

    def __init__(self, values: array[float], present: bytearray | None = None) -> None:
        self.values = values
        self.present = present

    def __len__(self) -> int:
        return len(self.values)

    def tolist(self) -> list[Any]:
        """The values as Python floats, None where a run lacks the key (a stored NaN stays
        NaN)."""
        if self.present is None:
            return self.values.tolist()
        return [v if p else None for v, p in zip(self.values, self.present, strict=True)]


def _values_blob(ns: str, keys: tuple[str, ...], mapping: Mapping[str, Any]) -> bytes:
    values = [mapping[k] for k in keys]
    return to_le_bytes(float_array(values)) if ns == "metrics" else dumps(values)


class Summaries:
    """Encodes and decodes summaries; caches key sets (immutable once written)."""

    def __init__(self) -> None:
        self._keys: dict[int, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # -- key sets ------------------------------------------------------------------------
    # A key set's id is derived from its keys (a 64-bit hash), so an id means the same keys
    # in every process and cached lookups can never go stale, even if the transaction that
    # first wrote a key set rolls back.
    def keyset_id(self, conn: Conn, keys: tuple[str, ...]) -> int:
        """The id of key set `keys` (sorted); written inside the caller's transaction."""
        text = dumps(list(keys)).decode()
        ks = xxhash.xxh3_64_intdigest(text.encode()) - 2**63
        cur = conn.execute("INSERT OR IGNORE INTO keysets(id, keys) VALUES (?, ?)", (ks, text))
        # A key set known here needs no check (nor, on PostgreSQL, the insert's reply).
        if ks not in self._keys and cur.rowcount == 0:
            (stored,) = conn.execute("SELECT keys FROM keysets WHERE id = ?", (ks,)).fetchone()
            if stored != text:  # a 64-bit collision: refuse rather than mislabel values
                raise RuntimeError(f"key set hash collision between {stored} and {text}")
        with self._lock:
            self._keys[ks] = keys
        return ks

    def keyset(self, conn: Conn, ks: int) -> tuple[str, ...]:
        """The keys of key set `ks`."""
        keys = self._keys.get(ks)
        if keys is None:
            row = conn.execute("SELECT keys FROM keysets WHERE id = ?", (ks,)).fetchone()
            if row is None:
                raise LookupError(f"key set {ks} is missing from the store")
            keys = tuple(orjson.loads(row[0]))
            with self._lock:
                self._keys[ks] = keys
        return keys

    # -- one run -------------------------------------------------------------------------
    def decode(self, conn: Conn, ns: str, ks: int | None, blob: bytes | None) -> dict[str, Any]:
        """The mapping whose key set and values blob these are."""
        if ks is None or blob is None:
            return {}
        keys = self.keyset(conn, ks)
        values = unpack_floats(blob).tolist() if ns == "metrics" else loads(blob)
        return dict(zip(keys, values, strict=True))

    # -- many runs -----------------------------------------------------------------------
    def columns(
        self,
        conn: Conn,
        ns: str,
        keysets: Sequence[int | None],
        blobs: Sequence[bytes | None],
    ) -> dict[str, list[Any] | FloatColumn]:
        """Column per key for runs given as parallel sequences of key-set ids and value
        blobs: a FloatColumn for metrics, else a list with None where a run lacks the key."""
        n = len(keysets)
        groups: dict[int, list[int]] = {}
        first = keysets[0] if n else None
        if n and first is not None and keysets.count(first) == n:
            groups[first] = []  # every run shares one key set: no index lists needed
        else:
            for i, ks in enumerate(keysets):
                if ks is not None:
                    groups.setdefault(ks, []).append(i)
        if ns == "metrics":
            return dict(self._metric_columns(conn, n, groups, blobs))
        out: dict[str, list[Any]] = {}
        for ks, rows in groups.items():
            keys = self.keyset(conn, ks)
            picked = blobs if not rows else [blobs[i] for i in rows]
            cols = self._json_columns(keys, picked)
            for key, col in zip(keys, cols, strict=True):
                if not rows:
                    out[key] = col
                    continue
                target = out.get(key)
                if target is None:
                    target = out[key] = [None] * n
                for i, value in zip(rows, col, strict=True):
                    target[i] = value
        return dict(out)

    def _metric_columns(
        self,
        conn: Conn,
        n: int,
        groups: dict[int, list[int]],
        blobs: Sequence[bytes | None],
    ) -> dict[str, FloatColumn]:
        out: dict[str, FloatColumn] = {}
        for ks, rows in groups.items():
            keys = self.keyset(conn, ks)
            width = len(keys)
            picked = blobs if not rows else [blobs[i] for i in rows]
            # Run-major float64s; a strided slice of the array is one key's column.
            given = [b for b in picked if b is not None]
            flat = array("d")
            for start in range(0, len(given), _CHUNK):
                flat.extend(unpack_floats(b"".join(given[start : start + _CHUNK])))
            for j, key in enumerate(keys):
                col = flat[j::width]
                if not rows:
                    out[key] = FloatColumn(col)
                    continue
                target = out.get(key)
                if target is None:
                    target = out[key] = FloatColumn(array("d", [math.nan]) * n, bytearray(n))
                assert target.present is not None
                values, present = target.values, target.present
                for i, value in zip(rows, col, strict=True):
                    values[i] = value
                    present[i] = 1
        for packed in out.values():
            if packed.present is not None and packed.present.count(0) == 0:
                packed.present = None  # every run has it after all
        return out

    def _json_columns(
        self, keys: tuple[str, ...], blobs: Sequence[bytes | None]
    ) -> list[list[Any]]:
        width = len(keys)
        present = [b for b in blobs if b is not None]
        # Parse a chunk of runs at a time into one run-major flat list, then slice each
        # column out with a stride: no transposing through per-run tuples, and chunks
        # small enough to reuse freed memory instead of faulting in 40 MB of fresh pages.
        flat: list[Any] = []
        for start in range(0, len(present), _CHUNK):
            chunk = present[start : start + _CHUNK]
            joined = b"[" + b",".join(chunk) + b"]"
            parsed = None
            if not may_hold_big_ints(joined):
                with suppress(orjson.JSONDecodeError):  # some hold NaN/Infinity
                    parsed = orjson.loads(joined)
            if parsed is None:
                parsed = [loads(b) for b in chunk]
            flat.extend(chain.from_iterable(parsed))
        if len(flat) != width * len(present):
            raise ValueError(f"stored values do not match their key set {list(keys)}")
        return [flat[j::width] for j in range(width)]


class PendingMerges:
    """Summary changes made inside one write transaction, merged into the runs' rows once,
    just before it commits (or before a read on the same connection needs them).

    A push writes params, tags and metrics of each run in separate contract calls; merging
    each at once cost a SELECT and an UPDATE of the run's row per call, plus a key-set
    insert per namespace, which on a database server is a round trip each. Deferred, a
    transaction of 100 runs costs one SELECT per 500 runs, one key-set insert per distinct
    key set and one batched UPDATE."""

    def __init__(self, summaries: Summaries) -> None:
        self._summaries = summaries
        self._changes: dict[int, dict[str, dict[str, Any]]] = {}
        # Runs created in this transaction whose summaries are still empty: not read back.
        self.blank: set[int] = set()

    def add(
        self, number: int, ns: str, updates: Mapping[str, Any], drop: str | None = None
    ) -> None:
        """Note that run `number`'s `ns` summary gains `updates` and loses key `drop`."""
        change = self._changes.setdefault(number, {}).setdefault(ns, {})
        change.update(updates)
        if drop is not None:
            change[drop] = _DROPPED

    def flush(self, conn: Conn) -> None:
        """Merge every pending change into the runs' rows (inside the caller's transaction)."""
        changes, self._changes = self._changes, {}
        blank = [n for n in changes if n in self.blank]
        if blank:
            self.blank.difference_update(blank)
            self._update(conn, [((n, None, None, None, None, None, None), changes[n]) for n in blank])
        numbers = [n for n in changes if n not in blank]
        for start in range(0, len(numbers), _IN_LIST):
            part = numbers[start : start + _IN_LIST]
            marks = ", ".join("?" * len(part))
            rows = conn.execute(
                "SELECT number, params_keys, params_vals, metrics_keys, metrics_vals, "
                f"tags_keys, tags_vals FROM runs WHERE number IN ({marks})",
                part,
            ).fetchall()
            self._update(conn, [(row, changes[row[0]]) for row in rows])

    def _update(
        self, conn: Conn, rows: list[tuple[tuple[Any, ...], dict[str, dict[str, Any]]]]
    ) -> None:
        merged: list[tuple[int, str, dict[str, Any]]] = []
        for row, by_ns in rows:
            for ns, change in by_ns.items():
                i = 1 + 2 * NAMESPACES.index(ns)
                summary = self._summaries.decode(conn, ns, row[i], row[i + 1])
                summary.update(change)
                merged.append((row[0], ns, {k: v for k, v in summary.items() if v is not _DROPPED}))
        keysets: dict[tuple[str, ...], int] = {}
        statements: dict[str, list[tuple[Any, ...]]] = {}
        for number, ns, summary in merged:
            keys = tuple(sorted(summary))
            if keys and keys not in keysets:
                keysets[keys] = self._summaries.keyset_id(conn, keys)
            values = (keysets[keys], _values_blob(ns, keys, summary)) if keys else (None, None)
            # ns is one of three fixed names (never user input), so it may name columns.
            sql = f"UPDATE runs SET {ns}_keys = ?, {ns}_vals = ? WHERE number = ?"
            statements.setdefault(sql, []).append((*values, number))
        for sql, args in statements.items():
            conn.executemany(sql, args)
