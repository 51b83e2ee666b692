"""Real git, real repositories in tmp_path: install, add/commit/status/diff/checkout, uninstall.

Assertions read the real `.git/config` and attributes files, as nbstripout's tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_xtrack.notebook.hooks import ATTRIBUTES_LINE

from .conftest import NOTEBOOKS, git, xtrack


def install(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    proc = xtrack(repo, "hooks", "install", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_install_writes_config_and_attributes_idempotently(repo: Path) -> None:
    before = (repo / ".git" / "config").read_text()
    proc = install(repo)
    config = (repo / ".git" / "config").read_text()
    py = '\\"' + sys.executable + '\\"'
    assert config.startswith(before)
    assert config[len(before) :] == (
        '[filter "xtrack"]\n'
        f"\tprocess = {py} -m jupyter_xtrack.notebook.gitfilter\n"
        f"\tclean = {py} -m jupyter_xtrack.cli strip --strict -\n"
        "\trequired = true\n"
        '[diff "xtrack"]\n'
        f"\tcommand = {py} -m jupyter_xtrack.notebook.diff\n"
        '[merge "xtrack"]\n'
        "\tname = jupyter notebook merge driver (nbdime, via xtrack)\n"
        f"\tdriver = {py} -m nbdime.vcs.git.mergedriver merge %O %A %B %L %P\n"
    )
    attributes = repo / ".git" / "info" / "attributes"
    assert attributes.read_text() == ATTRIBUTES_LINE + "\n"
    assert b"info/attributes" in proc.stdout
    # second install: nothing changes
    proc = install(repo)
    assert b"already installed" in proc.stdout
    assert (repo / ".git" / "config").read_text() == config
    assert attributes.read_text() == ATTRIBUTES_LINE + "\n"
    status = xtrack(repo, "hooks", "status")
    assert status.returncode == 0
    assert b"notebook filter: installed" in status.stdout
    assert b"filter=xtrack, diff=xtrack, merge=xtrack" in status.stdout


def test_uninstall_removes_exactly_what_install_added(repo: Path) -> None:
    attributes = repo / ".git" / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    attributes.write_text("*.csv text\n")
    git(repo, "config", "filter.xtrack.extrakeys", "metadata.foo")  # the user's own setting
    config_before = (repo / ".git" / "config").read_text()
    install(repo)
    assert attributes.read_text() == "*.csv text\n" + ATTRIBUTES_LINE + "\n"
    proc = xtrack(repo, "hooks", "uninstall")
    assert proc.returncode == 0
    assert attributes.read_text() == "*.csv text\n"
    assert (repo / ".git" / "config").read_text() == config_before
    status = xtrack(repo, "hooks", "status")
    assert status.returncode == 1 and b"not installed" in status.stdout
    assert b"nothing to remove" in xtrack(repo, "hooks", "uninstall").stdout


def test_install_into_gitattributes_and_uninstall_from_it(repo: Path) -> None:
    install(repo, "--attributes", ".gitattributes")
    assert (repo / ".gitattributes").read_text() == ATTRIBUTES_LINE + "\n"
    assert not (repo / ".git" / "info" / "attributes").exists()
    assert "filter: xtrack" in git(repo, "check-attr", "filter", "--", "x.ipynb").stdout
    xtrack(repo, "hooks", "uninstall", "--attributes", ".gitattributes")
    assert not (repo / ".gitattributes").exists()


def test_global_install(repo: Path, git_env: dict[str, str]) -> None:
    install(repo, "--global")
    home = Path(git_env["HOME"])
    assert '[filter "xtrack"]' in (home / ".gitconfig").read_text()
    assert (home / ".config" / "git" / "attributes").read_text() == ATTRIBUTES_LINE + "\n"
    assert "[filter" not in (repo / ".git" / "config").read_text()
    assert "filter: xtrack" in git(repo, "check-attr", "filter", "--", "x.ipynb").stdout
    xtrack(repo, "hooks", "uninstall", "--global")
    assert "xtrack" not in (home / ".gitconfig").read_text()
    assert not (home / ".config" / "git" / "attributes").exists()


def test_pre_commit_entry(repo: Path) -> None:
    yaml = pytest.importorskip("yaml")
    install(repo, "--pre-commit")
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    hook = config["repos"][0]["hooks"][0]
    assert config["repos"][0]["repo"] == "local"
    assert hook["id"] == "xtrack-strip" and hook["types"] == ["jupyter"]
    assert hook["entry"].endswith("-m jupyter_xtrack.cli strip")
    install(repo, "--pre-commit")  # idempotent
    assert (repo / ".pre-commit-config.yaml").read_text().count("xtrack-strip") == 1
    xtrack(repo, "hooks", "uninstall")
    assert not (repo / ".pre-commit-config.yaml").exists()


def test_outside_a_repository_install_says_what_to_do(tmp_path: Path, git_env: dict) -> None:
    proc = xtrack(tmp_path, "hooks", "install")
    assert proc.returncode == 1
    assert b"not inside a git repository: run `git init` first" in proc.stderr


def test_pre_commit_hooks_manifest_offers_strip_hook() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"
    hooks = yaml.safe_load(manifest.read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["xtrack-strip"]["entry"] == "xtrack strip"
    assert ids["xtrack-strip"]["types"] == ["jupyter"]


# --- the filter at work -------------------------------------------------------------------


def write_notebook(path: Path, name: str = "outputs.ipynb") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (NOTEBOOKS / name).read_bytes()
    path.write_bytes(data)
    return data


def test_add_commit_status_diff_checkout(repo: Path) -> None:
    install(repo)
    original = write_notebook(repo / "nb" / "train.ipynb")
    git(repo, "add", "nb/train.ipynb")
    git(repo, "commit", "-q", "-m", "add notebook")
    committed = git(repo, "show", "HEAD:nb/train.ipynb").stdout.encode()
    assert committed == (NOTEBOOKS / "outputs.default.expected").read_bytes()
    assert (repo / "nb" / "train.ipynb").read_bytes() == original  # working copy keeps outputs
    assert git(repo, "status", "--porcelain").stdout == ""
    # re-running the notebook (new outputs, new counts) is not a change for git
    nb = json.loads(original)
    nb["cells"][1]["outputs"][0]["text"] = ["hello again\n"]
    nb["cells"][1]["execution_count"] = 42
    (repo / "nb" / "train.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert git(repo, "diff", "--quiet", check=False).returncode == 0
    # a source edit is; git diff shows it notebook-aware (nbdime), without output noise
    nb["cells"][1]["source"] = ["import math\n", "print('changed')"]
    (repo / "nb" / "train.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    diff = git(repo, "diff").stdout
    assert "nbdiff a/nb/train.ipynb b/nb/train.ipynb" in diff
    assert "print('changed')" in diff
    assert "hello again" not in diff and "execution_count" not in diff
    assert git(repo, "status", "--porcelain").stdout == " M nb/train.ipynb\n"
    # checkout brings back the committed (stripped) notebook
    git(repo, "checkout", "--", "nb/train.ipynb")
    assert (repo / "nb" / "train.ipynb").read_bytes() == committed


def test_one_filter_process_for_many_notebooks(repo: Path) -> None:
    install(repo)
    for i in range(6):
        write_notebook(repo / f"n{i}.ipynb")
    env = {**os.environ, "GIT_TRACE": "1"}
    proc = subprocess.run(["git", "add", "."], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    starts = [
        line
        for line in proc.stderr.splitlines()
        if "run_command" in line and "jupyter_xtrack.notebook.gitfilter" in line
    ]
    assert len(starts) == 1
    expected = (NOTEBOOKS / "outputs.default.expected").read_text()
    for i in range(6):
        assert git(repo, "show", f":n{i}.ipynb").stdout == expected


def test_filter_error_stops_add_when_required(repo: Path) -> None:
    install(repo)
    write_notebook(repo / "good.ipynb")
    write_notebook(repo / "bad.ipynb", "invalid_json.ipynb")
    proc = git(repo, "add", "good.ipynb", "bad.ipynb", check=False)
    assert proc.returncode != 0
    assert "bad.ipynb: invalid JSON at line 4" in proc.stderr
    assert "clean filter 'xtrack' failed" in proc.stderr
    assert "bad.ipynb" not in git(repo, "ls-files").stdout


def test_filter_error_passes_blob_through_when_not_required(repo: Path) -> None:
    install(repo)
    git(repo, "config", "filter.xtrack.required", "false")
    write_notebook(repo / "good.ipynb")
    bad = write_notebook(repo / "bad.ipynb", "invalid_json.ipynb")
    proc = git(repo, "add", "good.ipynb", "bad.ipynb")
    assert "bad.ipynb: invalid JSON" in proc.stderr
    assert git(repo, "show", ":bad.ipynb").stdout.encode() == bad  # unchanged, not emptied
    assert (
        git(repo, "show", ":good.ipynb").stdout
        == (NOTEBOOKS / "outputs.default.expected").read_text()
    )


def test_merge_uses_nbdime_driver(repo: Path) -> None:
    install(repo)
    write_notebook(repo / "m.ipynb", "clean.ipynb")
    git(repo, "add", "m.ipynb")
    git(repo, "commit", "-q", "-m", "base")
    base = json.loads((repo / "m.ipynb").read_text())

    def edit(branch: str, index: int, text: str) -> None:
        git(repo, "checkout", "-q", "-B", branch, "main")
        nb = json.loads(json.dumps(base))
        nb["cells"][index]["source"] = [text]
        (repo / "m.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        git(repo, "commit", "-q", "-am", branch)

    edit("left", 0, "left edit")
    edit("right", 1, "right = 1")
    env = {**os.environ, "GIT_TRACE": "1"}
    proc = subprocess.run(
        ["git", "merge", "--no-edit", "left"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nbdime.vcs.git.mergedriver" in proc.stderr
    merged = json.loads((repo / "m.ipynb").read_text())
    assert merged["cells"][0]["source"] == "left edit" or merged["cells"][0]["source"] == [
        "left edit"
    ]
    assert "".join(merged["cells"][1]["source"]) == "right = 1"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_single_file_clean_fallback_matches_process_filter(repo: Path) -> None:
    # Tools without process filters (libgit2) use filter.xtrack.clean.
    install(repo)
    git(repo, "config", "--unset", "filter.xtrack.process")
    write_notebook(repo / "a.ipynb")
    git(repo, "add", "a.ipynb")
    assert (
        git(repo, "show", ":a.ipynb").stdout == (NOTEBOOKS / "outputs.default.expected").read_text()
    )
    write_notebook(repo / "bad.ipynb", "invalid_json.ipynb")
    assert git(repo, "add", "bad.ipynb", check=False).returncode != 0
