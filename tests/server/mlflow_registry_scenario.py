"""MLflow model-registry code a team already has, run against xtrack's server by
test_mlflow_registry.py in a process of its own (MLFLOW_TRACKING_URI and
MLFLOW_TRACKING_TOKEN set by the test). It prints one JSON object of what the client read
back."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
Y = np.array([0, 0, 0, 1, 1, 1])
PROBE = np.array([[0.0], [5.0]])


def error_code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except MlflowException as exc:
        return str(exc.error_code)
    return None


def main() -> None:
    out: dict[str, object] = {}
    client = MlflowClient()
    mlflow.set_experiment("registry-exp")
    runs = []
    for c in (1.0, 0.01):
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(LogisticRegression(C=c).fit(X, Y), name="model")
            mlflow.set_tag("team", "risk")
        runs.append(run.info.run_id)
    out["runs"] = runs
    first = mlflow.register_model(f"runs:/{runs[0]}/model", "churn")
    out["first"] = [first.name, first.version, first.run_id, first.status]
    client.set_registered_model_alias("churn", "champion", 1)
    out["by_alias"] = mlflow.sklearn.load_model("models:/churn@champion").predict(PROBE).tolist()
    out["by_number"] = mlflow.sklearn.load_model("models:/churn/1").predict(PROBE).tolist()
    second = mlflow.register_model(f"runs:/{runs[1]}/model", "churn", tags={"c": "0.01"})
    out["second"] = second.version
    client.set_registered_model_alias("churn", "champion", 2)
    client.set_registered_model_alias("churn", "challenger", 1)
    client.delete_registered_model_alias("churn", "challenger")
    out["champion"] = client.get_model_version_by_alias("churn", "champion").version
    client.set_model_version_tag("churn", "2", "validated", "yes")
    client.set_registered_model_tag("churn", "owner", "risk-team")
    model = client.get_registered_model("churn")
    out["model_aliases"] = model.aliases
    out["model_tags"] = model.tags
    out["latest"] = [v.version for v in model.latest_versions]
    found = client.search_model_versions("name = 'churn' and tags.validated = 'yes'")
    out["validated"] = [v.version for v in found]
    out["by_run"] = [v.version for v in client.search_model_versions(f"run_id = '{runs[0]}'")]
    out["search_models"] = [m.name for m in client.search_registered_models("name LIKE 'ch%'")]
    out["download"] = client.get_model_version_download_uri("churn", "2")
    out["version_two"] = client.get_model_version("churn", "2").tags
    client.create_registered_model("empty", tags={"k": "v"})
    out["empty"] = client.get_registered_model("empty").tags
    out["empty_again"] = error_code(lambda: client.create_registered_model("empty"))
    out["rename"] = error_code(lambda: client.rename_registered_model("churn", "other"))
    out["stage"] = error_code(
        lambda: client.transition_model_version_stage("churn", "1", "Production")
    )
    out["missing"] = error_code(lambda: client.get_registered_model("nope"))
    out["missing_alias"] = error_code(lambda: client.get_model_version_by_alias("churn", "gone"))
    client.delete_tag(runs[0], "team")
    out["run_tags"] = sorted(
        k for k in client.get_run(runs[0]).data.tags if not k.startswith("mlflow.")
    )
    client.delete_model_version("churn", "1")
    out["after_delete"] = sorted(v.version for v in client.search_model_versions("name='churn'"))
    # A version xtrack registered itself (one pickled file): refused as a model, naming the
    # runs:/ URI that downloads the file.
    native = os.environ["NATIVE_MODEL"]
    try:
        mlflow.artifacts.download_artifacts(f"models:/{native}/1", dst_path=tempfile.mkdtemp())
    except MlflowException as exc:
        out["native_error"] = [exc.error_code, str(exc)]
    file_uri = re.search(r"runs:/[^\s,]+", out["native_error"][1]).group(0)  # type: ignore[index, union-attr]
    got = Path(mlflow.artifacts.download_artifacts(file_uri, dst_path=tempfile.mkdtemp()))
    out["native"] = [got.name, got.stat().st_size]
    out["jupyter_user"] = client.get_model_version("churn", "2").user_id
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
