"""Strip outputs, execution counts and volatile metadata from notebooks, reporting what was removed.

`strip_bytes` is the one entry point used by the CLI, the git filter and pre-commit: bytes in,
bytes out, never an exception for bad input. What it removed comes back as `StrippedCell`s so the
caller can archive the outputs into the run store instead of losing them.

The option names and their semantics follow nbstripout (0.8.1), so users can switch over; our
defaults differ in three ways (cell ids kept, key order and line layout kept, fewer metadata keys
removed) and `StripOptions(nbstripout_compat=True)` switches all of them back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .nbjson import (
    Notebook,
    NotebookFormatError,
    dump_notebook,
    notebook_major_version,
    parse_notebook,
    read_like_nbformat,
    write_like_nbformat,
)

# Volatile metadata removed by default: UI state and timing that change on every run.
DEFAULT_REMOVED_KEYS: tuple[str, ...] = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.scrolled",
    "cell.metadata.execution",
    "cell.metadata.ExecuteTime",
)

# nbstripout 0.8.1's built-in list (it also strips heading_collapsed and hidden).
NBSTRIPOUT_REMOVED_KEYS: tuple[str, ...] = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
)


@dataclass(frozen=True)
class StripOptions:
    """What to strip. Field names mirror nbstripout's command-line options.

    keep_output: None means "strip unless the notebook's metadata says keep_output: true";
    cells can still override through a `keep_output` tag or metadata, or `init_cell`.
    keep_id: None means the mode's default (kept in xtrack mode, renumbered 0, 1, ... in
    nbstripout-compat mode).
    """

    keep_output: bool | None = None
    keep_count: bool = False
    keep_id: bool | None = None
    extra_keys: tuple[str, ...] = ()
    keep_metadata_keys: tuple[str, ...] = ()
    drop_empty_cells: bool = False
    drop_tagged_cells: tuple[str, ...] = ()
    strip_init_cells: bool = False
    max_size: int = 0
    nbstripout_compat: bool = False

    def keeps_ids(self) -> bool:
        """Whether cell ids survive stripping under these options."""
        return self.keep_id if self.keep_id is not None else not self.nbstripout_compat

    def removed_keys(self) -> list[str]:
        """The dotted metadata keys to remove: the mode's defaults plus extra, minus kept."""
        base = NBSTRIPOUT_REMOVED_KEYS if self.nbstripout_compat else DEFAULT_REMOVED_KEYS
        keep = set(self.keep_metadata_keys)
        return [k for k in (*base, *self.extra_keys) if k not in keep]

    def fingerprint(self) -> str:
        """A stable text form of the options (used to key caches of stripped results)."""
        return repr(replace(self))


@dataclass
class StrippedCell:
    """The outputs and execution count taken out of one cell (what the archive keeps)."""

    index: int
    cell_id: str | None  # the id as written in the stripped notebook
    original_id: str | None  # the id before stripping (what %%track recorded)
    source: str
    outputs: list[Any]
    execution_count: Any


@dataclass
class StripResult:
    """The outcome of stripping one notebook.

    data is the bytes to write: the stripped notebook, or the input unchanged when `error` is set
    or nothing needed stripping. changed says whether stripping altered the notebook.
    """

    data: bytes
    changed: bool
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    removed: list[StrippedCell] = field(default_factory=list)


class MetadataConflict(ValueError):
    """A cell's metadata says `keep_output: false` while its tags say `keep_output`."""


def parse_size(text: str) -> int:
    """Parse a --max-size value: a byte count with an optional k/M/G suffix (powers of 1000).

    Raises ValueError naming the accepted forms.
    """
    t = text.strip().upper()
    factors = {"K": 10**3, "M": 10**6, "G": 10**9}
    try:
        if t and t[-1] in factors:
            return int(t[:-1]) * factors[t[-1]]
        return int(t)
    except ValueError:
        raise ValueError(
            f"invalid size {text!r}: use a whole number of bytes, optionally with k, M or G "
            "(e.g. 500, 10k, 2M)"
        ) from None


