"""Keep stripped outputs in the run store, so stripping notebooks for git loses nothing.

The git filter must not slow `git add`, so it only *spools*: at the end of the git command it
writes everything it stripped into one file under `<git dir>/xtrack-spool/` and starts a detached
process that moves the spool into the store (blobs, then one `archive_outputs` transaction) after
git has returned. Anything left behind (a crash, a busy store) is ingested by the next run or by
`xtrack outputs ...` before it reads the archive.

Each archived cell is keyed by notebook path (repo-relative), cell id, a hash of its source, a
hash of the stripped notebook bytes and the blob of its outputs, and linked to the `%%track` run
that produced it when the store knows the cell id. Because the outputs are part of the key, a
re-run that changes outputs but no source (same stripped bytes) is archived as a new version;
a cell whose outputs did not change since its newest record adds nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import xxhash

from .strip import StripResult

SPOOL_DIRNAME = "xtrack-spool"
_CLAIM_STALE_S = 600.0


def content_hash(data: bytes) -> str:
    """The store's blob name for `data` (`xxh3_128:<hex>`), computed without opening a store."""
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)


def source_hash(source: str) -> str:
    """Hash of a cell's source text, as archived and as matched on restore."""
    return content_hash(source.encode("utf-8", "surrogatepass"))


def cell_key(cell_id: str | None, index: int) -> str:
    """The archive key of a cell: its id, or `#<index>` for notebooks without cell ids."""
    return cell_id if cell_id else f"#{index}"


@dataclass
class ArchiveItem:
    """One cell's stripped outputs, ready to be written to the store."""

    notebook_path: str
    cell_id: str
    original_id: str | None
    source_hash: str
    notebook_hash: str
    execution_count: Any
    payload: bytes  # JSON: {"outputs": [...], "execution_count": n}


def items_for(notebook_path: str, result: StripResult) -> list[ArchiveItem]:
    """The archive items for one stripped notebook (empty if nothing was removed)."""
    if not result.removed:
        return []
    notebook_hash = content_hash(result.data)
    items = []
    for cell in result.removed:
        doc = {"outputs": cell.outputs, "execution_count": cell.execution_count}
        try:
            payload = orjson.dumps(doc)
        except TypeError:  # e.g. integers beyond 64 bits: the standard library copes
            payload = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        items.append(
            ArchiveItem(
                notebook_path=notebook_path,
                cell_id=cell_key(cell.cell_id, cell.index),
                original_id=cell.original_id,
                source_hash=source_hash(cell.source),
                notebook_hash=notebook_hash,
                execution_count=cell.execution_count,
                payload=payload,
            )
        )
    return items


# --- spool files --------------------------------------------------------------------------


def find_git_dir(start: str | os.PathLike[str]) -> Path | None:
    """The git directory of the work tree containing `start` ($GIT_DIR wins), found on disk."""
    env = os.environ.get("GIT_DIR")
    if env:
        return Path(os.path.abspath(env))
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # worktrees and submodules: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text[len("gitdir:") :].strip()).resolve()
    return None


