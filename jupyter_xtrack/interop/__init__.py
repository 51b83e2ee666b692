"""MLflow interop: `xtrack import mlflow` and `xtrack export mlflow`.

Every side is a source of `MlflowRun` records (model.py) or a sink that writes them: an MLflow
tracking URI read and written through MlflowClient (client.py), an mlflow-export-import
folder read and written as files (folder.py), and the xtrack store itself (xtrack_side.py:
its runs as MlflowRun records for export, and the idempotent importer). A copy between any
source and sink is the same loop (copy.py), verified by counting both sides (verify.py).
It sits with reproduce/: it writes through the store contract and reads `Run` records.
"""

from __future__ import annotations

from .copy import CopyResult, export_mlflow, import_mlflow
from .model import InteropError

__all__ = ["CopyResult", "InteropError", "export_mlflow", "import_mlflow"]
