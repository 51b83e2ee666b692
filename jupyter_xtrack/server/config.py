"""The extension's settings, configurable like any Jupyter option: `c.XTrack.store = ...`
in `jupyter_server_config.py`, or `--XTrack.store=...` on the command line."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from ..store.location import store_root


class XTrack(Configurable):
    """Settings of the xtrack server extension."""

    store = Unicode(
        "",
        help=(
            "The run store the sidebar shows: a folder or sqlite:///abs/path. Empty means "
            "$XTRACK_STORE, else the .xtrack/ of the git repository holding the server's "
            "root directory (the store the kernels there write)."
        ),
    ).tag(config=True)

    max_page = Int(1000, help="The most runs one GET runs request may return.").tag(config=True)

    events_poll_s = Float(
        0.5, help="How often the change feed looks at the store while a client waits."
    ).tag(config=True)

    events_timeout_s = Float(
        25.0, help="The longest a GET events request is held open before it answers."
    ).tag(config=True)

    diff_timeout_s = Float(60.0, help="Give up on one notebook diff after this long.").tag(
        config=True
    )

    max_text_bytes = Int(
        2_000_000, help="Code, git diffs and captured output longer than this are truncated."
    ).tag(config=True)

    def store_path(self, root_dir: str | os.PathLike[str]) -> Path:
        """The store folder to read: `store` if set, else $XTRACK_STORE, else the default
        store of `root_dir`'s repository. Nothing is created here."""
        return store_root(self.store or None, start_dir=root_dir)
