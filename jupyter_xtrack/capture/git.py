"""Git facts about the code a run used: the commit, the branch, and what differs from it.

``git_head`` reads ``.git`` directly (no subprocess) for the per-cell summary line;
``git_state`` calls the git CLI, under a deadline, for the full picture and is meant for a
background thread.
"""

from __future__ import annotations

import difflib
import os
import re
import selectors
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from jupyter_xtrack.capture import tree_watch
from jupyter_xtrack.capture.redact import redact, redact_notebook_json, redact_url, user_patterns

__all__ = ["git_head", "git_state"]

_GIT = ["git", "-c", "core.quotepath=off"]  # paths as they are, not C-quoted
_STATUS = ["status", "--porcelain=v2", "-z", "--branch", "--untracked-files=normal"]
_EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_NOTEBOOKS = "*.ipynb"  # a pathspec: `*` crosses folders, so notebooks at any depth
_NO_BLOB = "0" * 40

# Notebook bytes in, the same notebook stripped of its outputs out (never raises). Handed in
# by the caller: capture/ cannot import notebook/ (they are one layer).
NotebookStrip = Callable[[bytes], bytes]


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _find_repo(path: str) -> tuple[str, str, str] | None:
    """Return (work tree root, git dir, common dir) for the repo containing ``path``."""
    current = os.path.abspath(path)
    if not os.path.isdir(current):
        current = os.path.dirname(current)
    while True:
        dotgit = os.path.join(current, ".git")
        if os.path.isdir(dotgit):
            gitdir = dotgit
            break
        if os.path.isfile(dotgit):
            # worktrees and submodules: ".git" is a file saying "gitdir: <path>"
            content = _read_text(dotgit) or ""
            if not content.startswith("gitdir:"):
                return None
            gitdir = os.path.normpath(os.path.join(current, content[7:].strip()))
            break
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    commondir = gitdir
    common = _read_text(os.path.join(gitdir, "commondir"))
    if common:  # a linked worktree keeps its branches in the main repository's git dir
        commondir = os.path.normpath(os.path.join(gitdir, common.strip()))
    return current, gitdir, commondir


def _resolve_ref(ref: str, gitdir: str, commondir: str) -> str | None:
    for _ in range(5):  # follow at most a few symbolic refs
        loose = None
        for base in (gitdir, commondir) if gitdir != commondir else (gitdir,):
            loose = _read_text(os.path.join(base, ref))
            if loose is not None:
                break
        if loose is not None:
            loose = loose.strip()
            if loose.startswith("ref:"):
                ref = loose[4:].strip()
                continue
            return loose or None
        packed = _read_text(os.path.join(commondir, "packed-refs"))
        if packed is None:
            return None
        for line in packed.splitlines():
            if line and line[0] not in "#^":
                sha, _, name = line.partition(" ")
                if name == ref:
                    return sha
        return None
    return None


def git_head(path: str) -> dict[str, Any] | None:
    """Return ``{root, commit, branch}`` for the repository containing ``path``, else None.

    Reads HEAD, loose refs and packed-refs directly (no git process), so it costs tens of
    microseconds. Handles ``.git`` files of worktrees and submodules. ``commit`` is None in a
    repository without commits (or one using the reftable format, which this does not parse);
    ``branch`` is None when HEAD is detached.
    """
    try:
        found = _find_repo(path)
        return _head_of(*found) if found is not None else None
    except Exception:  # capture never breaks a cell; an unreadable repo is "no repo"
        return None


