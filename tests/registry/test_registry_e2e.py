"""The model registry end to end: models registered from tracked cells' runs in a real
kernel (nbclient), aliases moved, loaded by every URI form, the alias history, the trust
rule for unpickling, and the `xtrack models` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.optimize.automl import MODEL_ARTIFACT
from jupyter_xtrack.registry import Registry, UntrustedModelError
from jupyter_xtrack.registry.artifacts import AUTOML_MODEL
from jupyter_xtrack.store import open_store
from tests.conftest import git, python_notebook

pytestmark = pytest.mark.slow

URIS = [
    "churn@champion",
    "churn/1",
    "churn",
    "churn@latest",
    "models:/churn@champion",
    "models:/churn/1",
]
FIT = """%%track --name {name}
from sklearn.linear_model import LogisticRegression
df = pd.read_csv("train.csv")
model = LogisticRegression(C={c}).fit(df[["x"]], df["y"])
xt.log_artifact(model)
"""
USE = f"""
import json
v1 = xt.register_model(xt.get_run(1), "churn", aliases=["candidate"], tags={{"team": "risk"}})
v2 = xt.register_model("#2", "churn", description="C=0.5")
xt.set_alias("churn", "champion", 2, reason="first champion")
xt.set_alias("churn", "champion", 1, reason="v2 regressed", evaluation=xt.get_run(2))
loaded = {{u: [type(xt.load_model(u)).__name__, xt.load_model(u).C,
              xt.get_model_version(u).version] for u in {URIS!r}}}
history = [[c.alias, c.from_version, c.to_version, c.reason, c.evaluation, c.user]
           for c in xt.alias_history("churn")]
lineage = xt.get_model_version("churn@champion").lineage()
print(json.dumps({{"versions": [v1.version, v2.version], "aliases": v1.aliases,
                  "loaded": loaded, "history": history, "code": lineage["code"],
                  "inputs": lineage["inputs"], "packages": list(lineage["environment"]["packages"]),
                  "cells": lineage["executed_cells"], "run2": xt.get_run(2).id,
                  "by_tag": [v.version for v in xt.model_versions(tag="team=risk")],
                  "models": [(m.name, m.latest_version, m.aliases) for m in xt.models("@champion")]}}))
"""


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A store where a kernel tracked two fits of a model and registered both."""
    work = tmp_path_factory.mktemp("registry")
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("models\n")
    git(work, "add", "README.md")
    git(work, "commit", "-q", "-m", "init")
    store_dir = work / "store"
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        "import pandas as pd\n"
        "pd.DataFrame({'x': range(20), 'y': [i % 2 for i in range(20)]}).to_csv('train.csv', index=False)",
        FIT.format(name="fit", c=1.0),
        FIT.format(name="fit2", c=0.5),
        USE,
    )
    env_before = os.environ.get("XTRACK_STORE")
    os.environ["XTRACK_STORE"] = str(store_dir)
    try:
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        ).execute()
    finally:
        if env_before is None:
            os.environ.pop("XTRACK_STORE")
        else:
            os.environ["XTRACK_STORE"] = env_before
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    return store_dir, json.loads(out)


