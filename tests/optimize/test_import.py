"""Importing the sweep, AutoML and jobs modules stays light: no optuna, scikit-learn,
torch, numpy or pandas until a search starts."""

from __future__ import annotations

import subprocess
import sys


def test_entry_modules_import_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import jupyter_xtrack.optimize.sweep, jupyter_xtrack.optimize.automl, "
        "jupyter_xtrack.optimize.jobs\n"
        "print(sorted(m for m in ('optuna', 'sklearn', 'torch', 'numpy', 'pandas') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