def write_spool(spool_dir: Path, items: Sequence[ArchiveItem]) -> Path:
    """Write items to a new spool file atomically (temp name, then rename); return its path."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.spool"
    tmp = spool_dir / (name + ".tmp")
    parts: list[bytes] = []
    for item in items:
        meta = {
            "notebook_path": item.notebook_path,
            "cell_id": item.cell_id,
            "original_id": item.original_id,
            "source_hash": item.source_hash,
            "notebook_hash": item.notebook_hash,
            "execution_count": item.execution_count,
            "payload_len": len(item.payload),
        }
        parts += [orjson.dumps(meta), b"\n", item.payload, b"\n"]
    with open(tmp, "wb") as f:
        f.write(b"".join(parts))
    target = spool_dir / name
    os.replace(tmp, target)
    return target


def read_spool(path: Path) -> Iterator[ArchiveItem]:
    """Read back the items of a spool file (raises ValueError if it is damaged)."""
    with open(path, "rb") as f:
        while line := f.readline():
            meta = orjson.loads(line)
            payload = f.read(meta.pop("payload_len"))
            if f.read(1) != b"\n":
                raise ValueError(f"damaged spool file {path}")
            yield ArchiveItem(payload=payload, **meta)


SEEN_FILENAME = "seen"
_HASH_FIELDS = re.compile(r"(\txxh3_128:[0-9a-f]{32})+$")


def _seen_path(line: str) -> str:
    # Older lines hold one hash (`<path>\t<stripped hash>`), newer ones two.
    return _HASH_FIELDS.sub("", line)


class SpoolingArchiver:
    """Collects what one git command strips; on close, spools it and starts the ingester.

    git re-runs the filter on unchanged content (`git status` after a touch, `git diff`), so
    the version last spooled for each path (its stripped and its original bytes) is
    remembered in `<spool dir>/seen` and skipped cheaply.
    """

    def __init__(self, work_tree: str | os.PathLike[str]) -> None:
        self.work_tree = os.fspath(work_tree)
        self.items: list[ArchiveItem] = []
        self.new_keys: list[str] = []
        self._seen: dict[str, str] | None = None
        git_dir = find_git_dir(self.work_tree)
        self.spool_dir = git_dir / SPOOL_DIRNAME if git_dir is not None else None

    def _last_keys(self) -> dict[str, str]:
        if self._seen is None:
            self._seen = {}
            if self.spool_dir is not None:
                try:
                    with open(self.spool_dir / SEEN_FILENAME, encoding="utf-8") as f:
                        for line in f.read().splitlines():
                            self._seen[_seen_path(line)] = line
                except OSError:
                    pass
        return self._seen

    def add(self, notebook_path: str, result: StripResult, original: bytes) -> None:
        """Remember the outputs stripped from `notebook_path` (repo-relative, as git names it)
        out of its `original` bytes."""
        # The original bytes stand for the outputs: hashing them costs far less than
        # serializing every output, and git re-filters every touched notebook.
        key = f"{notebook_path}\t{content_hash(result.data)}\t{content_hash(original)}"
        last = self._last_keys()
        # Only the newest version of each path counts as seen: outputs A, then B, then A again
        # must archive A again, or restore would bring back B.
        if last.get(notebook_path) == key:
            return
        last[notebook_path] = key
        self.new_keys.append(key)
        self.items += items_for(notebook_path, result)

    def close(self) -> None:
        """Spool what was collected and start the background ingester; never raises."""
        if not self.items:
            return
        try:
            if self.spool_dir is None:
                raise OSError(f"no git repository at {self.work_tree}")
            spool_dir = self.spool_dir
            write_spool(spool_dir, self.items)
            with open(spool_dir / SEEN_FILENAME, "a", encoding="utf-8") as f:
                f.write("".join(k + "\n" for k in self.new_keys))
            if os.environ.get("XTRACK_ARCHIVE_SYNC") == "1":
                ingest_spools(spool_dir, self.work_tree)
            else:
                spawn_ingester(spool_dir, self.work_tree)
        except Exception as exc:  # archiving must never fail the git command
            sys.stderr.write(f"xtrack filter: stripped outputs not archived: {exc}\n")


def spawn_ingester(spool_dir: Path, work_tree: str) -> None:
    """Start `python -m jupyter_xtrack.notebook.archive` detached, so git need not wait."""
    subprocess.Popen(
        [sys.executable, "-m", "jupyter_xtrack.notebook.archive", str(spool_dir), work_tree],
        cwd=work_tree,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _claim(path: Path) -> Path | None:
    # Renaming is atomic: of several ingesters, exactly one gets each spool file.
    claimed = path.with_name(f"{path.name}.{os.getpid()}.claimed")
    try:
        os.replace(path, claimed)
    except FileNotFoundError:
        return None
    return claimed


def pending_spools(spool_dir: Path) -> list[Path]:
    """Spool files waiting to be ingested, oldest first (including abandoned claims)."""
    if not spool_dir.is_dir():
        return []
    now = time.time()
    found = []
    for p in spool_dir.iterdir():
        if p.name.endswith(".spool"):
            found.append(p)
        elif p.name.endswith(".claimed"):
            try:
                if now - p.stat().st_mtime > _CLAIM_STALE_S:
                    found.append(p)
            except FileNotFoundError:
                continue
    return sorted(found)


def ingest_spools(spool_dir: Path, work_tree: str | os.PathLike[str], store: Any = None) -> int:
    """Move every pending spool file into the store; return the number of cells archived.

    Opens the store of `work_tree` unless one is given. A spool file is deleted only after its
    transaction committed; a failure leaves it for the next attempt and is logged to
    `<spool dir>/errors.log`. Raises only if the store cannot be opened.
    """
    spools = pending_spools(spool_dir)
    if not spools:
        return 0
    own_store = store is None
    if own_store:
        # lazy: sqlite3 loads only when outputs are archived
        from jupyter_xtrack.store import open_store

        store = open_store(None, start_dir=os.fspath(work_tree))
    total = 0
    try:
        for spool in spools:
            claimed = _claim(spool)
            if claimed is None:
                continue
            try:
                total += archive_items(store, list(read_spool(claimed)))
            except Exception as exc:
                with open(spool_dir / "errors.log", "a", encoding="utf-8") as log:
                    log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {spool.name}: {exc!r}\n")
                os.replace(claimed, spool)
                continue
            claimed.unlink()
    finally:
        if own_store and hasattr(store, "close"):
            store.close()
    return total


def archive_items(store: Any, items: Sequence[ArchiveItem]) -> int:
    """Write items to `store` (blobs, then one transaction); return the number of new records.

    A cell is skipped when the newest record for the same cell of the same stripped notebook
    holds the same outputs: new outputs under unchanged sources get a record of their own.
    """
    newest: dict[str, dict[tuple[str, str | None], str | None]] = {}
    records = []
    for item in items:
        if item.notebook_path not in newest:
            latest: dict[tuple[str, str | None], str | None] = {}
            for r in store.archived_outputs(item.notebook_path):  # newest first
                latest.setdefault((r["cell_id"], r["notebook_hash"]), r["outputs_blob"])
            newest[item.notebook_path] = latest
        # put first: the store names the blob, so the comparison holds whatever it does to it
        blob = store.put_blob(item.payload)
        key = (item.cell_id, item.notebook_hash)
        if newest[item.notebook_path].get(key) == blob:
            continue
        newest[item.notebook_path][key] = blob
        records.append(
            {
                "notebook_path": item.notebook_path,
                "cell_id": item.cell_id,
                "source_hash": item.source_hash,
                "notebook_hash": item.notebook_hash,
                "outputs_blob": blob,
                "execution_count": item.execution_count
                if isinstance(item.execution_count, int)
                else None,
                "run_id": store.run_for_cell(item.original_id) if item.original_id else None,
            }
        )
    if records:
        store.archive_outputs(records)
    return len(records)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m jupyter_xtrack.notebook.archive SPOOL_DIR WORK_TREE`: ingest pending spools."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m jupyter_xtrack.notebook.archive SPOOL_DIR WORK_TREE\n")
        return 2
    spool_dir = Path(args[0])
    try:
        ingest_spools(spool_dir, args[1])
    except Exception as exc:
        with open(spool_dir / "errors.log", "a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} cannot open store: {exc!r}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def work_tree_of(path: str | os.PathLike[str]) -> Path | None:
    """The nearest folder at or above `path` holding `.git` (found on disk), or None."""
    here = Path(os.path.abspath(path))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def archive_key_path(notebook: str | os.PathLike[str]) -> tuple[Path, str]:
    """(work tree or folder, path of the notebook relative to it as git names it)."""
    full = Path(os.path.abspath(notebook))
    root = work_tree_of(full.parent) or full.parent
    return root, full.relative_to(root).as_posix()


def open_store_for(root: Path) -> Any:
    """Open the run store for `root` after ingesting any outputs still waiting in the spool."""
    # lazy: sqlite3 loads only when outputs are archived
    from jupyter_xtrack.store import open_store

    store = open_store(None, start_dir=os.fspath(root))
    git_dir = find_git_dir(root)
    if git_dir is not None:
        ingest_spools(git_dir / SPOOL_DIRNAME, root, store)
    return store


def archive_now(notebook: str | os.PathLike[str], result: StripResult) -> int:
    """Archive what stripping `notebook` in place removed, synchronously; return records added.

    Raises the store's errors (the CLI turns them into a warning).
    """
    items_root, rel = archive_key_path(notebook)
    items = items_for(rel, result)
    if not items:
        return 0
    store = open_store_for(items_root)
    try:
        return archive_items(store, items)
    finally:
        if hasattr(store, "close"):
            store.close()