def _head_of(root: str, gitdir: str, commondir: str) -> dict[str, Any]:
    head = (_read_text(os.path.join(gitdir, "HEAD")) or "").strip()
    if head.startswith("ref:"):
        ref = head[4:].strip()
        branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
        commit = _resolve_ref(ref, gitdir, commondir)
    else:
        branch, commit = None, head or None
    return {"root": root, "commit": commit, "branch": branch}


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take index.lock while the user may be committing
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def _run_all(
    commands: dict[str, list[str]], cwd: str, deadline: float, caps: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Run git commands concurrently, reading output until each exits, its cap, or the deadline.

    Returns per command: out (bytes), err (bytes), rc (int or None when killed), capped, timed_out.
    """
    env = _git_env()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    results: dict[str, dict[str, Any]] = {}
    for name, args in commands.items():
        try:
            procs[name] = subprocess.Popen(
                [*_GIT, *args],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            results[name] = {
                "out": b"",
                "err": str(exc).encode(),
                "rc": None,
                "capped": False,
                "timed_out": False,
            }
    bufs: dict[str, list[bytearray]] = {n: [bytearray(), bytearray()] for n in procs}
    capped: set[str] = set()
    sel = selectors.DefaultSelector()
    for name, proc in procs.items():
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, (name, 0))
        sel.register(proc.stderr, selectors.EVENT_READ, (name, 1))
    open_streams = 2 * len(procs)
    try:
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in sel.select(remaining):
                name, which = key.data
                chunk = os.read(key.fd, 1 << 16)
                buf = bufs[name][which]
                if chunk:
                    buf += chunk
                    if which == 0 and len(buf) > caps.get(name, 1 << 62):
                        capped.add(name)
                        procs[name].kill()  # enough: stop git producing the rest
                    continue
                sel.unregister(key.fileobj)
                open_streams -= 1
    finally:
        sel.close()
    for name, proc in procs.items():
        timed_out = False
        try:
            rc: int | None = proc.wait(timeout=max(0.0, deadline - time.monotonic()) + 0.05)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc, timed_out = None, True
        if name in capped:
            rc = 0
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        results[name] = {
            "out": bytes(bufs[name][0]),
            "err": bytes(bufs[name][1]),
            "rc": rc,
            "capped": name in capped,
            "timed_out": timed_out,
        }
    return results


def _parse_status(out: bytes, untracked_cap: int) -> dict[str, Any]:
    commit: str | None = None
    branch: str | None = None
    dirty = False
    untracked: list[str] = []
    n_untracked = 0
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        kind = entry[:1]
        if entry.startswith(b"# branch.oid "):
            oid = entry[13:].decode()
            commit = None if oid == "(initial)" else oid
        elif entry.startswith(b"# branch.head "):
            head = entry[14:].decode("utf-8", "replace")
            branch = None if head == "(detached)" else head
        elif kind in (b"1", b"u"):
            dirty = True
        elif kind == b"2":
            dirty = True
            i += 1  # a rename is followed by its original path
        elif kind == b"?":
            n_untracked += 1
            if len(untracked) < untracked_cap:
                untracked.append(entry[2:].decode("utf-8", "replace"))
    return {
        "commit": commit,
        "branch": branch,
        "dirty": dirty,
        "untracked": untracked,
        "untracked_truncated": n_untracked > len(untracked),
    }


def _pick_remote(out: bytes) -> str | None:
    remotes: list[tuple[str, str]] = []
    for line in out.decode("utf-8", "replace").splitlines():
        key, _, url = line.partition(" ")
        remotes.append((key[len("remote.") : -len(".url")], url.strip()))
    for name, url in remotes:
        if name == "origin":
            return redact_url(url)
    return redact_url(remotes[0][1]) if remotes else None


def _error_text(name: str, res: dict[str, Any]) -> str:
    if res["timed_out"]:
        return f"git {name} did not finish within the timeout"
    msg = res["err"].decode("utf-8", "replace").strip().splitlines()
    return f"git {name} failed: {msg[-1] if msg else 'exit status ' + str(res['rc'])}"


def _parse_raw(out: bytes) -> list[dict[str, str]]:
    """`git diff --raw -z --no-abbrev` as {path, status, old_mode, new_mode, old_blob}."""
    entries: list[dict[str, str]] = []
    fields = out.split(b"\0")
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.decode("ascii", "replace").lstrip(":").split()
        if len(parts) == 5:
            old_mode, new_mode, old_blob, _, status = parts
            entries.append(
                {
                    "path": path.decode("utf-8", "surrogateescape"),
                    "status": status[:1],
                    "old_mode": old_mode,
                    "new_mode": new_mode,
                    "old_blob": old_blob,
                }
            )
    return entries


def _quote_path(path: str) -> str:
    """A path as git writes it in a patch header: C-quoted when it holds a quote, a
    backslash or a control character (non-ASCII stays as it is: core.quotepath=off)."""
    if not any(c in '"\\' or ord(c) < 32 or ord(c) == 127 for c in path):
        return path
    escapes = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    body = "".join(
        escapes.get(c) or (f"\\{ord(c):03o}" if ord(c) < 32 or ord(c) == 127 else c) for c in path
    )
    return f'"{body}"'


def notebook_patch(entry: dict[str, str], base: bytes | None, work: bytes | None) -> str:
    """A `git apply`-able patch of one notebook from `base` (None: new) to `work` (None:
    deleted), both already stripped. Empty when the two are the same."""
    a_lines = (base or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b_lines = (work or b"").decode("utf-8", "replace").splitlines(keepends=True)
    path = entry["path"]
    a_name, b_name = _quote_path("a/" + path), _quote_path("b/" + path)
    hunks = list(difflib.unified_diff(a_lines, b_lines, a_name, b_name, n=3))
    if not hunks and base is not None and work is not None:
        return ""
    head = [f"diff --git {a_name} {b_name}\n"]
    if base is None:
        head.append(f"new file mode {entry['new_mode']}\n")
    elif work is None:
        head.append(f"deleted file mode {entry['old_mode']}\n")
    elif entry["old_mode"] != entry["new_mode"] and entry["new_mode"] != "000000":
        head += [f"old mode {entry['old_mode']}\n", f"new mode {entry['new_mode']}\n"]
    if hunks:
        hunks[0] = "--- /dev/null\n" if base is None else hunks[0].rstrip("\n") + "\n"
        hunks[1] = "+++ /dev/null\n" if work is None else hunks[1].rstrip("\n") + "\n"
    body = [
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in hunks
    ]
    return "".join(head + body)


def _read_work(root: str, path: str) -> bytes | None:
    try:
        with open(os.path.join(root, path), "rb") as f:
            return f.read()
    except OSError:
        return None


def _stripped_notebooks(
    root: str, raw: bytes, strip: NotebookStrip, deadline: float
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """The patches of the changed notebooks between their stripped HEAD and working
    versions, those versions (redacted, for nbdime's view), and errors."""
    entries = _parse_raw(raw)
    commands = {
        str(i): ["cat-file", "blob", e["old_blob"]]
        for i, e in enumerate(entries)
        if e["old_blob"] != _NO_BLOB
    }
    shown = _run_all(commands, root, deadline, {}) if commands else {}
    patches: list[str] = []
    notebooks: list[dict[str, Any]] = []
    errors: list[str] = []
    for i, entry in enumerate(entries):
        res = shown.get(str(i))
        if res is not None and res["rc"] != 0:
            errors.append(_error_text(f"cat-file of {entry['path']}", res))
            continue
        base = strip(res["out"]) if res is not None else None
        work = None if entry["status"] == "D" else _read_work(root, entry["path"])
        work = strip(work) if work is not None else None
        patch = notebook_patch(entry, base, work)
        if not patch:
            continue  # only outputs or counts changed: nothing of it is stored
        patches.append(patch)
        notebooks.append(
            {
                "path": entry["path"],
                "base": redact_notebook_json(base) if base is not None else None,
                "work": redact_notebook_json(work) if work is not None else None,
            }
        )
    return "".join(patches), notebooks, errors


def _add_notebooks(
    state: dict[str, Any],
    listed: dict[str, Any],
    strip: NotebookStrip,
    deadline: float,
    errors: list[str],
) -> str:
    """Set `state["stripped_notebooks"]` and return the notebooks' patches."""
    if listed["rc"] != 0:
        errors.append(_error_text("diff of notebooks", listed))
        return ""
    text, notebooks, failed = _stripped_notebooks(state["root"], listed["out"], strip, deadline)
    state["stripped_notebooks"] = notebooks
    errors.extend(failed)
    return text


def _lstat_key(path: str) -> tuple[int, ...] | None:
    """What changes whenever a file's content may have: inode, size, mode, mtime, ctime."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)


def _settings_files(gitdir: str, commondir: str) -> list[str]:
    """The files besides the work tree whose content can change git's diff, status or
    remotes: the config files git reads (system, global, repository, worktree), attributes
    and the default excludes file."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = [
        os.environ.get("GIT_CONFIG_GLOBAL") or os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        os.path.join(xdg, "git", "attributes"),
        os.path.join(xdg, "git", "ignore"),
        os.path.join(commondir, "config"),
        os.path.join(gitdir, "config.worktree"),
        os.path.join(commondir, "info", "attributes"),
    ]
    if not os.environ.get("GIT_CONFIG_NOSYSTEM"):
        files.append(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    return files


def _settings_key(gitdir: str, commondir: str) -> tuple[Any, ...] | None:
    """Everything outside the work tree that git's output depends on, by content: the
    git binary's search path, the GIT_* variables, the settings files and the excludes file
    a config names. None (do not reuse anything) when a config file includes others or moves
    the attributes file, which this key would not see."""
    parts: list[Any] = [os.environ.get("PATH")]
    parts += sorted((k, v) for k, v in os.environ.items() if k.startswith("GIT_"))
    for path in _settings_files(gitdir, commondir):
        try:
            with open(path, "rb") as f:
                content = f.read()
        except OSError:
            content = None
        if content is not None and re.search(rb"(?i)include|attributesfile", content):
            return None
        parts.append((path, content))
        for named in re.findall(rb"(?im)^\s*excludesfile\s*=\s*(.+?)\s*$", content or b""):
            excludes = os.path.expanduser(named.decode("utf-8", "surrogateescape").strip('"'))
            parts.append((excludes, _read_text(excludes)))  # core.excludesFile's rules
    return tuple(parts)


def _changed_entries(out: bytes) -> list[tuple[bytes, list[str]]] | None:
    """The tracked entries of `git status --porcelain=v2 -z` (the line, its paths), plus
    untracked `.gitattributes` files (they change how tracked files diff). None when a
    submodule changed: its new commit is not in the status line nor in any stat."""
    entries: list[tuple[bytes, list[str]]] = []
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        kind = entry[:1]
        if kind in (b"1", b"2", b"u"):
            parts = entry.split(b" ", {b"1": 8, b"2": 9, b"u": 10}[kind])
            if parts[2].startswith(b"S") or b"160000" in parts[3:7]:
                return None
            paths = [parts[-1].decode("utf-8", "surrogateescape")]
            if kind == b"2":
                paths.append(fields[i].decode("utf-8", "surrogateescape"))
                i += 1
            entries.append((entry, paths))
        elif kind == b"?" and entry[2:].rsplit(b"/", 1)[-1] == b".gitattributes":
            entries.append((entry, [entry[2:].decode("utf-8", "surrogateescape")]))
    return entries


# Changes made within this many seconds of a diff are not trusted to show in a later stat
# (file systems stamp times from a coarse clock; FAT to 2 s): such a diff is not reused.
RACY_S = 2.0

# Per repository root: (key, the diff's parts of the state). See _diff_key.
_diff_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
# Per repository root: ((settings key, tree_watch epoch), `git status` result).
_status_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
# Per repository root: (settings key, `git config` result for the remotes).
_config_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _diff_key(
    root: str, status_out: bytes, settings: tuple[Any, ...] | None, extra: tuple[Any, ...]
) -> tuple[Any, ...] | None:
    """A key that is equal for two captures exactly when `git diff HEAD` (and the notebooks'
    stripped diff) gives the same output: the settings, HEAD, each changed entry's status line
    (with its index blob) and its file's stat, and `extra` (caps, strip, redaction). None when
    the diff must run: no settings key, a submodule, a file changed within RACY_S seconds."""
    if settings is None:
        return None
    entries = _changed_entries(status_out)
    if entries is None:
        return None
    head = status_out.split(b"\0", 1)[0]  # "# branch.oid <commit>"
    recent = time.time() - RACY_S
    stats: list[Any] = []
    for line, paths in entries:
        for path in paths:
            key = _lstat_key(os.path.join(root, path))
            if key is not None and max(key[3], key[4]) >= recent * 1e9:
                return None
            stats.append((line, path, key))
    return (settings, head, tuple(stats), extra)


def _status_key(
    found: tuple[str, str, str],
    settings: tuple[Any, ...] | None,
    deadline: float,
    build_watch: bool = True,
) -> tuple[Any, ...] | None:
    """A key equal for two captures only when `git status` would print the same: the
    settings and the work tree watch's epoch (`tree_watch`). None where the tree cannot be
    watched, or its watch is not built and `build_watch` is False: status runs."""
    root = found[0]

    def run(args: list[str], stdin: bytes) -> tuple[int | None, bytes]:
        try:
            done = subprocess.run(
                [*_GIT, *args],
                cwd=root,
                input=stdin,
                capture_output=True,
                env=_git_env(),
                timeout=max(0.0, deadline - time.monotonic()),
            )
        except (OSError, subprocess.TimeoutExpired):
            return None, b""
        return done.returncode, done.stdout

    epoch = tree_watch.epoch(*found, settings, run, build=build_watch)
    return None if epoch is None else (settings, epoch)


def _cached(
    cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]], root: str, key: tuple[Any, ...] | None
) -> dict[str, Any] | None:
    if key is None:
        return None
    with _cache_lock:
        hit = cache.get(root)
    return dict(hit[1]) if hit is not None and hit[0] == key else None


