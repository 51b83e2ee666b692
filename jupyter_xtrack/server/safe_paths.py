"""Artifact names the API takes are checked before any lookup. (Blob files are resolved and
contained by the store itself: `RunStore.blob_file` / `get_blob`.)"""

from __future__ import annotations

import re

from .errors import RequestError

# Windows drive letters ("C:"), UNC-ish names and URL schemes are never artifact names.
_DRIVE = re.compile(r"^[A-Za-z]:")
_FORBIDDEN = ("\\", "\x00", "#", "?")


def check_artifact_name(name: str) -> str:
    """`name` if it can only mean an artifact recorded under that name, else RequestError
    400: empty names, absolute paths, drive letters, backslashes, NUL, `#` or `?` (query
    or fragment smuggled in an encoded path), and `.`/`..` segments are refused. The name
    arrives URL-decoded, so `%2e%2e` is checked as `..`."""
    if not name:
        raise RequestError(400, "the artifact name is empty; give it as runs/{id}/artifacts/NAME")
    at = next((i for i, c in enumerate(name) if c in _FORBIDDEN or ord(c) < 32), None)
    if at is not None:
        bad = name[at]
        shown = {"\x00": "NUL", "\\": "a backslash"}.get(bad) or (
            f"the control character {bad!r}" if ord(bad) < 32 else repr(bad)
        )
        raise RequestError(
            400, f"artifact name {name!r:.120} contains {shown} at position {at}; artifact "
            "names are plain relative names such as 'model.pt' or 'plots/roc.png'",
            reason="bad_path",
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise RequestError(
            400, f"artifact name {name!r:.120} is an absolute path; artifacts are named "
            "relative to their run (e.g. 'plots/roc.png')", reason="bad_path",
        )
    if any(part in (".", "..") for part in name.split("/")):
        raise RequestError(
            400, f"artifact name {name!r:.120} has a '.' or '..' segment; artifacts never "
            "refer outside their run", reason="bad_path",
        )
    return name
