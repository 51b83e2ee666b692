"""The README's Models, Evaluating a model, Coming from MLflow and For teams sections, run as
a newcomer would: their code blocks are read from README.md by section heading and run as
written (Python in a real InteractiveShell, shell lines as `xtrack` subprocesses, MLflow's
client against a real Jupyter server), so these tests fail when the README and the product
drift apart."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.store import open_store
from tests.conftest import git, run_cell

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
XTRACK = Path(sys.executable).with_name("xtrack")


def section(title: str) -> str:
    """The text under heading `title`, up to the next heading of the same or a higher level."""
    head = re.search(rf"^(#+) {re.escape(title)}$", README, re.M)
    assert head, f"README has no section {title!r}"
    level = len(head.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(README, head.end())
    return README[head.end() : end.start() if end else len(README)]


def blocks(title: str, lang: str) -> list[str]:
    """The section's fenced code blocks in `lang`."""
    return [
        code
        for kind, code in re.findall(r"```(\w*)\n(.*?)```", section(title), re.S)
        if kind == lang
    ]


def shell_lines(title: str) -> list[list[str]]:
    """Each command of the section's bash blocks as argv: comments dropped, optional
    `[ARG]` placeholders left out (the shortest form a newcomer types)."""
    lines = []
    for block in blocks(title, "bash"):
        for line in block.splitlines():
            argv = [
                a for a in shlex.split(line, comments=True) if not re.fullmatch(r"\[[A-Za-z]+\]", a)
            ]
            if argv:
                lines.append(argv)
    return lines