def _remember(
    cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]],
    root: str,
    key: tuple[Any, ...] | None,
    value: dict[str, Any],
) -> None:
    if key is not None:
        with _cache_lock:
            cache[root] = (key, dict(value))


def _diff_parts(
    state: dict[str, Any],
    commands: dict[str, list[str]],
    strip_notebooks: NotebookStrip | None,
    deadline: float,
    diff_cap: int,
    errors: list[str],
) -> None:
    """Run the diffs and set the state's diff, diff_truncated and stripped_notebooks."""
    results = _run_all(commands, state["root"], deadline, {"diff": diff_cap})
    diff = results["diff"]
    notebook_text = ""
    if strip_notebooks is not None:
        notebook_text = _add_notebooks(
            state, results["notebooks"], strip_notebooks, deadline, errors
        )
    if diff["rc"] == 0:
        raw: bytes = diff["out"] + notebook_text.encode("utf-8", "surrogateescape")
        if len(raw) > diff_cap:
            cut = raw.rfind(b"\n", 0, diff_cap)
            raw = raw[: cut + 1 if cut >= 0 else diff_cap]
            state["diff_truncated"] = True
        state["diff"] = redact(raw.decode("utf-8", "replace"))
    else:
        errors.append(_error_text("diff", diff))
    state["timed_out"] = state["timed_out"] or any(r["timed_out"] for r in results.values())


