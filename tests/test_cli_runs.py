"""`xtrack ls/show/compare/rm/gc` on a real store filled through the Python API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.cli import main


@pytest.fixture
def filled_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store"
    script = tmp_path / "fill.py"
    script.write_text(
        "import jupyter_xtrack as xt\n"
        "for i, (model, acc) in enumerate([('rf', 0.8), ('gb', 0.95), ('rf', 0.91)]):\n"
        "    with xt.start_run(name=f'r{i}', params={'model': model, 'depth': i + 2}):\n"
        "        xt.log(acc=acc)\n"
    )
    subprocess.run([sys.executable, str(script)], check=True, env={**__import__('os').environ,
                   "XTRACK_STORE": str(store)}, timeout=120)
    monkeypatch.setenv("XTRACK_STORE", str(store))
    return store


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ls_table_and_json(filled_store: Path, capsys: Any) -> None:
    code, out, _ = run_cli(capsys, "ls")
    assert code == 0
    header = out.splitlines()[0]
    assert header.split()[:4] == ["#", "name", "experiment", "status"]
    assert "metrics.acc" in header and "params.model" in header
    assert header.index("metrics.acc") < header.index("params.model")  # metrics come first
    code, out, _ = run_cli(capsys, "ls", "metrics.acc > 0.9 and params.model = 'rf'", "--json")
    data = json.loads(out)
    assert data["total"] == 1 and data["runs"][0]["name"] == "r2"


def test_ls_bad_filter_points_at_the_token(filled_store: Path, capsys: Any) -> None:
    code, _, err = run_cli(capsys, "ls", "metrics.acc >> 3")
    assert code == 2 and "^" in err and "xtrack: error" in err


def test_show_compare_rm_gc(filled_store: Path, capsys: Any) -> None:
    code, out, _ = run_cli(capsys, "show", "#2")
    assert code == 0 and "r1" in out and "acc" in out and "0.95" in out
    code, out, _ = run_cli(capsys, "show", "2", "--json")
    assert json.loads(out)["params"] == {"model": "gb", "depth": 3}
    code, out, _ = run_cli(capsys, "compare", "1", "2")
    assert code == 0 and "params.model" in out and "* " in out
    code, out, _ = run_cli(capsys, "compare", "1", "2", "--json")
    assert json.loads(out)["differences"]["params"]["model"] == ["rf", "gb"]
    code, out, _ = run_cli(capsys, "rm", "1")
    assert code == 0 and "deleted 1" in out
    code, out, _ = run_cli(capsys, "gc", "--json")
    assert code == 0 and json.loads(out)["removed_blobs"] >= 0
    code, _, err = run_cli(capsys, "show", "#1")
    assert code == 2 and "no run #1" in err


def test_unknown_ref_names_the_range(filled_store: Path, capsys: Any) -> None:
    code, _, err = run_cli(capsys, "show", "#42")
    assert code == 2 and "no run #42" in err and "#1..#3" in err.replace(" ", "")


def test_console_script_and_jupyter_subcommand(filled_store: Path) -> None:
    exe = Path(sys.executable).parent
    for cmd in ([str(exe / "xtrack"), "ls", "--json"], [str(exe / "jupyter"), "xtrack", "ls", "--json"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
        assert json.loads(out)["total"] == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "(" * 300 + "params.depth > 1" + ")" * 300],  # a RecursionError traceback before
        ["ls", "not " * 400 + "params.depth > 1"],
        ["ls", "params.depth = 99999999999999999999999999"],
        ["ls", *[arg for i in range(70) for arg in ("-o", f"params.k{i}")]],
        ["show", "99999999999999999999999"],
        ["rm", "#99999999999999999999999"],
    ],
)
def test_input_past_a_limit_is_one_line_and_exit_2(
    filled_store: Path, capsys: Any, argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("xtrack: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    # It names the limit (400 nots and 70 --order-by were a "store" error before).
    assert any(w in err for w in ("limited to", "the limit is", "64-bit range", "below 2**63"))


def test_huge_limit_is_all_rows(filled_store: Path, capsys: Any) -> None:
    code, out, _ = run_cli(capsys, "ls", "--limit", "9" * 30, "--json")
    assert code == 0 and len(json.loads(out)["runs"]) == 3


def _small_store(root: Path) -> None:
    from jupyter_xtrack.store import open_store

    with open_store(root) as store:
        blob = store.put_blob(b"code")
        rid, _ = store.create_run(name="kept")
        store.set_facts(rid, code={"hash": blob})
        store.finish_run(rid, status="finished")


def test_store_path_that_is_a_file_is_one_line(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "store"
    path.write_text("not a folder")
    for argv in (["ls"], ["show", "1"], ["gc"]):
        code, _, err = run_cli(capsys, *argv, "--store", str(path))
        assert code == 2, argv
        assert err.strip() == (f"xtrack: error: the store path {path} is a file, not a store "
                               "folder; move the file away, or set XTRACK_STORE=/other/folder "
                               "(or --store) to use another store")


def test_empty_database_is_moved_aside_and_gc_refuses(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "store"
    _small_store(root)
    (root / "xtrack.db").write_bytes(b"")
    with pytest.warns(RuntimeWarning, match="moved aside"):
        code, out, _ = run_cli(capsys, "ls", "--store", str(root))
    assert code == 0 and "no runs" in out
    [aside] = root.glob("xtrack.db.damaged-*")
    code, _, err = run_cli(capsys, "gc", "--store", str(root))
    assert code == 2 and "gc refused" in err and str(aside) in err
    assert len(err.strip().splitlines()) == 1
    assert len([p for p in (root / "blobs").rglob("*") if p.is_file()]) == 1


def test_ls_and_show_read_a_read_only_store(tmp_path: Path) -> None:
    from tests.read_only import run_on_read_only_store

    root = tmp_path / "store"
    _small_store(root)
    res = run_on_read_only_store(root, f"""
        import sys
        from jupyter_xtrack.cli import main
        codes = [main(["ls", "--store", {str(root)!r}]),
                 main(["show", "1", "--store", {str(root)!r}]),
                 main(["rm", "1", "--store", {str(root)!r}])]
        print("codes", *codes)
    """)
    assert res.returncode == 0, res.stderr
    assert "kept" in res.stdout
    assert res.stdout.strip().splitlines()[-1] == "codes 0 0 2"
    assert "read-only" in res.stderr
