"""The run store: the only code that speaks SQL or touches the blob folder.

    store = open_store()                      # .xtrack/ at the git root (or XTRACK_STORE)
    run_id, number = store.create_run(name="baseline")
    store.set_params(run_id, {"lr": 0.01})
    store.log_metrics([(run_id, "loss", 0.5, 1, time.time())])
    store.finish_run(run_id, status="finished")
    store.query_runs("metrics.loss < 1", order_by="metrics.loss").to_frame()

The filter language is described in `jupyter_xtrack.store.query`.
"""

from __future__ import annotations

from .blobs import hash_bytes
from .errors import FilterError, ReadOnlyStoreError, StoreError, UnknownRunError
from .location import default_store_path
from .query import RUN_STATUSES
from .store import RUN_KINDS, Store, open_store, open_store_for_reading
from .table import RunTable
from .writer import BackgroundWriter, PointBuffer

__all__ = [
    "RUN_KINDS",
    "RUN_STATUSES",
    "BackgroundWriter",
    "FilterError",
    "PointBuffer",
    "ReadOnlyStoreError",
    "RunTable",
    "Store",
    "StoreError",
    "UnknownRunError",
    "default_store_path",
    "hash_bytes",
    "open_store",
    "open_store_for_reading",
]