def _diff_commands(base: str, strip_notebooks: NotebookStrip | None) -> dict[str, list[str]]:
    diff_args = ["diff", base, "--no-color", "--no-ext-diff", "--no-textconv"]
    if strip_notebooks is None:
        return {"diff": diff_args}
    return {
        "diff": [*diff_args, "--", ".", f":(exclude){_NOTEBOOKS}"],
        "notebooks": ["diff", base, "--raw", "-z", "--no-abbrev", "--no-renames", "--", _NOTEBOOKS],
    }


_DIFF_FIELDS = ("diff", "diff_truncated", "stripped_notebooks")


def _add_diff(
    state: dict[str, Any],
    status: dict[str, Any],
    settings: tuple[Any, ...] | None,
    strip_notebooks: NotebookStrip | None,
    deadline: float,
    diff_cap: int,
    errors: list[str],
) -> None:
    """Set the state's diff from git, or from the last capture when nothing it depends on
    changed (see _diff_key). A clean tree (status ran, nothing tracked changed) has an
    empty diff: no git process at all."""
    if status["rc"] == 0 and not state["dirty"]:
        if strip_notebooks is not None:
            state["stripped_notebooks"] = []
        return
    key = None
    if status["rc"] == 0:
        extra = (diff_cap, strip_notebooks, user_patterns())
        key = _diff_key(state["root"], status["out"], settings, extra)
    hit = _cached(_diff_cache, state["root"], key)
    if hit is not None:
        state.update(hit)
        return
    base = "HEAD" if state["commit"] else _EMPTY_TREE_SHA1
    failed = len(errors)
    _diff_parts(
        state, _diff_commands(base, strip_notebooks), strip_notebooks, deadline, diff_cap, errors
    )
    if len(errors) == failed and not state["timed_out"]:
        _remember(
            _diff_cache, state["root"], key, {k: state[k] for k in _DIFF_FIELDS if k in state}
        )


