"""nbdime's diff of one notebook of a run's git diff: HEAD's version against the working
tree's, both output-stripped as the recorder kept them (`GitFact.stripped_notebooks`).

The git diff alone cannot rebuild the notebooks (it has a few lines of context), so the
recorder stores both stripped sides as blobs; this reads them and hands them to the same
worker processes and limits as the diff of two runs (`heavy.DiffWorkers`: 413, 503, 504).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..facts import GIT_STRIPPED_NOTEBOOKS, Fact, GitNotebookFact, fact_of
from ..notebook.gitdiff import EMPTY_NOTEBOOK
from .encoding import jsonable
from .errors import RequestError
from .handlers import DiffHandler
from .heavy import DiffJob
from .reader import StoreReader, _blob_bytes, _blob_file, _brief

GIT_KIND = "git"


def git_notebook_job(reader: StoreReader, ref: str, path: str) -> DiffJob:
    """The diff job for notebook `path` of run `ref`'s git diff, checked against the size
    limits; 404 (reason no_notebook) when the run's git diff has no such notebook."""
    store = reader.need_store()
    record = store.get_run(ref)
    entry = _entry(record, path)
    sides: list[bytes] = []
    for blob in (entry.get("base_hash"), entry.get("work_hash")):
        if not blob:  # a new or deleted notebook: the other side against an empty one
            sides.append(EMPTY_NOTEBOOK)
            continue
        what = f"git notebook {path}"
        reader._check_diff_bytes(record, what, _blob_file(store, blob).stat().st_size)
        data = _blob_bytes(store, blob)
        reader._check_diff_cells(record, what, data)
        sides.append(data)
    brief = _brief(record)
    return DiffJob(
        names=(f"{path} at HEAD", f"{path} in the working tree"),
        sides=(sides[0], sides[1]),
        head=jsonable({"kind": GIT_KIND, "a": brief, "b": brief, "path": path}),
    )


def _entry(record: dict[str, Any], path: str) -> GitNotebookFact:
    notebooks: list[GitNotebookFact] = fact_of(record, Fact.GIT).get(GIT_STRIPPED_NOTEBOOKS) or []
    for entry in notebooks:
        if entry.get("path") == path:
            return entry
    known = ", ".join(e["path"] for e in notebooks) or "none"
    raise RequestError(
        404,
        f"run #{record['number']}'s git diff has no notebook {path!r} (its notebooks: {known}; "
        "runs recorded before notebooks were diffed stripped have none)",
        reason="no_notebook",
    )


class GitNotebookDiffHandler(DiffHandler):
    @web.authenticated
    @authorized
    async def get(self, id: str, path: str) -> None:
        """nbdime's diff of notebook `path` of the run's git diff (HEAD -> working tree,
        outputs stripped), computed by a diff worker process."""
        ref = self.run_ref(id)
        await self.answer(await self.reader.call(git_notebook_job, self.reader, ref, path))