def test_registered_from_tracked_runs_and_loaded_by_every_uri_form(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    _, seen = registered
    assert seen["versions"] == [1, 2]
    assert seen["aliases"] == ["candidate"]
    # champion was moved back to version 1 (C=1.0); "churn" and "@latest" mean version 2
    assert seen["loaded"] == {
        "churn@champion": ["LogisticRegression", 1.0, 1],
        "churn/1": ["LogisticRegression", 1.0, 1],
        "churn": ["LogisticRegression", 0.5, 2],
        "churn@latest": ["LogisticRegression", 0.5, 2],
        "models:/churn@champion": ["LogisticRegression", 1.0, 1],
        "models:/churn/1": ["LogisticRegression", 1.0, 1],
    }
    assert seen["by_tag"] == [1]
    assert seen["models"] == [["churn", 2, {"candidate": 1, "champion": 1}]]


def test_every_alias_change_is_in_the_history_with_who_and_why(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    _, seen = registered
    user = seen["history"][0][5]
    assert user  # the kernel's login name
    assert seen["history"] == [
        ["candidate", None, 1, "set when registered", None, user],
        ["champion", None, 2, "first champion", None, user],
        ["champion", 2, 1, "v2 regressed", seen["run2"], user],
    ]


def test_a_version_carries_the_code_data_and_environment_that_made_it(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    _, seen = registered
    assert "LogisticRegression(C=1.0)" in seen["code"]
    (train,) = [f for f in seen["inputs"] if f["path"].endswith("train.csv")]
    assert train["hash"].startswith("xxh3_128:")
    assert "scikit-learn" in seen["packages"]
    assert any("to_csv('train.csv'" in cell for cell in seen["cells"])


def test_a_store_of_another_user_is_not_unpickled_unless_trusted(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give the store folder to another user")
    store_dir, _ = registered
    registry = Registry(open_store(store_dir))
    os.chown(store_dir, 65534, 65534)
    try:
        with pytest.raises(UntrustedModelError, match="trusted=True"):
            registry.load("churn@champion")
        assert registry.load("churn@champion", trusted=True).C == 1.0
    finally:
        os.chown(store_dir, os.getuid(), os.getgid())


def _xtrack(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_xtrack.cli", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_registers_shows_lineage_moves_aliases_and_reads_history(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    store_dir, _ = registered
    done = _xtrack(
        store_dir,
        "models",
        "register",
        "2",
        "logisticregression.joblib",
        "fraud",
        "--alias",
        "candidate",
        "--tag",
        "team=risk",
    )
    assert done.returncode == 0, done.stderr
    assert "registered fraud/1 (candidate)" in done.stdout
    shown = _xtrack(store_dir, "models", "show", "churn@champion")
    assert shown.returncode == 0, shown.stderr
    for expected in (
        "churn/1  aliases: candidate, champion",
        "#1 fit",
        "LogisticRegression(C=1.0)",
        "train.csv  xxh3_128:",
        "Python 3.",
        "scikit-learn",
        "git         ",
        "(main)",
    ):
        assert expected in shown.stdout, expected
    moved = _xtrack(store_dir, "models", "alias", "fraud", "champion", "1", "--reason", "only one")
    assert moved.returncode == 0 and "fraud@champion  — → 1" in moved.stdout, moved.stderr
    history = _xtrack(store_dir, "models", "history", "fraud", "--json")
    assert [(c["alias"], c["to_version"], c["reason"]) for c in json.loads(history.stdout)] == [
        ("candidate", 1, "set when registered"),
        ("champion", 1, "only one"),
    ]
    listed = _xtrack(store_dir, "models", "ls", "team=risk")
    assert "churn" in listed.stdout and "fraud" in listed.stdout
    bad = _xtrack(store_dir, "models", "alias", "fraud", "latest", "1")
    assert bad.returncode == 2 and "reserved" in bad.stderr
    missing = _xtrack(store_dir, "models", "register", "2", "nope.pkl", "x")
    assert (
        missing.returncode == 2 and "'logisticregression.joblib'" in missing.stderr
    )  # lists what exists


def test_the_automl_model_name_is_the_one_the_registry_picks() -> None:
    assert AUTOML_MODEL == MODEL_ARTIFACT


def test_deleting_an_alias_is_kept_in_the_history(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    store_dir, _ = registered
    registry = Registry(open_store(store_dir))
    change = registry.delete_alias("churn", "candidate", reason="retired")
    assert (change.from_version, change.to_version, change.reason) == (1, None, "retired")
    assert "candidate" not in registry.get("churn/1").aliases
    assert [c.to_version for c in registry.history("churn", "candidate")] == [1, None]


def test_the_cli_deletes_an_alias_with_a_reason(
    registered: tuple[Path, dict[str, Any]],
) -> None:
    store_dir, _ = registered
    both = _xtrack(store_dir, "models", "alias", "churn", "champion", "1", "--delete")
    assert both.returncode == 2 and "either a VERSION" in both.stderr
    done = _xtrack(
        store_dir, "models", "alias", "churn", "champion", "--delete", "--reason", "drift"
    )
    assert done.returncode == 0, done.stderr
    assert "churn@champion  1 → removed" in done.stdout and "drift" in done.stdout
    history = _xtrack(store_dir, "models", "history", "churn", "champion", "--json")
    assert [(c["from_version"], c["to_version"], c["reason"]) for c in json.loads(history.stdout)][
        -1
    ] == (1, None, "drift")
    again = _xtrack(store_dir, "models", "alias", "churn", "champion", "--delete")
    assert again.returncode == 2 and "no alias 'champion'" in again.stderr
