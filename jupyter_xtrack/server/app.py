"""The extension as jupyter_server runs it: the API's routes added when the server loads it,
and the change feed stopped (its poll task cancelled and awaited) and the diff worker processes
ended when the server shuts down.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp

from ..notebook.widget_views import pre_save_hook
from ..store.location import local_folder
from .config import XTrack
from .feed import ChangeFeed
from .heavy import DiffWorkers
from .mlflow import mlflow_route_specs
from .mlflow.service import MlflowService
from .reader import StoreReader
from .routes import route_specs


class XTrackServerExtension(ExtensionApp):
    """jupyter_xtrack's server extension (enabled as `jupyter_xtrack.server`)."""

    name = "jupyter_xtrack.server"
    load_other_extensions = True
    feed: ChangeFeed | None = None
    diffs: DiffWorkers | None = None
    mlflow: MlflowService | None = None

    def initialize_handlers(self) -> None:
        """Register the API routes and open the store lazily (first request)."""
        serverapp: Any = self.serverapp
        config = XTrack(parent=serverapp)
        reader = StoreReader(config.store_location(serverapp.root_dir), config,
                             root_dir=serverapp.root_dir)
        base_url = serverapp.web_app.settings["base_url"]
        self.feed = ChangeFeed(reader, poll_s=config.events_poll_s)
        self.diffs = DiffWorkers(config.diff_workers, config.diff_queue, config.diff_timeout_s)
        serverapp.web_app.add_handlers(".*$", route_specs(base_url, reader, self.feed,
                                                          self.diffs))
        # MLflow's REST API under {base_url}xtrack/mlflow/, writing into the same store (its
        # experiment book too); the folder is where an earlier version's book file may lie.
        folder = reader.folder or local_folder(reader.location)
        self.mlflow = MlflowService(reader.location, folder)
        serverapp.web_app.add_handlers(".*$", mlflow_route_specs(base_url, self.mlflow))
        serverapp.contents_manager.register_pre_save_hook(pre_save_hook)
        serverapp.log.info("jupyter_xtrack: sidebar API at %sxtrack/api/ over store %s",
                           base_url, reader.shown)

    async def stop_extension(self) -> None:
        if self.feed is not None:
            await self.feed.close()
        if self.diffs is not None:
            self.diffs.close()  # ends the diff worker processes
        if self.mlflow is not None:
            self.mlflow.close()  # what MLflow clients sent is written first
