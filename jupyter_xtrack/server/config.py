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

    def store_path(self, root_dir: str | os.PathLike[str]) -> Path:
        """The store folder to read: `store` if set, else $XTRACK_STORE, else the default
        store of `root_dir`'s repository. Nothing is created here."""
        return store_root(self.store or None, start_dir=root_dir)
