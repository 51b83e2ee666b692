"""Fixtures for the server tests: a real jupyter_server (pytest-jupyter's `jp_fetch`) with
the xtrack extension enabled, reading a real store populated in tmp_path, plus the
OpenAPI schemas that every response is validated against."""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pytest_jupyter.jupyter_server import *  # noqa: F403 - pytest-jupyter's fixtures, here only

from jupyter_xtrack.store import Store, open_store

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "jupyter_xtrack" / "server" / "openapi.yaml"
API = "xtrack/api"


def notebook_bytes(sources: list[str]) -> bytes:
    """A small nbformat v4 notebook with one code cell per source."""
    cells = [
        {"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "execution_count": i + 1,
         "outputs": [], "source": src}
        for i, src in enumerate(sources)
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
          "display_name": "Python 3", "language": "python"}}, "nbformat": 4,
          "nbformat_minor": 5}
    return json.dumps(nb).encode()


class Evil:
    """Unpickling this would create `marker`; the server must never do it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@dataclass
class Populated:
    """What `populated` put in the store."""

    root: Path
    ids: dict[str, str]  # "a", "b", "c", "running" -> run id
    pickle_marker: Path


def populate(root: Path, marker: Path) -> Populated:
    """Three finished runs with params, metrics (one with 5000 points), facts, notebooks,
    files and artifacts (PNG, HTML, SVG, notebook, pickle), and one running run."""
    store: Store = open_store(root)
    ids: dict[str, str] = {}
    t0 = time.time() - 1000
    try:
        for i, name in enumerate(["a", "b", "c"]):
            rid, _ = store.create_run(name=f"run-{name}", experiment="exp1" if i < 2 else "exp2",
                                      tags={"team": "x"}, notebook_path=str(root.parent / "nb.ipynb"),
                                      cell_id=f"cell-{i}", started_at=t0 + i)
            ids[name] = rid
            store.set_params(rid, {"lr": 0.1 * (i + 1), "model": "rf" if i else "svm",
                                   "seed": 1})
            points = [(rid, "loss", 1.0 / (s + 1) + (5.0 if s == 1234 else 0.0), s, t0 + s)
                      for s in range(5000 if i == 0 else 50)]
            points.append((rid, "acc", 0.8 + 0.05 * i, None, t0))
            store.log_metrics(points)
            code = store.put_blob(f"x = {i}\nprint(x)\n".encode())
            nb = store.put_blob(notebook_bytes(["import numpy", f"x = {i}"]))
            lineage = store.put_blob(notebook_bytes([f"y = {i}"]))
            env = store.put_blob(json.dumps({"python": {"version": f"3.11.{i}"},
                                             "platform": {"system": "Linux"},
                                             "imported": {"numpy": "2.0"},
                                             "packages": {"numpy": "2.0"}}).encode())
            diff = store.put_blob(b"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n")
            store.set_facts(rid, code={"hash": code, "kind": "cell", "lines": 2},
                            notebook={"hash": nb, "path": str(root.parent / "nb.ipynb")},
                            lineage={"hash": lineage, "cells": 1},
                            env={"hash": env, "python": f"3.11.{i}"},
                            git={"commit": f"{i}" * 40, "branch": "main", "dirty": i == 2,
                                 "diff_hash": diff, "diff_bytes": 30})
            store.record_files(rid, [
                {"direction": "input", "path": "data/train.csv", "hash": "xxh3_128:" + "1" * 32,
                 "size": 10, "status": "ok"},
                {"direction": "output", "path": f"out/model{i}.bin",
                 "hash": "xxh3_128:" + f"{i + 2}" * 32, "size": 5, "status": "ok"},
            ])
            store.finish_run(rid, status="finished", ended_at=t0 + i + 10)
        # Run c read the file that run a wrote: a lineage link.
        store.record_files(ids["c"], [{"direction": "input", "path": "out/model0.bin",
                                       "hash": "xxh3_128:" + "2" * 32, "size": 5,
                                       "status": "ok"}])
        a = ids["a"]
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
        for name, data, media in [
            ("figure-1.png", png, "image/png"),
            ("plots/roc.png", png, "image/png"),
            ("report.html", b"<script>alert(1)</script>", "text/html"),
            ("chart.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>",
             None),
            ("run.ipynb", notebook_bytes(["1"]), None),
            ("model.pkl", pickle.dumps(Evil(marker)), "application/octet-stream"),
            ("notes.txt", "héllo".encode(), "text/plain"),
        ]:
            h = store.put_blob(data)
            store.add_artifact(a, name, blob=h, size=len(data), media_type=media)
        rid, _ = store.create_run(name="live", experiment="exp2")
        ids["running"] = rid
        store.log_metrics([(rid, "loss", float("nan"), 0, t0), (rid, "loss", float("inf"), 1, t0)])
    finally:
        store.close()
    return Populated(root, ids, marker)


@pytest.fixture
def populated(tmp_path: Path) -> Populated:
    return populate(tmp_path / "store", tmp_path / "unpickled")


@pytest.fixture
def store_path(populated: Populated) -> Path:
    return populated.root


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": str(store_path), "events_poll_s": 0.05},
    }


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    return dict(yaml.safe_load(OPENAPI_PATH.read_text()))


@pytest.fixture
def check_schema(openapi: dict[str, Any]) -> Any:
    """check_schema(name, value): fail unless `value` matches components/schemas/<name>."""

    def check(name: str, value: Any) -> Any:
        schema = {**openapi, "$ref": f"#/components/schemas/{name}"}
        errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        return value

    return check


@pytest.fixture
def api(jp_fetch: Any, check_schema: Any) -> Any:
    """api(path, schema=None, **params) -> parsed JSON of GET xtrack/api/<path>, validated
    against `schema` when given."""

    async def get(path: str, schema: str | None = None, **params: Any) -> Any:
        resp = await jp_fetch(*API.split("/"), *path.split("/"), params=params)
        body = json.loads(resp.body)
        if schema:
            check_schema(schema, body)
        return body

    return get
