"""Edges of serving files and diffs: a download the client abandons is not an error,
artifact-name refusals name the character, and an nbformat 3 notebook diffed with itself
is unchanged."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.store import open_store

from .conftest import API, Populated
from .test_endpoints import error_of


@pytest.mark.parametrize(("name", "shown"), [("a\rb.png", "'\\r'"), ("a\nb.png", "'\\n'"),
                                                ("a\tb", "'\\t'"), ("a#b", "'#'")])
async def test_artifact_name_refusal_names_the_character(
    jp_fetch: Any, name: str, shown: str
) -> None:
    code, body = await error_of(jp_fetch, "runs", "1", "artifacts", name)  # jp_fetch encodes
    assert code == 400 and body["reason"] == "bad_path"
    assert "None" not in body["message"]  # it said "contains None" for CR and LF
    assert f"contains the control character {shown}" in body["message"] or (
        f"contains {shown}" in body["message"]
    )
    assert "at position 1" in body["message"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_download_closed_early_logs_no_traceback(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str,
    populated: Populated,
) -> None:
    big = 32 << 20  # far more than the socket buffers hold
    with open_store(populated.root) as store:
        blob = store.put_blob(b"x" * big)
        store.add_artifact(populated.ids["a"], "big.bin", blob=blob, size=big,
                           media_type="application/octet-stream")
    records = Records()
    loggers = [logging.getLogger(), logging.getLogger("tornado"), jp_serverapp.log,
               logging.getLogger("jupyter_xtrack.server")]
    old_level = logging.getLogger("jupyter_xtrack.server").level
    logging.getLogger("jupyter_xtrack.server").setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(records)
    try:
        token = jp_serverapp.identity_provider.token
        reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        path = f"{jp_base_url}{API}/runs/1/artifacts/big.bin"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                     f"Authorization: token {token}\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readexactly(64), 60)
        assert head.startswith(b"HTTP/1.1 200")
        writer.close()  # with unread data: the server's next write fails
        for _ in range(1000):  # until the handler has run into the closed stream
            # The access log line, or the handler's note, says the request is over.
            if any("big.bin" in r.getMessage() or "closed the connection" in r.getMessage()
                   for r in records.records):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the server never noticed the closed download: "
                        + repr([(r.name, r.getMessage()[:200]) for r in records.records]))
        await asyncio.sleep(0.1)  # anything logged after the handler ended
    finally:
        for logger in loggers:
            logger.removeHandler(records)
        logging.getLogger("jupyter_xtrack.server").setLevel(old_level)
    # Jupyter logs tornado's "Uncaught exception" (with the traceback) through ServerApp.
    problems = [r for r in records.records if r.exc_info or r.levelno >= logging.WARNING
                or "StreamClosedError" in r.getMessage()]
    assert not problems, [r.getMessage() for r in problems]


async def test_nbformat3_notebook_diffed_with_itself_is_unchanged(
    api: Any, populated: Populated
) -> None:
    nb3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [
        {"metadata": {}, "cells": [
            {"cell_type": "code", "input": "x = 1", "language": "python", "metadata": {},
             "outputs": [], "prompt_number": 1},
            {"cell_type": "markdown", "metadata": {}, "source": "# notes"}]}]}
    numbers = []
    with open_store(populated.root) as store:
        blob = store.put_blob(json.dumps(nb3).encode())
        for name in ("v3-a", "v3-b"):
            rid, number = store.create_run(name=name, experiment="exp3")
            store.set_facts(rid, notebook={"hash": blob, "path": str(Path("old.ipynb"))})
            store.finish_run(rid, status="finished")
            numbers.append(str(number))
    diff = await api("diff", "NotebookDiff", a=numbers[0], b=numbers[1], kind="notebook")
    assert diff["changed"] is False and diff["diff"] == []  # True before: random cell ids
    assert diff["base"]["nbformat"] == 4
    assert [c["source"] for c in diff["base"]["cells"]] == ["x = 1", "# notes"]