def strip_bytes(data: bytes, options: StripOptions) -> StripResult:
    """Strip a notebook given as bytes. Never raises for bad input.

    Invalid JSON, a non-notebook, or contradictory keep_output metadata give a result with
    `error` set and the input bytes unchanged. A notebook that needs no stripping comes back
    byte-identical (in the default mode).
    """
    try:
        if options.nbstripout_compat:
            nb = read_like_nbformat(data)
            before = copy.deepcopy(nb)
            removed, warnings = strip_notebook(nb, options)
            # nbstripout always rewrites through nbformat; "changed" is its own dict comparison
            # (made before writing, which re-splits lines in place).
            changed = nb != before
            return StripResult(write_like_nbformat(nb), changed, None, warnings, removed)
        nb = parse_notebook(data)
        removed, warnings, changed = _strip_tracked(nb, options)
        if not changed:
            return StripResult(data, False, None, warnings, [])
        return StripResult(dump_notebook(nb), True, None, warnings, removed)
    except NotebookFormatError as exc:
        return StripResult(data, False, str(exc))
    except MetadataConflict as exc:
        return StripResult(data, False, str(exc))


def strip_notebook(nb: Notebook, options: StripOptions) -> tuple[list[StrippedCell], list[str]]:
    """Strip a parsed notebook in place; return what was removed and any warnings.

    Raises MetadataConflict if a cell says both `keep_output: false` and tags it `keep_output`.
    """
    removed, warnings, _ = _strip_tracked(nb, options)
    return removed, warnings


def _strip_tracked(
    nb: Notebook, options: StripOptions
) -> tuple[list[StrippedCell], list[str], bool]:
    warnings: list[str] = []
    changed = False
    metadata = nb.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}

    keep_output = options.keep_output
    if keep_output is None and "keep_output" in metadata:
        keep_output = bool(metadata["keep_output"])

    nb_keys: list[str] = []
    cell_keys: list[str] = []
    for key in options.removed_keys():
        namespace, _, rest = key.partition(".")
        if not rest or namespace not in ("cell", "metadata"):
            warnings.append(f"Ignoring invalid extra key `{key}`")
        elif namespace == "metadata":
            nb_keys.append(rest)
        else:
            cell_keys.append(rest)

    for key in nb_keys:
        changed |= _pop_dotted(metadata, key)

    changed |= _drop_cells(nb, options)

    keep_ids = options.keeps_ids()
    removed: list[StrippedCell] = []
    for index, cell in enumerate(_iter_cells(nb)):
        if not isinstance(cell, dict):
            continue
        original_id = cell.get("id")
        keep_this = _keeps_output(cell, keep_output, options.strip_init_cells)
        outputs = cell.get("outputs")
        outputs_changed = False
        if isinstance(outputs, list):
            new_outputs = outputs
            if not keep_this:
                new_outputs = [o for o in outputs if _size(o) <= options.max_size]
                outputs_changed = len(new_outputs) != len(outputs)
            if not options.keep_count:
                # Copy before nulling so the archived originals keep their counts.
                nulled = [
                    {**o, "execution_count": None}
                    if isinstance(o, dict) and o.get("execution_count") is not None
                    else o
                    for o in new_outputs
                ]
                if any(a is not b for a, b in zip(nulled, new_outputs, strict=True)):
                    new_outputs, outputs_changed = nulled, True
            if outputs_changed:
                cell["outputs"] = new_outputs
                changed = True
        count = cell.get("execution_count", cell.get("prompt_number"))
        if not options.keep_count:
            for count_key in ("prompt_number", "execution_count"):
                if count_key in cell and cell[count_key] is not None:
                    cell[count_key] = None
                    changed = True
        if "id" in cell and not keep_ids and cell["id"] != str(index):
            cell["id"] = str(index)
            changed = True
        for key in cell_keys:
            changed |= _pop_dotted(cell, key)
        if outputs_changed or (count is not None and not options.keep_count):
            source = cell.get("source", cell.get("input", ""))
            removed.append(
                StrippedCell(
                    index=index,
                    cell_id=cell.get("id") if isinstance(cell.get("id"), str) else None,
                    original_id=original_id if isinstance(original_id, str) else None,
                    source="".join(source) if isinstance(source, list) else str(source),
                    outputs=outputs if isinstance(outputs, list) else [],
                    execution_count=count,
                )
            )
    return removed, warnings, changed


