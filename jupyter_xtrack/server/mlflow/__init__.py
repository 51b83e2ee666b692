"""MLflow's REST API served from the xtrack store, so that unchanged MLflow code logs into
xtrack with `MLFLOW_TRACKING_URI=http://host:8888/xtrack/mlflow` (and the Jupyter token as
`MLFLOW_TRACKING_TOKEN`, which Jupyter accepts as a bearer token).

`routes.py` is the table of endpoints; `service.py` does what each asks on a `RunStore`;
`mapping.py` turns xtrack's runs into MLflow's JSON and back; `search.py` translates
MLflow's filter strings into xtrack's filter language; `experiments.py` keeps what MLflow
says about experiments that xtrack has no column for; `writes.py` commits concurrent
requests' writes together; `errors.py` answers MLflow's error JSON.
"""

from __future__ import annotations

from .handlers import MLFLOW_PREFIX, mlflow_route_specs

__all__ = ["MLFLOW_PREFIX", "mlflow_route_specs"]
