"""The MLflow code a team already has, run against xtrack's server by
test_mlflow_api.py in a process of its own (MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN
set by the test). It prints one JSON object of what the client read back."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression


def main() -> None:
    out: dict[str, object] = {}
    client = MlflowClient()
    mlflow.set_experiment("mlflow-exp")
    work = Path(tempfile.mkdtemp())
    (work / "notes.txt").write_text("hello from mlflow")
    (work / "plots").mkdir()
    (work / "plots" / "a.csv").write_text("x,y\n1,2\n")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_params({"lr": "0.01", "optimizer": "adam", "layers": "3"})
        for step in range(5):
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "acc": 0.5 + step / 10}, step=step)
        mlflow.set_tags({"team": "vision", "stage": "dev"})
        mlflow.log_artifact(str(work / "notes.txt"))
        mlflow.log_artifacts(str(work / "plots"), artifact_path="plots")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_param("lr", "0.1")
            mlflow.log_metric("loss", 0.25)
        try:
            mlflow.log_param("lr", "0.5")  # params are immutable in MLflow
        except MlflowException as exc:
            out["changed_param_error"] = exc.error_code
    out["parent"], out["child"] = parent.info.run_id, child.info.run_id
    out["experiment_id"] = parent.info.experiment_id
    out["history"] = [
        (m.step, m.value) for m in client.get_metric_history(parent.info.run_id, "loss")
    ]
    out["artifacts"] = sorted(f.path for f in client.list_artifacts(parent.info.run_id))
    out["plots"] = sorted(f.path for f in client.list_artifacts(parent.info.run_id, "plots"))
    local = client.download_artifacts(parent.info.run_id, "notes.txt", str(work / "dl"))
    out["downloaded"] = Path(local).read_text()
    found = mlflow.search_runs(
        filter_string="metrics.loss < 0.5 and params.optimizer = 'adam'",
        order_by=["metrics.acc DESC"],
        output_format="list",
    )
    out["found"] = [r.info.run_id for r in found]
    ordered = mlflow.search_runs(
        experiment_names=["mlflow-exp"], order_by=["metrics.loss ASC"], output_format="list"
    )
    out["ordered"] = [r.info.run_name for r in ordered]
    got = client.get_run(child.info.run_id)
    out["child_tags"] = {k: v for k, v in got.data.tags.items() if k.startswith("mlflow.")}
    out["parent_status"] = client.get_run(parent.info.run_id).info.status

    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    mlflow.sklearn.autolog(log_models=False, log_datasets=False)
    with mlflow.start_run(run_name="autolog") as auto:
        LogisticRegression().fit(x, y)
    mlflow.sklearn.autolog(disable=True)
    out["autolog"] = auto.info.run_id
    auto_run = client.get_run(auto.info.run_id)
    out["autolog_params"] = sorted(auto_run.data.params)
    out["autolog_metrics"] = sorted(auto_run.data.metrics)

    with mlflow.start_run(run_name="model") as model_run:
        info = mlflow.sklearn.log_model(
            LogisticRegression().fit(x, y), name="clf", input_example=x[:2]
        )
        mlflow.log_input(mlflow.data.from_numpy(x, targets=y, name="toy"), context="training")
    out["model_run"] = model_run.info.run_id
    loaded = mlflow.sklearn.load_model(info.model_uri)
    out["prediction"] = loaded.predict(np.array([[0.0], [5.0]])).tolist()
    by_run = mlflow.sklearn.load_model(f"runs:/{model_run.info.run_id}/clf")
    out["prediction_by_run"] = by_run.predict(np.array([[0.0], [5.0]])).tolist()
    got = client.get_run(model_run.info.run_id)
    out["model_outputs"] = [m.model_id for m in got.outputs.model_outputs]
    out["model_id"] = info.model_id
    out["datasets"] = [
        (d.dataset.name, {t.key: t.value for t in d.tags}.get("mlflow.data.context"))
        for d in got.inputs.dataset_inputs
    ]
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
