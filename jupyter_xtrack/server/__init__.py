"""The jupyter_server extension behind the JupyterLab sidebar: a read-mostly REST API over
the run store under `{base_url}/xtrack/api/` (see `openapi.yaml` next to this file).

Enabled automatically by `jupyter-config/jupyter_server_config.d/jupyter_xtrack.json`,
which the wheel installs into `etc/jupyter/`. The server reads the store the kernels
write; it never imports `jupyter_xtrack.capture` or IPython, and never unpickles anything.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_xtrack.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the API routes on `serverapp` and open the store lazily (first request)."""
    # lazy: tornado handlers load when the server loads the extension
    from .config import XTrack
    from .reader import StoreReader
    from .routes import route_specs

    config = XTrack(parent=serverapp)
    reader = StoreReader(config.store_path(serverapp.root_dir), config,
                         root_dir=serverapp.root_dir)
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", route_specs(base_url, reader))
    # lazy: tornado handlers load when the server loads the extension
    from ..notebook.widget_views import pre_save_hook

    serverapp.contents_manager.register_pre_save_hook(pre_save_hook)
    serverapp.log.info("jupyter_xtrack: sidebar API at %sxtrack/api/ over store %s",
                       base_url, reader.root)
