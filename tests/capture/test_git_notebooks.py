"""A dirty notebook's git diff is taken between output-stripped versions: no base64 images,
small, and still applicable (with `git apply`) to the commit stripped the same way."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import nbformat
import pytest

from jupyter_xtrack.capture.git import git_state
from jupyter_xtrack.notebook.gitdiff import strip_for_git_diff
from tests.conftest import git

PNG_BYTES = 300_000  # the size of the "plot" each version of the notebook shows


def notebook_with_plot(source: str, seed: int) -> str:
    """A notebook whose one cell shows a (fake) PNG of about PNG_BYTES, different per seed."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source, execution_count=seed)
    png = base64.b64encode(os.urandom(PNG_BYTES) if seed else b"\0" * PNG_BYTES).decode()
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Analysis", id="title"), cell]
    cell["id"] = "plot"  # ids as a saved notebook keeps them
    return nbformat.writes(nb)


@pytest.fixture
def nb_repo(repo: Path) -> Path:
    """The repo with `analysis.ipynb` (a plot in its output) and `train.py` committed."""
    (repo / "analysis.ipynb").write_text(notebook_with_plot("plot(1)", 0))
    (repo / "train.py").write_text("lr = 0.1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "notebook")
    return repo


def apply_to_stripped_commit(repo: Path, diff: str, notebooks: list[str], out: Path) -> None:
    """What `xtrack reproduce` does: export HEAD, strip `notebooks`, `git apply` the diff."""
    archive = subprocess.run(
        ["git", "archive", "HEAD"], cwd=repo, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    for path in notebooks:
        target = out / path
        if target.exists():
            target.write_bytes(strip_for_git_diff(target.read_bytes()))
    subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=out,
        input=diff.encode(),
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(out.parent)},
    )


def test_a_dirty_notebook_is_diffed_without_its_outputs(nb_repo: Path, tmp_path: Path) -> None:
    (nb_repo / "analysis.ipynb").write_text(notebook_with_plot("plot(2)\nsave()", 7))
    (nb_repo / "train.py").write_text("lr = 0.2\n")

    state = git_state(str(nb_repo), strip_notebooks=strip_for_git_diff)

    diff = state["diff"]
    assert "image/png" not in diff and 'execution_count": 7' not in diff
    assert len(diff) < 2_000, diff  # the raw diff is over 800 KB (two 400 KB base64 plots)
    assert '-    "plot(1)"' in diff and '+    "plot(2)\\n",' in diff
    assert "+lr = 0.2" in diff  # other files keep git's own diff
    [entry] = state["stripped_notebooks"]
    assert entry["path"] == "analysis.ipynb"
    for side, source in (("base", "plot(1)"), ("work", "plot(2)\nsave()")):
        cells = json.loads(entry[side])["cells"]
        assert "".join(cells[1]["source"]) == source and cells[1]["outputs"] == []
    raw = git_state(str(nb_repo))  # without stripping: git's diff of the JSON, outputs and all
    assert len(raw["diff"]) > 800_000 and "stripped_notebooks" not in raw

    out = tmp_path / "rebuilt"
    apply_to_stripped_commit(nb_repo, diff, ["analysis.ipynb"], out)
    assert (out / "train.py").read_text() == "lr = 0.2\n"
    assert (out / "analysis.ipynb").read_bytes() == entry["work"]
    assert (out / "analysis.ipynb").read_bytes() == strip_for_git_diff(
        (nb_repo / "analysis.ipynb").read_bytes()
    )


def test_rerunning_a_notebook_adds_nothing_to_the_diff(nb_repo: Path) -> None:
    """Re-running a notebook (new outputs, new counts, same sources) adds nothing to the
    diff: the stored diff does not grow with every run."""
    (nb_repo / "analysis.ipynb").write_text(notebook_with_plot("plot(2)", 1))
    first = git_state(str(nb_repo), strip_notebooks=strip_for_git_diff)
    (nb_repo / "analysis.ipynb").write_text(notebook_with_plot("plot(2)", 2))
    second = git_state(str(nb_repo), strip_notebooks=strip_for_git_diff)
    assert (
        first["diff"] == second["diff"]
        and first["stripped_notebooks"] == second["stripped_notebooks"]
    )
    (nb_repo / "analysis.ipynb").write_text(notebook_with_plot("plot(1)", 3))
    only_outputs = git_state(str(nb_repo), strip_notebooks=strip_for_git_diff)
    assert only_outputs["dirty"] and only_outputs["diff"] == ""
    assert only_outputs["stripped_notebooks"] == []


def test_added_deleted_and_odd_named_notebooks_apply(nb_repo: Path, tmp_path: Path) -> None:
    (nb_repo / "sub dir").mkdir()
    odd = 'sub dir/new "q".ipynb'
    (nb_repo / odd).write_text(notebook_with_plot("fresh()", 4))
    (nb_repo / "broken.ipynb").write_text("not json\n")  # not a notebook: git's own lines
    git(nb_repo, "add", odd, "broken.ipynb")
    (nb_repo / "analysis.ipynb").unlink()

    state = git_state(str(nb_repo), strip_notebooks=strip_for_git_diff)

    by_path = {e["path"]: e for e in state["stripped_notebooks"]}
    assert set(by_path) == {odd, "broken.ipynb", "analysis.ipynb"}
    assert by_path["analysis.ipynb"]["work"] is None and by_path[odd]["base"] is None
    assert "image/png" not in state["diff"] and "+not json" in state["diff"]
    out = tmp_path / "rebuilt"
    apply_to_stripped_commit(nb_repo, state["diff"], list(by_path), out)
    assert not (out / "analysis.ipynb").exists()
    assert (out / odd).read_bytes() == by_path[odd]["work"]
    assert (out / "broken.ipynb").read_text() == "not json\n"
