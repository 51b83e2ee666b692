"""Put archived outputs back into a stripped notebook (after a clone, checkout or strip).

Cells are matched by id (or position, for notebooks without ids) *and* source: outputs are only
restored into a cell whose source is exactly what produced them. Records from the archived
version whose stripped bytes equal this notebook win; otherwise the newest matching record does.
So a notebook re-run and archived again (same sources, new outputs) gets its newest outputs
back; older ones stay in the archive as versions (`archived_versions`) that can be restored
by name (`records_as_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .archive import cell_key, content_hash, source_hash
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


@dataclass
class ArchivedVersion:
    """What one archiving of a notebook added (one transaction: one `git add`, one strip).

    A version holds only the cells whose outputs were new then; the others are still those of
    the versions before it, which is what `records_as_of` gives back.
    """

    id: str
    archived_at: float
    start: int  # where it begins in the newest-first records
    records: list[dict[str, Any]]

    @property
    def runs(self) -> list[str]:
        """The ids of the runs that made these outputs, sorted."""
        return sorted({str(r["run_id"]) for r in self.records if r.get("run_id")})


def archived_versions(records: Sequence[dict[str, Any]]) -> list[ArchivedVersion]:
    """Group one notebook's archive `records` (newest first) into versions, newest first.

    Records written together share `archived_at`; the id is a hash of that time and the
    outputs, so it stays the same however many versions come later.
    """
    versions: list[ArchivedVersion] = []
    for index, record in enumerate(records):
        at = float(record.get("archived_at") or 0.0)
        if not versions or versions[-1].archived_at != at:
            versions.append(ArchivedVersion("", at, index, []))
        versions[-1].records.append(record)
    for version in versions:
        parts = [repr(version.archived_at)]
        parts += sorted(f"{r['cell_id']}\t{r['outputs_blob']}" for r in version.records)
        version.id = content_hash("\n".join(parts).encode("utf-8", "surrogatepass"))[9:21]
    return versions


def find_version(versions: Sequence[ArchivedVersion], prefix: str) -> ArchivedVersion:
    """The version whose id starts with `prefix`; LookupError if none or several do."""
    found = [v for v in versions if prefix and v.id.startswith(prefix.lower())]
    if len(found) == 1:
        return found[0]
    known = ", ".join(v.id for v in versions)
    if found:
        raise LookupError(f"version {prefix!r} is ambiguous: {len(found)} ids start so ({known})")
    raise LookupError(f"no archived version {prefix!r} (archived versions: {known})")


def records_as_of(
    records: Sequence[dict[str, Any]], version: ArchivedVersion
) -> list[dict[str, Any]]:
    """The records that were in the archive right after `version` was written, newest first."""
    return list(records[version.start :])
