"""Put archived outputs back into a stripped notebook (after a clone, checkout or strip).

Cells are matched by id (or position, for notebooks without ids) *and* source: outputs are only
restored into a cell whose source is exactly what produced them. Records from the archived
version whose stripped bytes equal this notebook win; otherwise the newest matching record does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .archive import cell_key, source_hash
from .nbjson import Notebook


@dataclass
class RestoreReport:
    """What restore did: restored cell keys, cells whose source changed since (left without
    outputs), and cells that have other outputs than the archived ones (left alone). Cells
    whose outputs were kept but whose execution counts were stripped get their counts back."""

    restored: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept_existing: list[str] = field(default_factory=list)


def _cells(nb: Notebook) -> list[Any]:
    if isinstance(nb.get("cells"), list):
        return list(nb["cells"])
    cells: list[Any] = []
    for ws in nb.get("worksheets") or []:
        if isinstance(ws, dict):
            cells += ws.get("cells") or []
    return cells


def restore_outputs(
    nb: Notebook,
    records: Sequence[dict[str, Any]],
    get_blob: Callable[[str], bytes],
    notebook_hash: str | None = None,
) -> RestoreReport:
    """Restore outputs into `nb` in place from archive `records` (newest first).

    `notebook_hash` is the content hash of the notebook as it is now; records archived from
    exactly that version are preferred.
    """
    by_cell: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_cell.setdefault(record["cell_id"], []).append(record)
    report = RestoreReport()
    for index, cell in enumerate(_cells(nb)):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cid = cell.get("id")
        key = cell_key(cid if isinstance(cid, str) else None, index)
        candidates = by_cell.get(key)
        if not candidates:
            continue
        source = cell.get("source", cell.get("input", ""))
        wanted = source_hash("".join(source) if isinstance(source, list) else str(source))
        matching = [r for r in candidates if r["source_hash"] == wanted]
        if not matching:
            if not cell.get("outputs"):
                report.changed.append(key)
            continue
        exact = [r for r in matching if r.get("notebook_hash") == notebook_hash]
        record = (exact or matching)[0]
        payload = orjson.loads(get_blob(record["outputs_blob"]))
        if cell.get("outputs") and cell["outputs"] != _without_counts(payload.get("outputs", [])):
            # Outputs that are not the archived ones (kept with --keep-output, or re-run):
            # the notebook's own outputs win.
            report.kept_existing.append(key)
            continue
        cell["outputs"] = payload.get("outputs", [])
        count_key = "prompt_number" if "prompt_number" in cell else "execution_count"
        cell[count_key] = payload.get("execution_count")
        report.restored.append(key)
    return report


def _without_counts(outputs: list[Any]) -> list[Any]:
    """Outputs as stripping leaves kept ones: execution counts set to null."""
    return [
        {**o, "execution_count": None} if isinstance(o, dict) and "execution_count" in o else o
        for o in outputs
    ]
