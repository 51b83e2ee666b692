"""Install, inspect and remove the git integration for notebooks.

What `install` sets up, all under the driver name `xtrack` so it never collides with nbstripout
or nbdime's own set-up, and `uninstall` removes exactly that:

* `filter.xtrack.process`: the long-running clean filter (one process per git command);
  `filter.xtrack.clean`: the one-shot fallback for tools without process filters (libgit2);
  `filter.xtrack.required = true`: a notebook that cannot be stripped stops the commit.
* `diff.xtrack.command`: notebook-aware `git diff` (stripped, then nbdime).
* `merge.xtrack.driver` / `.name`: nbdime's notebook merge driver.
* one attributes line: `*.ipynb filter=xtrack diff=xtrack merge=xtrack`.
* optionally a pre-commit hook entry in `.pre-commit-config.yaml`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .archive import SPOOL_DIRNAME, find_git_dir, pending_spools

DRIVER = "xtrack"
ATTRIBUTES_LINE = f"*.ipynb filter={DRIVER} diff={DRIVER} merge={DRIVER}"
PRE_COMMIT_FILE = ".pre-commit-config.yaml"
_PRE_COMMIT_BEGIN = "# >>> xtrack notebook hygiene (managed by `xtrack hooks`) >>>"
_PRE_COMMIT_END = "# <<< xtrack notebook hygiene <<<"


class HooksError(Exception):
    """The git integration cannot be changed; the message says what to do."""


def _quote(path: str) -> str:
    return '"' + path.replace("\\", "/").replace('"', '\\"') + '"'


def config_values(python: str | None = None, strip_args: Sequence[str] = ()) -> dict[str, str]:
    """The git config keys and values install writes (python defaults to this interpreter)."""
    py = _quote(python or sys.executable)
    extra = "".join(" " + _shell_word(a) for a in strip_args)
    return {
        f"filter.{DRIVER}.process": f"{py} -m jupyter_xtrack.notebook.gitfilter{extra}",
        f"filter.{DRIVER}.clean": f"{py} -m jupyter_xtrack.cli strip --strict{extra} -",
        f"filter.{DRIVER}.required": "true",
        f"diff.{DRIVER}.command": f"{py} -m jupyter_xtrack.notebook.diff",
        f"merge.{DRIVER}.name": "jupyter notebook merge driver (nbdime, via xtrack)",
        f"merge.{DRIVER}.driver": f"{py} -m nbdime.vcs.git.mergedriver merge %O %A %B %L %P",
    }


def _shell_word(word: str) -> str:
    if word and all(c.isalnum() or c in "-_.=/+:" for c in word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def _git(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise HooksError("git is not on PATH: install git first") from None
    if check and proc.returncode != 0:
        raise HooksError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def _scope_flag(global_: bool) -> list[str]:
    return ["--global"] if global_ else ["--local"]


def default_attributes_file(cwd: Path, global_: bool) -> Path:
    """Where the attributes line goes unless told: `.git/info/attributes`, or for --global
    git's `core.attributesFile` (default `$XDG_CONFIG_HOME/git/attributes`)."""
    if global_:
        configured = _git(["config", "--global", "--get", "core.attributesFile"], cwd, False)
        if configured.returncode == 0 and configured.stdout.strip():
            return Path(os.path.expanduser(configured.stdout.strip()))
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        return Path(xdg) / "git" / "attributes"
    proc = _git(["rev-parse", "--git-path", "info/attributes"], cwd, False)
    if proc.returncode != 0:
        raise HooksError(
            f"{cwd} is not inside a git repository: run `git init` first, or use --global"
        )
    return (cwd / proc.stdout.strip()).resolve()


