"""The jupyter_server extension behind the JupyterLab sidebar: a read-mostly REST API over
the run store under `{base_url}/xtrack/api/` (see `openapi.yaml` next to this file).

Enabled automatically by `jupyter-config/jupyter_server_config.d/jupyter_xtrack.json`,
which the wheel installs into `etc/jupyter/`. The server reads the store the kernels
write; it never imports `jupyter_xtrack.capture` or IPython, and never unpickles anything.
"""

from __future__ import annotations

from typing import Any

# Shown by `jupyter server extension list` (it reads the enabled module's __version__).
from .._version import __version__ as __version__


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported when the server asks, so `import jupyter_xtrack.server` alone stays light.
    from .app import XTrackServerExtension

    return [{"module": "jupyter_xtrack.server", "app": XTrackServerExtension}]
