"""The wheel's build step for the JupyterLab sidebar (run by hatch-jupyter-builder).

The extension is built against the JupyterLab it will run in: the `jupyterlab` Python
package of the build environment gives the core metadata (its `staging/` folder), which the
npm build reads from JUPYTERLAB_STAGING; the license report takes nbdime's license text from
the `nbdime` Python distribution through PYTHON (its npm package ships none). Everything else is hatch-jupyter-builder's
`npm_builder` (npm install, then `npm run build:prod` in labextension/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def build(target_name: str, version: str, **kwargs: Any) -> None:
    import jupyterlab
    from hatch_jupyter_builder import npm_builder

    os.environ.setdefault("JUPYTERLAB_STAGING", str(Path(jupyterlab.__file__).parent / "staging"))
    os.environ.setdefault("PYTHON", sys.executable)
    npm_builder(target_name, version, **kwargs)