def repo_root(cwd: Path) -> Path | None:
    """The top of the work tree containing `cwd`, or None outside a repository."""
    proc = _git(["rev-parse", "--show-toplevel"], cwd, False)
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def install(
    cwd: Path,
    *,
    global_: bool = False,
    attributes: Path | None = None,
    pre_commit: bool = False,
    strip_args: Sequence[str] = (),
    python: str | None = None,
) -> list[str]:
    """Set up filter, diff and merge drivers and the attributes line; return what changed.

    Idempotent: a second call changes nothing and returns []. Raises HooksError outside a
    repository (without --global) or when a file cannot be written.
    """
    if not global_ and repo_root(cwd) is None:
        raise HooksError(f"{cwd} is not inside a git repository: run `git init` first")
    done: list[str] = []
    scope = _scope_flag(global_)
    for key, value in config_values(python, strip_args).items():
        current = _git(["config", *scope, "--get", key], cwd, False)
        if current.returncode == 0 and current.stdout.rstrip("\n") == value:
            continue
        _git(["config", *scope, key, value], cwd)
        done.append(f"git config {scope[0]} {key}")
    attr_file = attributes if attributes is not None else default_attributes_file(cwd, global_)
    if _add_line(attr_file, ATTRIBUTES_LINE):
        done.append(f"added '{ATTRIBUTES_LINE}' to {attr_file}")
    if pre_commit:
        root = repo_root(cwd)
        if root is None:
            raise HooksError("--pre-commit needs a repository (it edits .pre-commit-config.yaml)")
        if _add_pre_commit(root / PRE_COMMIT_FILE, python):
            done.append(f"added the xtrack-strip hook to {root / PRE_COMMIT_FILE}")
    return done


def uninstall(cwd: Path, *, global_: bool = False, attributes: Path | None = None) -> list[str]:
    """Remove exactly what install added (config keys, attributes line, pre-commit block)."""
    done: list[str] = []
    scope = _scope_flag(global_)
    sections: set[str] = set()
    for key in config_values():
        if _git(["config", *scope, "--get", key], cwd, False).returncode == 0:
            _git(["config", *scope, "--unset-all", key], cwd)
            done.append(f"git config {scope[0]} --unset {key}")
        sections.add(key.rsplit(".", 1)[0])
    for section in sorted(sections):
        # git leaves an empty "[filter "xtrack"]" header behind; drop it if nothing else is in it.
        section_re = "^" + section.replace(".", r"\.") + r"\."
        left = _git(["config", *scope, "--get-regexp", section_re], cwd, False)
        if left.returncode != 0 or not left.stdout.strip():
            _git(["config", *scope, "--remove-section", section], cwd, False)
    try:
        attr_file = attributes if attributes is not None else default_attributes_file(cwd, global_)
    except HooksError:
        attr_file = None
    if attr_file is not None and _remove_line(attr_file, ATTRIBUTES_LINE):
        done.append(f"removed '{ATTRIBUTES_LINE}' from {attr_file}")
    root = None if global_ else repo_root(cwd)
    if root is not None and _remove_pre_commit(root / PRE_COMMIT_FILE):
        done.append(f"removed the xtrack-strip hook from {root / PRE_COMMIT_FILE}")
    return done


@dataclass
class HooksStatus:
    """What is installed: config values per scope, attribute lines, effective attributes."""

    config: dict[str, dict[str, str]] = field(default_factory=dict)  # scope -> key -> value
    attribute_files: dict[str, list[str]] = field(default_factory=dict)  # file -> our lines
    effective: dict[str, str] = field(default_factory=dict)  # attribute -> value for *.ipynb
    pending_archive: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        """True when git would run the xtrack filter on a notebook here."""
        has_process = any(f"filter.{DRIVER}.process" in v for v in self.config.values())
        return has_process and self.effective.get("filter") == DRIVER


