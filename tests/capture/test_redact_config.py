"""User redaction patterns from git config (`xtrack.redact`), besides XTRACK_REDACT: a
team sets them once in the repository, and every kernel started in it hides them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.capture import redact as redact_module
from jupyter_xtrack.capture.redact import REDACTED, redact_text
from tests.conftest import git, run_cell


@pytest.fixture
def configured(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`workdir` as a git repository whose config names two redaction patterns."""
    monkeypatch.delenv("XTRACK_REDACT", raising=False)
    git(workdir, "init", "-q")
    git(workdir, "config", "--add", "xtrack.redact", "corp-[0-9]{8}")
    git(workdir, "config", "--add", "xtrack.redact", r"internal_id=(\w{4,32})")
    redact_module._git_config_patterns.cache_clear()
    yield workdir
    redact_module._git_config_patterns.cache_clear()


def test_git_config_patterns_are_applied(configured: Path) -> None:
    text = "id corp-12345678, internal_id=abcd1234; corp-12 stays"
    assert redact_text(text) == f"id {REDACTED}, internal_id={REDACTED}; corp-12 stays"


def test_they_add_to_the_environment_variable(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_REDACT", "ZZ[A-Z]{3}")
    assert redact_text("ZZTOP corp-87654321") == f"{REDACTED} {REDACTED}"


def test_outside_a_configured_repository_nothing_is_added(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XTRACK_REDACT", raising=False)
    redact_module._git_config_patterns.cache_clear()
    assert redact_module.user_patterns() == ()
    assert redact_text("corp-12345678") == "corp-12345678"


def test_a_tracked_cell_stores_no_match(configured: Path, shell: Any) -> None:
    run_cell(shell, '%%track\nemployee = "corp-12345678"\nprint("internal_id=abcd1234")\n')
    run = xt.runs().iloc[0]
    stored = xt.get_run(str(run["id"]))
    assert stored.params["employee"] == REDACTED
    assert stored.code is not None and "corp-12345678" not in stored.code
    assert stored.stdout is not None and "abcd1234" not in stored.stdout
