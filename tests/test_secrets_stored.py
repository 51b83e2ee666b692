"""Secrets given to the tracker by hand (xt.log_params, xt.set_tags, --tag, artifact names)
never reach the store: a real shell, then a grep of the database and every blob."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jupyter_xtrack as xt

from .conftest import run_cell

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
OPENAI = "sk-" + "proj-Z9y8X7w6V5u4T3s2R1q0P9o8N7m6"
PASSWORD = "hunter2hunter2"
SLACK = "xoxb-" + "123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx"
CANARIES = (GITHUB, OPENAI, PASSWORD, SLACK)


def _store_bytes(root: Path) -> bytes:
    """The database (and its WAL) and every blob, as one haystack."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_params_tags_and_artifact_names_are_stored_redacted(shell: Any, workdir: Path) -> None:
    (workdir / "notes.txt").write_text("plain text\n")
    run_cell(shell,
             f"%%track --tag deploy_token={GITHUB}\n"
             "import jupyter_xtrack as xt\n"
             f"xt.log_params(api_key={OPENAI!r}, db_password={PASSWORD!r}, max_tokens=512, "
             "tokenizer='bpe', n_tokens=3)\n"
             f"xt.set_tags(webhook={SLACK!r}, stage='dev')\n"
             f"xt.log_artifact('notes.txt', name='notes-{GITHUB}.txt')\n")
    xt.flush()
    run = xt.runs().iloc[0]
    stored = xt.get_run(str(run["id"]))
    # The names stay, the values go; ordinary params that merely mention tokens stay as given.
    assert set(stored.params) >= {"api_key", "db_password", "max_tokens", "tokenizer", "n_tokens"}
    assert stored.params["max_tokens"] == 512 and stored.params["tokenizer"] == "bpe"
    assert stored.params["n_tokens"] == 3
    assert stored.tags["stage"] == "dev" and "deploy_token" in stored.tags
    haystack = _store_bytes(Path(xt.open_store().root))
    found = [c for c in CANARIES if c.encode() in haystack]
    assert found == [], f"stored verbatim: {found}"
    frame_text = xt.runs().to_csv()
    assert not [c for c in CANARIES if c in frame_text]


def test_metric_names_holding_a_token_are_stored_and_shown_redacted(
    shell: Any, workdir: Path
) -> None:
    run_cell(shell,
             "%%track\nimport jupyter_xtrack as xt\n"
             f"xt.log(**{{'loss_{GITHUB}': 0.1}})\nxt.log(tokens_per_s=900.0)\n")
    xt.flush()
    stored = xt.get_run(str(xt.runs().iloc[0]["id"]))
    assert stored.metrics == {"loss_[REDACTED:github-token]": 0.1, "tokens_per_s": 900.0}
    haystack = _store_bytes(Path(xt.open_store().root))
    assert GITHUB.encode() not in haystack and b"tokens_per_s" in haystack