def status(cwd: Path, attributes: Path | None = None) -> HooksStatus:
    """Inspect the git integration as seen from `cwd` (local and global scopes)."""
    st = HooksStatus()
    for scope in ("--local", "--global"):
        proc = _git(
            ["config", scope, "--get-regexp", rf"^(filter|diff|merge)\.{DRIVER}\."], cwd, False
        )
        values = dict(line.partition(" ")[::2] for line in proc.stdout.splitlines() if line.strip())
        if values:
            st.config[scope.lstrip("-")] = values
    candidates: list[Path] = []
    if attributes is not None:
        candidates.append(attributes)
    root = repo_root(cwd)
    for global_ in (False, True):
        try:
            candidates.append(default_attributes_file(cwd, global_))
        except HooksError:
            pass
    if root is not None:
        candidates.append(root / ".gitattributes")
    for file in candidates:
        if file.is_file():
            ours = [
                line
                for line in file.read_text(encoding="utf-8").splitlines()
                if f"={DRIVER}" in line
            ]
            if ours:
                st.attribute_files[str(file)] = ours
    if root is not None:
        proc = _git(["check-attr", "filter", "diff", "merge", "--", "x.ipynb"], cwd, False)
        for line in proc.stdout.splitlines():
            parts = line.split(": ")
            if len(parts) == 3:
                st.effective[parts[1]] = parts[2]
        git_dir = find_git_dir(root)
        if git_dir is not None:
            st.pending_archive = len(pending_spools(git_dir / SPOOL_DIRNAME))
        other = _git(["config", "--get-regexp", r"^filter\.nbstripout\."], cwd, False)
        if other.stdout.strip():
            st.notes.append(
                "nbstripout's filter is configured too; for *.ipynb the later attributes line "
                "wins (see `git check-attr filter -- x.ipynb`)"
            )
    return st


def _add_line(path: Path, line: str) -> bool:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if line in text.splitlines():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not text or text.endswith("\n") else "\n"
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(prefix + line + "\n")
    return True


def _remove_line(path: Path, line: str) -> bool:
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [x for x in lines if x.rstrip("\r\n") != line]
    if len(kept) == len(lines):
        return False
    if any(x.strip() for x in kept):
        path.write_text("".join(kept), encoding="utf-8")
    else:
        path.unlink()  # it held only our line: it was ours
    return True


def pre_commit_block(python: str | None = None) -> str:
    """The `repos:` entry that runs `xtrack strip` on staged notebooks via pre-commit."""
    py = (python or sys.executable).replace("\\", "/")
    return (
        f"  {_PRE_COMMIT_BEGIN}\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: xtrack-strip\n"
        "        name: strip notebook outputs (outputs are kept in the xtrack run store)\n"
        f"        entry: {py} -m jupyter_xtrack.cli strip\n"
        "        language: system\n"
        "        types: [jupyter]\n"
        f"  {_PRE_COMMIT_END}\n"
    )


def _add_pre_commit(path: Path, python: str | None) -> bool:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if _PRE_COMMIT_BEGIN in text:
        return False
    block = pre_commit_block(python)
    if not text.strip():
        path.write_text("repos:\n" + block, encoding="utf-8")
        return True
    lines = text.splitlines()
    top_level = [i for i, x in enumerate(lines) if x and not x[0].isspace() and ":" in x]
    if not top_level or not lines[top_level[-1]].startswith("repos:"):
        raise HooksError(
            f"{path} does not end with its `repos:` list, so the hook cannot be appended "
            f"safely; add these lines under `repos:` yourself:\n{block}"
        )
    path.write_text(text + ("" if text.endswith("\n") else "\n") + block, encoding="utf-8")
    return True


def _remove_pre_commit(path: Path) -> bool:
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    start = text.find(f"  {_PRE_COMMIT_BEGIN}\n")
    end = text.find(f"  {_PRE_COMMIT_END}\n")
    if start < 0 or end < 0:
        return False
    rest = text[:start] + text[end + len(_PRE_COMMIT_END) + 3 :]
    if rest.strip() == "repos:":
        path.unlink()
    else:
        path.write_text(rest, encoding="utf-8")
    return True
