"""MLflow's proxied artifacts (`mlflow-artifacts:/...`) kept as xtrack run artifacts.

A run's artifact URI is `mlflow-artifacts:/<experiment id>/<run id>/artifacts`, so the client
uploads `<exp>/<run>/artifacts/<name>` here and the file becomes the run's artifact `<name>`
(a blob of the store, shown and downloadable in xtrack). A logged model's files
(`<exp>/models/<model id>/artifacts/<name>`) become artifacts `models/<model id>/<name>` of
the run that logged it.
"""

from __future__ import annotations

import mimetypes
import posixpath
import re
from pathlib import Path
from typing import Any

from ...store.contract import RunStore
from ..errors import RequestError
from ..safe_paths import check_artifact_name
from .errors import invalid, missing
from .models import model_run_id

_RUN_PATH = re.compile(r"^[^/]+/(?P<run>[0-9a-f]{32})/artifacts(?:/(?P<rest>.*))?$")
_MODEL_PATH = re.compile(
    r"^[^/]+/models/(?P<model>m-[0-9a-f]{32}-[0-9a-f]{8})/artifacts"
    r"(?:/(?P<rest>.*))?$"
)


def locate(path: str) -> tuple[str, str]:
    """(run id, artifact name prefix) of an mlflow-artifacts path; the prefix is "" for the
    root and never has a trailing slash. INVALID_PARAMETER_VALUE for anything else."""
    path = path.strip("/")
    match = _RUN_PATH.match(path)
    if match:
        run_id, prefix = match.group("run"), match.group("rest") or ""
    else:
        match = _MODEL_PATH.match(path)
        if match is None:
            raise invalid(
                f"Invalid artifact path '{path}': xtrack serves "
                "<experiment>/<run>/artifacts/... and <experiment>/models/<model>/"
                "artifacts/..."
            )
        model = match.group("model")
        run_id = model_run_id(model)
        prefix = posixpath.join("models", model, match.group("rest") or "").rstrip("/")
    prefix = prefix.rstrip("/")
    if prefix:
        try:
            check_artifact_name(prefix)
        except RequestError as exc:
            raise invalid(str(exc)) from None
    return run_id, prefix


def upload(store: RunStore, path: str, body: bytes, media_type: str | None) -> Any:
    """Store `body` as a blob now (outside any transaction) and return the write that
    attaches it to its run."""
    run_id, name = locate(path)
    if not name:
        raise invalid("Give the artifact a file name")
    digest = store.put_blob(body)
    guessed = mimetypes.guess_type(name)[0]
    kind = guessed or (
        media_type if media_type and media_type != "application/octet-stream" else None
    )

    def attach(store: RunStore) -> None:
        store.add_artifact(run_id, name, blob=digest, size=len(body), media_type=kind)

    return attach


def listing(store: RunStore, run_id: str, prefix: str) -> list[dict[str, Any]]:
    """The files and folders directly under `prefix` among the run's artifacts, each
    {path (relative to prefix), is_dir, file_size}; one entry for a prefix that is a file."""
    children: dict[str, dict[str, Any]] = {}
    lead = f"{prefix}/" if prefix else ""
    for art in store.artifacts(run_id):
        name = str(art["name"])
        if name == prefix:
            return [
                {"path": posixpath.basename(name), "is_dir": False, "file_size": int(art["size"])}
            ]
        if not name.startswith(lead):
            continue
        head, slash, _ = name[len(lead) :].partition("/")
        if slash:
            children.setdefault(head, {"path": head, "is_dir": True})
        else:
            children[head] = {"path": head, "is_dir": False, "file_size": int(art["size"])}
    return sorted(children.values(), key=lambda f: str(f["path"]))


def blob_of(store: RunStore, path: str) -> tuple[Path, str]:
    """The stored file behind an mlflow-artifacts path, and its media type."""
    run_id, name = locate(path)
    for art in store.artifacts(run_id):
        if art["name"] == name:
            media = art.get("media_type") or mimetypes.guess_type(name)[0]
            return store.blob_file(str(art["hash"])), media or "application/octet-stream"
    raise missing(f"No artifact '{name}' in run {run_id}")