def _cell_lists(nb: Notebook) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield (container, key) for each list of cells (v4 `cells`, v1-v3 `worksheets[*].cells`)."""
    if notebook_major_version(nb) in (2, 3) or ("worksheets" in nb and "cells" not in nb):
        for ws in nb.get("worksheets") or []:
            if isinstance(ws, dict) and isinstance(ws.get("cells"), list):
                yield ws, "cells"
    elif isinstance(nb.get("cells"), list):
        yield nb, "cells"


def _iter_cells(nb: Notebook) -> Iterator[Any]:
    for container, key in _cell_lists(nb):
        yield from container[key]


def _drop_cells(nb: Notebook, options: StripOptions) -> bool:
    tags = set(options.drop_tagged_cells)
    if not options.drop_empty_cells and not tags:
        return False
    changed = False
    for container, key in _cell_lists(nb):
        cells = container[key]
        kept = [c for c in cells if not _is_dropped(c, options.drop_empty_cells, tags)]
        if len(kept) != len(cells):
            container[key] = kept
            changed = True
    return changed


def _is_dropped(cell: Any, drop_empty: bool, tags: set[str]) -> bool:
    if not isinstance(cell, dict):
        return False
    if drop_empty:
        source = cell.get("source", [])
        if not any(part.strip() for part in source if isinstance(part, str)):
            return True
    if tags:
        cell_tags = (cell.get("metadata") or {}).get("tags") or []
        if any(tag in cell_tags for tag in tags):
            return True
    return False


def _keeps_output(cell: dict[str, Any], default: bool | None, strip_init_cells: bool) -> bool:
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return bool(default)
    if "init_cell" in metadata:
        return bool(metadata["init_cell"]) and not strip_init_cells
    has_meta = "keep_output" in metadata
    meta_value = bool(metadata.get("keep_output", False))
    has_tag = "keep_output" in (metadata.get("tags") or [])
    if has_meta and has_tag and not meta_value:
        where = f"cell {cell.get('id')!r}" if "id" in cell else "a cell"
        raise MetadataConflict(
            f"MetadataError: cell metadata contradicts tags: `keep_output` is false, but "
            f"`keep_output` in tags ({where}); remove one of them"
        )
    if has_meta or has_tag:
        return meta_value or has_tag
    return bool(default)


def _pop_dotted(d: Any, key: str) -> bool:
    """Remove a `.`-separated nested key; a literal key containing dots wins. True if removed."""
    if not isinstance(d, dict):
        return False
    if key in d:
        del d[key]
        return True
    head, dot, tail = key.partition(".")
    if dot and head in d:
        return _pop_dotted(d[head], tail)
    return False


def _size(item: Any) -> int:
    # nbstripout's measure: total length of all strings, len(str(x)) for other scalars.
    if isinstance(item, str):
        return len(item)
    if isinstance(item, list):
        return sum(_size(x) for x in item)
    if isinstance(item, dict):
        return sum(_size(x) for x in item.values())
    return len(str(item))


def split_words(values: Iterable[str] | None) -> tuple[str, ...]:
    """Split space-separated option values ("a b", "c") into a flat tuple ("a", "b", "c")."""
    return tuple(word for value in values or () for word in value.split())


def strip_zeppelin_bytes(data: bytes) -> StripResult:
    """Empty the `results` of every paragraph of a Zeppelin note (nbstripout's --mode zeppelin).

    Written as nbstripout writes it (2-space indent, ASCII escapes); bad input comes back
    unchanged with `error` set.
    """
    import json

    try:
        note = json.loads(data.decode("utf-8"))
        paragraphs = note["paragraphs"]
        before = copy.deepcopy(paragraphs)
        for paragraph in paragraphs:
            if "results" in paragraph:
                paragraph["results"] = {}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return StripResult(data, False, f"not a Zeppelin note: {exc}")
    out = (json.dumps(note, indent=2) + "\n").encode("utf-8")
    return StripResult(out, paragraphs != before)
