"""The extension's settings, configurable like any Jupyter option: `c.XTrack.store = ...`
in `jupyter_server_config.py`, or `--XTrack.store=...` on the command line."""

from __future__ import annotations

import os
import re

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from ..store.location import ENV_VAR, store_root

# Store URLs that name a local folder; any other scheme (postgresql://) is a database server.
_FOLDER_SCHEMES = ("sqlite", "file")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class XTrack(Configurable):
    """Settings of the xtrack server extension."""

    store = Unicode(
        "",
        help=(
            "The run store the sidebar shows: a folder, sqlite:///abs/path, or a team "
            "store's URL (postgresql://user@host/db). Empty means $XTRACK_STORE, else the "
            ".xtrack/ of the git repository holding the server's root directory (the store "
            "the kernels there write)."
        ),
    ).tag(config=True)

    max_page = Int(1000, help="The most runs one GET runs request may return.").tag(config=True)

    events_poll_s = Float(
        0.5, help="How often the change feed looks at the store while a client waits."
    ).tag(config=True)

    events_timeout_s = Float(
        25.0, help="The longest a GET events request is held open before it answers."
    ).tag(config=True)

    diff_timeout_s = Float(
        60.0, help="Stop a notebook diff after this long (its worker process is ended: 504)."
    ).tag(config=True)

    max_diff_bytes = Int(
        8_000_000, help="The largest notebook snapshot a diff takes, in bytes (larger: 413)."
    ).tag(config=True)

    max_diff_cells = Int(
        5000, help="The most cells a notebook snapshot may have to be diffed (more: 413)."
    ).tag(config=True)

    diff_workers = Int(
        2, help="How many notebook diffs run at once, each in a worker process of its own."
    ).tag(config=True)

    diff_queue = Int(
        4, help="How many more diffs may wait for a worker; beyond that a diff gets 503."
    ).tag(config=True)

    max_history_points = Int(
        100_000,
        help="The most points of one metric history a request returns; a longer one is "
        "downsampled to it, keeping each bucket's first, lowest, highest and last point.",
    ).tag(config=True)

    max_text_bytes = Int(
        2_000_000, help="Code, git diffs and captured output longer than this are truncated."
    ).tag(config=True)

    def store_location(self, root_dir: str | os.PathLike[str]) -> str:
        """The store to read: `store` if set, else $XTRACK_STORE, else the default store
        of `root_dir`'s repository; a folder (absolute) or a database URL, as given.
        Nothing is created or opened here."""
        given = self.store or os.environ.get(ENV_VAR) or None
        if given is not None and is_database_url(given):
            return given
        return str(store_root(given, start_dir=root_dir))


def is_database_url(location: str) -> bool:
    """Whether `location` names a store on a database server (postgresql://...) rather
    than a local folder (a path, sqlite:/// or file:/// URL)."""
    match = _SCHEME.match(location)
    return match is not None and match.group(1).lower() not in _FOLDER_SCHEMES
