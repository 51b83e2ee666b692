"""The work tree watch (capture/tree_watch.py) skips `git status` only while nothing git
would report changed: in real repositories, every change a user or another program can make
between two captures is in the next one, and writes git ignores (the store's own) run no git
at all. A git on PATH that logs its subcommands shows which ran (tests/capture/test_git_reuse)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from jupyter_xtrack.capture import tree_watch
from jupyter_xtrack.capture.git import git_state
from tests.capture.test_git import git
from tests.capture.test_git_reuse import OLD, commands, logged, repo, short_racy_window

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")

__all__ = ["logged", "repo", "short_racy_window"]  # fixtures used here by name


def same_size_same_mtime(path: Path, text: str) -> None:
    """Rewrite a file as `cp -p` or an editor restoring the times would: only the content
    and the ctime tell (the tree is watched, so no racy window is waited for)."""
    assert len(text) == len(path.read_text())
    path.write_text(text)
    os.utime(path, (OLD, OLD))


@pytest.fixture
def captured(repo: Path, logged: Path) -> Path:
    """The repository after a first capture built its watch; the log emptied."""
    assert git_state(str(repo))["repo"] is True
    commands(logged)
    return repo


def test_unchanged_tree_runs_no_git(captured: Path, logged: Path) -> None:
    first = git_state(str(captured))
    for _ in range(3):
        assert git_state(str(captured)) == first
    assert commands(logged) == []


def test_edit_keeping_size_and_mtime_is_seen(captured: Path, logged: Path) -> None:
    same_size_same_mtime(captured / "train.py", "lr = 0.3\n")
    state = git_state(str(captured))
    assert state["dirty"] is True and "+lr = 0.3" in state["diff"]
    assert "status" in commands(logged)
    same_size_same_mtime(captured / "train.py", "lr = 0.4\n")
    assert "+lr = 0.4" in git_state(str(captured))["diff"]


def test_new_folder_and_files_written_into_it_are_seen(captured: Path, logged: Path) -> None:
    # a folder tree and a file in it at once: no watch could exist on the new folders yet
    (captured / "out" / "a" / "b").mkdir(parents=True)
    (captured / "out" / "a" / "b" / "r.txt").write_text("1")
    assert git_state(str(captured))["untracked"] == ["out/"]
    git(captured, "add", "out")
    git(captured, "commit", "-q", "-m", "out")
    assert git_state(str(captured))["dirty"] is False
    commands(logged)
    # the new folders are watched now: an edit deep inside is an event
    same_size_same_mtime(captured / "out" / "a" / "b" / "r.txt", "2")
    state = git_state(str(captured))
    assert state["dirty"] is True and "+2" in state["diff"]
    assert "status" in commands(logged)


def test_delete_and_move_are_seen(captured: Path) -> None:
    (captured / "lib").mkdir()
    (captured / "lib" / "m.py").write_text("a = 1\n")
    git(captured, "add", "lib")
    git(captured, "commit", "-q", "-m", "lib")
    assert git_state(str(captured))["dirty"] is False
    (captured / "lib").rename(captured / "lib2")  # a moved folder: its paths are rebuilt
    state = git_state(str(captured))
    assert state["dirty"] is True and state["untracked"] == ["lib2/"]
    (captured / "lib2").rename(captured / "lib")
    assert git_state(str(captured))["dirty"] is False
    same_size_same_mtime(captured / "lib" / "m.py", "a = 2\n")  # watched at its path again
    assert "+a = 2" in git_state(str(captured))["diff"]
    (captured / "lib" / "m.py").unlink()
    assert "-a = 2" not in git_state(str(captured))["diff"]
    assert "deleted file mode" in git_state(str(captured))["diff"]


def test_commit_checkout_and_stage_from_outside_are_seen(captured: Path) -> None:
    first = git_state(str(captured))
    git(captured, "checkout", "-q", "-b", "feature")
    assert git_state(str(captured))["branch"] == "feature"
    git(captured, "commit", "-q", "--allow-empty", "-m", "empty")
    moved = git_state(str(captured))
    assert moved["commit"] != first["commit"] and moved["branch"] == "feature"
    git(captured, "checkout", "-q", "main")
    assert git_state(str(captured))["commit"] == first["commit"]
    (captured / "new.py").write_text("x = 1\n")
    assert git_state(str(captured))["untracked"] == ["new.py"]
    git(captured, "add", "new.py")  # only the index changes
    staged = git_state(str(captured))
    assert staged["untracked"] == [] and staged["dirty"] is True


def test_writes_git_ignores_run_no_git(captured: Path, logged: Path) -> None:
    """The store's folder (a `.gitignore` of `*`, SQLite files rewritten by every run) and
    a pattern-ignored folder cost nothing after the first look at each name."""
    store = captured / ".xtrack"
    store.mkdir()
    (store / ".gitignore").write_text("*\n")
    (captured / ".gitignore").write_text("cache/\n")
    (captured / "cache").mkdir()
    git(captured, "add", ".gitignore")
    git(captured, "commit", "-q", "-m", "ignore")
    baseline = git_state(str(captured))
    assert baseline["untracked"] == [] and baseline["dirty"] is False
    for i in range(3):
        (store / "xtrack.db").write_text(str(i))
        (store / "xtrack.db-journal").write_text(str(i))
        (store / "xtrack.db-journal").unlink()
        (captured / "cache" / f"{i}.bin").write_text(str(i))
        assert git_state(str(captured)) == baseline
        if i == 0:
            commands(logged)  # the first look asks git which of the new names it ignores
    assert commands(logged) == []


def test_unignored_folder_is_watched(captured: Path) -> None:
    (captured / ".gitignore").write_text("cache/\n")
    (captured / "cache").mkdir()
    (captured / "cache" / "x.txt").write_text("1")
    git(captured, "add", ".gitignore")
    git(captured, "commit", "-q", "-m", "ignore")
    assert git_state(str(captured))["untracked"] == []
    (captured / ".gitignore").write_text("")  # the rules change: the folder list is rebuilt
    assert git_state(str(captured))["untracked"] == ["cache/"]
    git(captured, "add", "-A")
    git(captured, "commit", "-q", "-m", "cache")
    assert git_state(str(captured))["dirty"] is False
    same_size_same_mtime(captured / "cache" / "x.txt", "2")
    assert "+2" in git_state(str(captured))["diff"]


def test_global_excludes_file_is_a_rule(
    captured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    excludes = tmp_path / "global-ignore"
    excludes.write_text("*.tmp\n")
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    (captured / "a.tmp").write_text("1")
    assert git_state(str(captured))["untracked"] == []
    excludes.write_text("")  # outside the work tree: read as git's settings each capture
    assert git_state(str(captured))["untracked"] == ["a.tmp"]


@pytest.mark.parametrize("why", ["file system", "platform", "switched off"])
def test_unwatchable_trees_run_status_every_time(
    repo: Path, logged: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    """A file system not known to be local (NFS, FUSE, ...: changes may come from elsewhere),
    macOS or Windows (no inotify), and `XTRACK_GIT_WATCH=0` are never trusted: status runs
    at each capture, and sees each change."""
    if why == "file system":
        monkeypatch.setattr(tree_watch, "_LOCAL_FS", set())
    elif why == "platform":
        monkeypatch.setattr(sys, "platform", "darwin")
    else:
        monkeypatch.setenv("XTRACK_GIT_WATCH", "0")
    assert git_state(str(repo))["dirty"] is False
    commands(logged)
    assert git_state(str(repo))["dirty"] is False
    assert commands(logged) == ["status"]
    same_size_same_mtime(repo / "train.py", "lr = 0.3\n")
    assert git_state(str(repo))["dirty"] is True
    assert tree_watch._watches.get(str(repo)) is None


def test_a_capture_that_may_not_build_runs_status_and_leaves_no_watch(
    repo: Path, logged: Path
) -> None:
    """`build_watch=False` (a kernel's cells before a quiet moment): git status at each
    capture, the changes seen, no walk of the tree; a watch built later serves every
    capture."""
    for text in ("lr = 0.1\n", "lr = 0.2\n"):
        (repo / "train.py").write_text(text)
        state = git_state(str(repo), build_watch=False)
        assert state["dirty"] is (text != "lr = 0.1\n")
        assert "status" in commands(logged)
    assert tree_watch._watches.get(str(repo)) is None
    assert git_state(str(repo))["dirty"] is True  # this one builds the watch
    commands(logged)
    assert git_state(str(repo), build_watch=False)["dirty"] is True
    assert "status" not in commands(logged)  # (the diff runs again: the edit is too recent)


def test_the_c_library_is_loaded_without_a_search(
    repo: Path, logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ctypes.util.find_library` runs `ldconfig -p` in a process of its own at each call:
    glibc is loaded by its soname, once."""
    import ctypes.util

    def no_search(name: str) -> str | None:
        raise AssertionError(f"find_library({name!r}) searched")

    monkeypatch.setattr(tree_watch, "_loaded_libc", None)
    monkeypatch.setattr(ctypes.util, "find_library", no_search)
    assert git_state(str(repo))["repo"] is True
    commands(logged)
    assert git_state(str(repo))["dirty"] is False
    assert commands(logged) == []  # watched
    assert tree_watch._watches.get(str(repo)) is not None


@pytest.mark.parametrize("when", ["before", "after the watch"])
def test_submodules_are_not_watched(repo: Path, logged: Path, when: str) -> None:
    """A submodule's HEAD and index live in `.git/modules/`, which is not watched."""
    if when == "before":
        (repo / ".gitmodules").write_text("")
    git_state(str(repo))
    if when != "before":
        (repo / ".gitmodules").write_text("")
        git_state(str(repo))
    commands(logged)
    git_state(str(repo))
    assert commands(logged) == ["status"]


def test_many_repositories_keep_few_watches(tmp_path: Path) -> None:
    """Each watched repository holds one of the user's inotify instances (128 by default):
    only the last few asked are kept, and one asked again is watched afresh, exactly."""
    roots = []
    for i in range(tree_watch.MAX_REPOSITORIES + 2):
        root = tmp_path / f"r{i}"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        (root / "f.txt").write_text("1")
        roots.append(root)
        assert git_state(str(root))["untracked"] == ["f.txt"]
    kept = [r for r, w in tree_watch._watches.items() if w is not None and not w.closed]
    assert len(kept) <= tree_watch.MAX_REPOSITORIES
    assert str(roots[0]) not in tree_watch._watches
    (roots[0] / "g.txt").write_text("2")
    assert git_state(str(roots[0]))["untracked"] == ["f.txt", "g.txt"]


def test_folder_tree_copied_in_is_watched(captured: Path, tmp_path: Path) -> None:
    """A tree moved or copied in at once (a dataset unpacked, `cp -r`): every folder of it
    is watched before the status that lists it."""
    src = tmp_path / "src"
    (src / "x" / "y").mkdir(parents=True)
    (src / "x" / "y" / "z.txt").write_text("1")
    shutil.move(str(src), str(captured / "data"))
    assert git_state(str(captured))["untracked"] == ["data/"]
    git(captured, "add", "data")
    git(captured, "commit", "-q", "-m", "data")
    assert git_state(str(captured))["dirty"] is False
    same_size_same_mtime(captured / "data" / "x" / "y" / "z.txt", "2")
    assert git_state(str(captured))["dirty"] is True


def test_file_forced_into_an_ignored_folder_is_watched(captured: Path) -> None:
    """An ignored folder is not watched, until the index tracks a file in it (`git add -f`,
    a checkout): from then on its edits are seen, for the initial folders and new ones."""
    (captured / ".gitignore").write_text("build/\n")
    git(captured, "add", ".gitignore")
    git(captured, "commit", "-q", "-m", "ignore")
    (captured / "build").mkdir()  # ignored from birth: not watched
    (captured / "build" / "keep.txt").write_text("1")
    assert git_state(str(captured))["untracked"] == []
    git(captured, "add", "-f", "build/keep.txt")
    git(captured, "commit", "-q", "-m", "forced")
    assert git_state(str(captured))["dirty"] is False
    same_size_same_mtime(captured / "build" / "keep.txt", "2")
    assert "+2" in git_state(str(captured))["diff"]


def test_new_ignored_tree_is_not_watched(captured: Path, logged: Path) -> None:
    """A virtual environment made in the work tree (ignored, thousands of folders) costs no
    watches and no status; the rest of the tree stays watched."""
    (captured / ".gitignore").write_text(".venv/\n")
    git(captured, "add", ".gitignore")
    git(captured, "commit", "-q", "-m", "ignore")
    git_state(str(captured))
    for i in range(50):
        (captured / ".venv" / "lib" / f"p{i}").mkdir(parents=True)
        (captured / ".venv" / "lib" / f"p{i}" / "m.py").write_text("x")
    baseline = git_state(str(captured))
    commands(logged)
    (captured / ".venv" / "lib" / "p1" / "m.py").write_text("y")
    assert git_state(str(captured)) == baseline
    assert commands(logged) == []
    watch = tree_watch._watches[str(captured)]
    assert watch is not None and str(captured) in watch.folders()
    assert not any(".venv" in p for p in watch.folders())


def test_linked_worktree_is_watched(captured: Path, tmp_path: Path) -> None:
    """A linked worktree keeps its HEAD and index in the main repository's git folder and
    shares its refs: all of them are watched."""
    other = tmp_path / "other"
    git(captured, "worktree", "add", "-q", "-b", "side", str(other))
    first = git_state(str(other))
    assert first["branch"] == "side" and first["dirty"] is False
    same_size_same_mtime(other / "train.py", "lr = 0.5\n")
    assert "+lr = 0.5" in git_state(str(other))["diff"]
    git(other, "commit", "-q", "-am", "side")
    after = git_state(str(other))
    assert after["dirty"] is False and after["commit"] != first["commit"]
    git(captured, "update-ref", "refs/heads/side", first["commit"])  # from the main checkout
    assert git_state(str(other))["commit"] == first["commit"]
    (other / "new.py").write_text("x = 1\n")
    assert git_state(str(other))["untracked"] == ["new.py"]
    git(other, "add", "new.py")  # only the worktree's own index changes
    assert git_state(str(other))["untracked"] == []
    git(other, "checkout", "-q", "--detach")  # only the worktree's own HEAD changes
    assert git_state(str(other))["branch"] is None


def test_info_exclude_is_a_rule(captured: Path) -> None:
    (captured / "notes.txt").write_text("1")
    assert git_state(str(captured))["untracked"] == ["notes.txt"]
    (captured / ".git" / "info").mkdir(exist_ok=True)
    (captured / ".git" / "info" / "exclude").write_text("notes.txt\n")
    assert git_state(str(captured))["untracked"] == []


def test_lost_events_rebuild_the_watch(captured: Path) -> None:
    """More events than the kernel queues (16,384 by default) lose some, maybe a folder's
    creation: the watch is built again, so the new folder is watched all the same."""
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 50_000:
        pytest.skip("the queue is too long to overflow quickly")
    many = captured / "many"
    many.mkdir()
    git_state(str(captured))  # `many` is watched
    for i in range(limit + 100):
        (many / str(i)).touch()
    (captured / "late").mkdir()  # its creation is past the overflow
    (captured / "late" / "f.txt").write_text("1")
    shutil.rmtree(many)
    assert git_state(str(captured))["untracked"] == ["late/"]
    git(captured, "add", "late")
    git(captured, "commit", "-q", "-m", "late")
    assert git_state(str(captured))["dirty"] is False
    same_size_same_mtime(captured / "late" / "f.txt", "2")
    assert git_state(str(captured))["dirty"] is True


def test_forked_child_leaves_the_parents_events(captured: Path) -> None:
    """A forked process (multiprocessing's default on Linux) inherits the watch's queue:
    it builds its own, so a capture in the child does not eat the parent's events."""
    same_size_same_mtime(captured / "train.py", "lr = 0.7\n")
    pid = os.fork()
    if pid == 0:  # the child: capture, then leave without pytest's teardown
        signal.alarm(60)  # a lock held by another thread at the fork: fail, do not hang
        code = 0 if "+lr = 0.7" in git_state(str(captured))["diff"] else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "+lr = 0.7" in git_state(str(captured))["diff"]


def test_repository_reached_through_a_symbolic_link(captured: Path, tmp_path: Path) -> None:
    """A notebook opened under a linked path (`~/proj` -> `/data/proj`): the folders are
    watched, not the link."""
    link = tmp_path / "link"
    link.symlink_to(captured)
    assert git_state(str(link))["dirty"] is False
    same_size_same_mtime(captured / "train.py", "lr = 0.8\n")
    assert "+lr = 0.8" in git_state(str(link))["diff"]


def test_watch_limit_reached_later_falls_back_to_status(
    captured: Path, logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folders made after the watch was built push it past its limit (or the system's):
    that capture and every later one run status, and see what changed."""
    watch = tree_watch._watches[str(captured)]
    assert watch is not None
    monkeypatch.setattr(tree_watch, "MAX_FOLDERS", len(watch.folders()) + 1)
    for name in ("a", "b", "c"):
        (captured / name).mkdir()
        (captured / name / "f.txt").write_text(name)
    assert git_state(str(captured))["untracked"] == ["a/", "b/", "c/"]
    assert watch.broken and watch.closed
    commands(logged)
    (captured / "d.txt").write_text("d")
    assert git_state(str(captured))["untracked"] == ["a/", "b/", "c/", "d.txt"]
    assert commands(logged) == ["status"]