def git_state(
    path: str,
    *,
    timeout: float = 5.0,
    diff_cap: int = 1_000_000,
    untracked_cap: int = 200,
    strip_notebooks: NotebookStrip | None = None,
    build_watch: bool = True,
) -> dict[str, Any]:
    """Return the git state of the repository containing ``path``.

    Outside a repository: ``{"repo": False}``. Otherwise ``{repo: True, root, commit, branch,
    dirty, diff, diff_truncated, untracked, untracked_truncated, remote, timed_out}`` and
    ``error`` when a git command failed or ran past ``timeout`` seconds (all commands share that
    deadline; what finished is still reported). ``dirty`` means tracked
    files differ from HEAD (staged or not); untracked files are listed separately, at most
    ``untracked_cap`` names. ``diff`` is ``git diff HEAD`` (no textconv, no external diff
    drivers), redacted and cut at ``diff_cap`` bytes on a line boundary. ``remote`` is origin's
    URL (or the first remote's) with credentials removed. Never takes git's index lock and
    never raises.

    With ``strip_notebooks``, changed ``.ipynb`` files are diffed between their HEAD and
    working versions each passed through it (outputs gone), so the diff stays small and
    applicable to a commit stripped the same way; ``stripped_notebooks`` then lists them as
    ``{path, base, work}`` (the stripped sides' bytes, redacted; None for a side that does
    not exist), leaving out those whose stripped sides are the same.

    Cost per call: one ``git status`` (the remotes' ``git config`` only when a config file
    changed), and not even that where the work tree is watched (``tree_watch``, Linux) and
    nothing in it, the index, the refs or the settings changed since the last capture. The
    diffs run only when status shows tracked changes, and not even then when the changed
    files, the index entries, HEAD and git's settings are all as they were at the last
    capture of this repository (their diff is reused: ``_diff_key``). The first capture of
    a repository builds its watch (a walk of the work tree in Python); with ``build_watch``
    False it does not, and status runs until a capture that may build has built it.
    """
    try:
        found = _find_repo(path)
        head = _head_of(*found) if found is not None else None
    except Exception:  # an unreadable repo is "no repo", as for git_head
        found = head = None
    if found is None or head is None:
        return {"repo": False}
    root, gitdir, commondir = found
    state: dict[str, Any] = {
        "repo": True,
        "root": root,
        "commit": head["commit"],
        "branch": head["branch"],
        "dirty": False,
        "diff": "",
        "diff_truncated": False,
        "untracked": [],
        "untracked_truncated": False,
        "remote": None,
        "timed_out": False,
    }
    errors: list[str] = []
    try:
        deadline = time.monotonic() + max(timeout, 0.0)
        settings = _settings_key(gitdir, commondir)
        status_key = _status_key(found, settings, deadline, build_watch)
        status = _cached(_status_cache, root, status_key)
        commands: dict[str, list[str]] = {}
        if status is None:
            commands["status"] = _STATUS
        config = _cached(_config_cache, root, settings)
        if config is None:
            commands["config"] = ["config", "--get-regexp", r"^remote\..*\.url$"]
        results = _run_all(commands, root, deadline, {}) if commands else {}
        if config is None:
            config = results["config"]
            if config["rc"] in (0, 1) and not config["timed_out"]:
                _remember(_config_cache, root, settings, config)
        if status is None:
            status = results["status"]
            if status["rc"] == 0 and not status["timed_out"]:
                _remember(_status_cache, root, status_key, status)
        if status["rc"] == 0:
            state.update(_parse_status(status["out"], untracked_cap))
        else:
            errors.append(_error_text("status", status))
        state["timed_out"] = any(r["timed_out"] for r in results.values())
        _add_diff(state, status, settings, strip_notebooks, deadline, diff_cap, errors)
        if config["rc"] == 0:
            state["remote"] = _pick_remote(config["out"])
        elif config["rc"] != 1:  # 1 just means "no remotes"
            errors.append(_error_text("config", config))
    except Exception as exc:  # an unexpected git or OS failure is data, not an exception
        errors.append(f"git state capture failed: {exc!r}")
    if errors:
        state["error"] = "; ".join(errors)
    return state
