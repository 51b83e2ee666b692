"""A bounded preview of an artifact for the sidebar's run detail: the head of a text, CSV or
Parquet file as text or a table, JSON parsed, HTML as text for a sandboxed frame.

A preview never reads more than a fixed head of the file (a Parquet file: its first row
group's first rows), so a 10 GB artifact costs the same as a small one, and the sidebar
never downloads a file to show its first lines.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

TEXT_BYTES = 64 * 1024  # the head of a text, CSV or HTML file that is read
JSON_BYTES = 1 << 20  # JSON up to this size is parsed whole; larger shows as text
TABLE_ROWS = 50
TABLE_COLUMNS = 200

_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".log",
        ".md",
        ".py",
        ".yaml",
        ".yml",
        ".toml",
        ".cfg",
        ".ini",
        ".tsv",
        ".sql",
        ".sh",
        ".r",
        ".jl",
    }
)


def preview_kind(name: str, media_type: str) -> str:
    """How an artifact is previewed: image, table, json, html, text or none (binary)."""
    suffix = Path(name).suffix.lower()
    if media_type in _IMAGE_TYPES:
        return "image"
    if suffix in (".csv", ".parquet", ".pq") or media_type == "text/csv":
        return "table"
    if suffix == ".json" or media_type == "application/json":
        return "json"
    if suffix in (".html", ".htm") or media_type == "text/html":
        return "html"
    if media_type.startswith("text/") or suffix in _TEXT_SUFFIXES:
        return "text"
    return "none"


def preview_file(path: Path, name: str, media_type: str) -> dict[str, Any]:
    """The preview of the file at `path` (see the module docstring). A file that cannot be
    read as its kind says why under `error` instead of failing the request."""
    kind = preview_kind(name, media_type)
    out: dict[str, Any] = {
        "name": name,
        "media_type": media_type,
        "kind": kind,
        "size": path.stat().st_size,
        "truncated": False,
    }
    try:
        if kind == "table":
            out.update(
                _parquet(path)
                if Path(name).suffix.lower() in (".parquet", ".pq")
                else _csv(path, name)
            )
        elif kind == "json":
            out.update(_json(path))
        elif kind in ("text", "html"):
            out.update(_text(path))
    except Exception as exc:  # noqa: BLE001 - a damaged file is shown as such, not a 500
        out.update(kind="none", error=f"cannot preview {name}: {type(exc).__name__}: {exc}")
    return out


def _head(path: Path, limit: int) -> tuple[bytes, bool]:
    with path.open("rb") as f:
        data = f.read(limit + 1)
    return data[:limit], len(data) > limit


def _text(path: Path) -> dict[str, Any]:
    data, truncated = _head(path, TEXT_BYTES)
    if truncated:  # never end on half a character or half a line
        data = data[: data.rfind(b"\n") + 1] or data
    return {"text": data.decode("utf-8", errors="replace"), "truncated": truncated}


def _json(path: Path) -> dict[str, Any]:
    if path.stat().st_size > JSON_BYTES:
        return {"kind": "text", **_text(path)}
    return {"json": orjson.loads(path.read_bytes())}


def _csv(path: Path, name: str) -> dict[str, Any]:
    data, truncated = _head(path, TEXT_BYTES)
    lines = data.decode("utf-8", errors="replace").splitlines()
    if truncated:
        lines = lines[:-1]  # the last line may be cut
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines[: TABLE_ROWS + 1])), delimiter=delimiter))
    header = rows[0][:TABLE_COLUMNS] if rows else []
    body = [r[:TABLE_COLUMNS] for r in rows[1:]]
    return {
        "columns": header,
        "rows": body,
        "total_rows": None if truncated else len(lines) - 1,
        "truncated": truncated or len(lines) > TABLE_ROWS + 1,
    }


def _parquet(path: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq  # lazy: only a Parquet preview needs pyarrow

    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names[:TABLE_COLUMNS]
    total = parquet.metadata.num_rows
    rows: list[list[Any]] = []
    for batch in parquet.iter_batches(batch_size=TABLE_ROWS, columns=names):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        rows = [[_cell(col[r]) for col in columns] for r in range(batch.num_rows)]
        break
    return {
        "columns": names,
        "rows": rows,
        "total_rows": total,
        "truncated": total > len(rows) or len(parquet.schema_arrow.names) > len(names),
    }


def _cell(value: Any) -> Any:
    """A Parquet value as JSON can carry it (dates, decimals and bytes as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