def xtrack(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run `xtrack argv...` as a user does; fail with its output unless it exits 0."""
    proc = subprocess.run(
        [str(XTRACK), *argv],
        cwd=cwd,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"xtrack {shlex.join(argv)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def cell(shell: Any, source: str) -> Any:
    """Run a cell; fail with its exception when it raised."""
    result = run_cell(shell, source)
    assert result.success, f"{source}\n-> {result.error_before_exec or result.error_in_exec!r}"
    return result.result


# Data with the columns the Evaluating section slices on, and a churn label of "yes"/"no";
# twelve tracked cells each fit and log a model, so run #12 of the Models section exists.
# Run #11's model learns shuffled labels: it is the weak champion that version 4 beats.
SETUP = """
import numpy as np, pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
rng = np.random.default_rng(0)
n = 600
X = pd.DataFrame({"tenure": rng.normal(size=n), "spend": rng.normal(size=n),
                  "country": rng.choice(["fr", "de", "us"], n),
                  "age_band": rng.choice(["young", "old"], n)})
y = np.where(X.tenure + 0.5 * rng.normal(size=n) > 0, "yes", "no")
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
def churn_model(C, labels):
    encode = make_column_transformer((OneHotEncoder(), ["country", "age_band"]),
                                     remainder="passthrough")
    return make_pipeline(encode, LogisticRegression(C=C)).fit(X_train, labels)
"""
FIT = """%%track --name fit{i}
clf = churn_model({i}, {labels})
xt.log_artifact(clf)
"""


@pytest.fixture
def models_shell(shell: Any, workdir: Path) -> Iterator[Any]:
    """A git repository with a notebook, and twelve runs that logged a model."""
    git(workdir, "init", "-q", "-b", "main")
    (workdir / "churn.ipynb").write_text("{}")
    git(workdir, "add", "churn.ipynb")
    git(workdir, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "init")
    cell(shell, SETUP)
    for i in range(1, 13):
        labels = "rng.permutation(y_train)" if i == 11 else "y_train"
        cell(shell, FIT.format(i=i, labels=labels))
    cell(shell, "run = xt.get_run(12); eval_run = xt.get_run(1)")
    yield shell


@pytest.mark.slow
def test_models_and_evaluating_sections_run_as_written(models_shell: Any, workdir: Path) -> None:
    shell = models_shell
    (code,) = blocks("Models", "python")
    cell(shell, code)
    ns = shell.user_ns
    assert ns["v"].version == 1
    assert list(ns["model"].predict(ns["X_test"][:2])) == list(ns["clf"].predict(ns["X_test"][:2]))
    history = cell(shell, 'xt.alias_history("churn")')
    assert [(h.alias, h.to_version) for h in history] == [("candidate", 1), ("champion", 1)]
    assert history[1].evaluation == ns["eval_run"].id
    lineage = cell(shell, 'xt.get_model_version("churn@champion").lineage()')
    assert lineage["run"]["number"] == 12

    # Versions 2 and 3 (the weak model), so that the CLI's `alias ... 3` has one to move to.
    cell(shell, 'xt.register_model("#10", "churn"); xt.register_model("#11", "churn")')
    said = {shlex.join(argv[2:]): xtrack(*argv[1:], cwd=workdir) for argv in shell_lines("Models")}
    assert said["register 12 churn --alias candidate --tag team=risk"].startswith(
        "registered churn/4 (candidate) from run"
    )
    assert "churn" in said["ls"] and "what made it" in said["show churn@champion"]
    assert "1 → 3" in said["alias churn champion 3 --reason 'AUC +0.02'"]
    assert "3 → removed" in said["alias churn champion --delete --reason drift"]
    assert "AUC +0.02" in said["history churn"] and "drift" in said["history churn"]
    # The CLI block ends by removing churn@champion; the Evaluating block compares with it.
    cell(shell, 'xt.set_alias("churn", "champion", 3)')

    ev_code, *_ = blocks("Evaluating a model", "python")
    lines = ev_code.splitlines()
    cell(shell, "\n".join(lines[:2]))
    ev = ns["ev"]
    assert ev.metrics["roc_auc"] > 0.8 and "precision_score" in ev.metrics
    compared = cell(shell, lines[2])
    assert "country=fr" in repr(compared)
    promotion = cell(shell, lines[3])
    assert promotion.promoted and promotion.previous == 3 and promotion.version == 4
    assert cell(shell, 'xt.get_model_version("churn@champion").version') == 4
    evaluated = open_store(workdir / ".xtrack").get_run(ev.run_id)
    assert {"precision_yes", "recall_no", "f1_yes"} <= set(evaluated["metrics"])
    assert {"confusion_matrix.png", "roc_curve_plot.png", "per_class_metrics.csv"} <= {
        a["name"] for a in evaluated["artifacts"]
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def jupyter_server(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """A real `jupyter server` with the xtrack extension: (port, token, store)."""
    port, token, store = free_port(), "readme-token", tmp_path / "store"
    env = {
        **os.environ,
        "XTRACK_STORE": str(store),
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions=jupyter_xtrack.server=True",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.5)
        yield port, token, store
    finally:
        proc.terminate()
        proc.wait(timeout=60)


# The calls the "Logging with MLflow's client" paragraph lists, as existing MLflow code.
MLFLOW_CLIENT = """
import json, tempfile
from pathlib import Path
import mlflow, numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
mlflow.set_experiment("churn")
work = Path(tempfile.mkdtemp())
(work / "notes.txt").write_text("hello")
X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": "0.01", "optimizer": "adam"})
    mlflow.log_metrics({"loss": 0.5}, step=0)
    mlflow.log_metric("loss", 0.25, step=1)
    mlflow.set_tags({"team": "risk"})
    mlflow.log_artifact(str(work / "notes.txt"))
    mlflow.log_input(mlflow.data.from_numpy(X, name="toy"), context="training")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("lr", "0.1")
    mlflow.sklearn.autolog()
    fitted = LogisticRegression().fit(X, y)
    mlflow.sklearn.autolog(disable=True)
    logged = mlflow.sklearn.log_model(fitted, name="model")
client = MlflowClient()
found = mlflow.search_runs(filter_string="params.optimizer = 'adam' and metrics.loss < 1",
                           order_by=["metrics.loss ASC"], output_format="list")
print(json.dumps({
    "parent": parent.info.run_id,
    "child_parent": client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"],
    "history": [(m.step, m.value) for m in client.get_metric_history(parent.info.run_id, "loss")],
    "downloaded": Path(client.download_artifacts(parent.info.run_id, "notes.txt",
                                                 str(work / "dl"))).read_text(),
    "found": [r.info.run_name for r in found],
    "autolog": "training_score" in client.get_run(parent.info.run_id).data.metrics,
    "loaded": mlflow.sklearn.load_model(logged.model_uri).predict(X).tolist(),
}))
"""


def readme_exports(port: int, token: str) -> dict[str, str]:
    """The section's `export NAME=value` lines, with this server's port and token."""
    env = {}
    for line in blocks("Logging with MLflow's client", "bash")[0].splitlines():
        line = re.sub(r"<[^<>]*token[^<>]*>", token, line)  # the README's placeholder
        name, value = shlex.split(line, comments=True)[1].split("=", 1)
        env[name] = value.replace("localhost:8888", f"127.0.0.1:{port}")
    return env


@pytest.mark.slow
def test_mlflow_client_logs_into_the_server_as_the_readme_says(
    jupyter_server: tuple[int, str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("mlflow", reason="the MLflow client part needs mlflow installed")
    port, token, store_path = jupyter_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        readme_exports(port, token),
        HOME=str(tmp_path),
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_ENABLE_ASYNC_LOGGING="false",
    )
    script = tmp_path / "train.py"
    script.write_text(MLFLOW_CLIENT)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["child_parent"] == out["parent"]
    assert out["history"] == [[0, 0.5], [1, 0.25]]  # log_model's re-sent point not doubled
    assert out["downloaded"] == "hello" and out["found"] == ["parent"]
    assert out["autolog"] and out["loaded"] == [0, 0, 1, 1]
    # "the runs are then ordinary xtrack runs", and a numeric param filters as a number
    listed = xtrack("ls", "--store", str(store_path), "--json", "params.lr > 0.001", cwd=tmp_path)
    assert sorted(r["name"] for r in json.loads(listed)["runs"]) == ["child", "parent"]


def make_mlflow_sources(tmp_path: Path) -> None:
    """An MLflow SQLite store (mlflow.db) and a file store (./mlruns) in `tmp_path`, each
    with runs in experiments training, eval and other, as a team's history would be."""
    code = """
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
for name in ["training", "eval", "other"]:
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=sys.argv[2] + "/" + name)
    mlflow.set_experiment(name)
    with mlflow.start_run(run_name=name + "-run"):
        mlflow.log_param("lr", "0.01")
        for step in range(3):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(HOME=str(tmp_path), MLFLOW_ALLOW_FILE_STORE="true")
    for uri, artifacts in [("sqlite:///mlflow.db", "db-artifacts"), ("./mlruns", "mlruns")]:
        subprocess.run(
            [sys.executable, "-c", code, uri, (tmp_path / artifacts).as_uri()],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )


@pytest.mark.slow
def test_import_and_export_commands_run_as_written(tmp_path: Path) -> None:
    pytest.importorskip("mlflow", reason="./mlruns and export need the mlflow package")
    make_mlflow_sources(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "XTRACK_"))}
    env["HOME"] = str(tmp_path)
    commands = shell_lines("Importing and exporting")
    assert [argv[:3] for argv in commands] == [["xtrack", "import", "mlflow"]] * 2 + [
        ["xtrack", "export", "mlflow"]
    ] * 2
    for argv in commands:
        xtrack(*argv[1:], cwd=tmp_path, env=env)
    store = open_store(tmp_path / ".xtrack")
    names = sorted(store.query_runs().columns["name"])
    # all three runs of mlflow.db, then only training and eval of ./mlruns
    assert names == ["eval-run", "eval-run", "other-run", "training-run", "training-run"]
    target = commands[2][3].removeprefix("sqlite:///")
    with sqlite3.connect(tmp_path / target) as conn:
        exported = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    assert exported == 5
    assert (tmp_path / commands[3][4]).is_dir()


@pytest.mark.slow
def test_teams_blobs_anywhere_push_and_pull(
    shell: Any, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = " ".join(section("For teams").split())
    for form in (
        "XTRACK_ARTIFACTS=s3://bucket/prefix",
        "file:///shared/blobs",
        "xtrack push [--to URL] [FILTER]",
        "xtrack pull [--from URL] [FILTER]",
        "$XTRACK_TEAM_STORE",
        "Running it twice copies nothing the second time",
        "The PostgreSQL store is described under \"The store\"",
    ):
        assert form in text, form
    shared = tmp_path / "shared" / "blobs"
    monkeypatch.setenv("XTRACK_ARTIFACTS", shared.as_uri())
    cell(
        shell,
        "%%track --name shared-blobs\nopen('model.txt', 'w').write('weights')\n"
        "acc = 0.9\nxt.log_artifact('model.txt')",
    )
    artifact = open_store(workdir / ".xtrack").get_run(1)["artifacts"][0]
    digest = artifact["hash"].split(":")[1]
    assert (shared / digest[:2] / digest[2:]).read_bytes() == b"weights"
    assert not [p for p in (workdir / ".xtrack").rglob("*") if p.name == digest[2:]]

    team = tmp_path / "team-store"
    env = {**os.environ, "XTRACK_TEAM_STORE": str(team)}
    first = xtrack("push", cwd=workdir, env=env)
    assert "runs: 1 copied" in first
    assert "runs: 0 copied, 0 updated, 1 unchanged" in xtrack("push", cwd=workdir, env=env)
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    pulled = xtrack("pull", "--from", str(team), "metrics.acc > 0.5", cwd=laptop)
    assert "runs: 1 copied" in pulled
    copy = open_store(laptop / ".xtrack")
    assert copy.get_blob(artifact["hash"]) == b"weights"

    refused = subprocess.run(
        [str(XTRACK), "ls"],
        cwd=laptop,
        capture_output=True,
        text=True,
        env={**os.environ, "XTRACK_STORE": "postgresql://u:pw@db/x"},
        timeout=600,
    )
    assert refused.returncode != 0 and "cannot reach the PostgreSQL store" in refused.stderr
    assert "u:pw@" not in refused.stderr  # credentials never shown
