"""The long-running filter speaks git's protocol: handshake, multi-file batches, errors.

These tests talk pkt-line to the real filter process; test_git_integration drives it from git.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jupyter_xtrack.notebook.pktline import (
    FLUSH,
    encode_content,
    encode_text,
    read_content,
    read_packet,
    read_text_list,
)

from .conftest import NOTEBOOKS


def start_filter(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_xtrack.notebook.gitfilter", "--no-archive", *args],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def handshake(proc: subprocess.Popen[bytes]) -> list[str]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(encode_text(["git-filter-client", "version=2"]))
    proc.stdin.write(encode_text(["capability=clean", "capability=smudge", "capability=delay"]))
    proc.stdin.flush()
    assert read_text_list(proc.stdout) == ["git-filter-server", "version=2"]
    return read_text_list(proc.stdout)


def send_clean(proc: subprocess.Popen[bytes], path: str, data: bytes) -> None:
    assert proc.stdin is not None
    proc.stdin.write(encode_text(["command=clean", f"pathname={path}"]) + encode_content(data))
    proc.stdin.flush()


def test_handshake_offers_clean_and_pass_through_smudge(tmp_path: Path) -> None:
    proc = start_filter(tmp_path)
    assert handshake(proc) == ["capability=clean", "capability=smudge"]
    assert proc.stdin is not None and proc.stdout is not None
    data = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    proc.stdin.write(encode_text(["command=smudge", "pathname=a.ipynb"]) + encode_content(data))
    proc.stdin.flush()
    assert read_text_list(proc.stdout) == ["status=success"]
    assert read_content(proc.stdout) == data
    proc.stdin.close()  # type: ignore[union-attr]
    assert proc.wait(timeout=30) == 0


def test_batch_of_notebooks_with_one_error(tmp_path: Path) -> None:
    proc = start_filter(tmp_path)
    handshake(proc)
    assert proc.stdout is not None
    good = (NOTEBOOKS / "outputs.ipynb").read_bytes()
    expected = (NOTEBOOKS / "outputs.default.expected").read_bytes()
    big = json.loads(good)
    # make one notebook span many packets (over 65516 bytes per packet)
    big["cells"][3]["outputs"][1]["data"]["image/png"] = "A" * 300_000
    replies = []
    for path, data in [
        ("a.ipynb", good),
        ("sub/bad.ipynb", (NOTEBOOKS / "invalid_json.ipynb").read_bytes()),
        ("big.ipynb", json.dumps(big, indent=1).encode()),
        ("clean.ipynb", (NOTEBOOKS / "clean.ipynb").read_bytes()),
    ]:
        send_clean(proc, path, data)
        status = read_text_list(proc.stdout)
        if status == ["status=success"]:
            content = read_content(proc.stdout)
            assert read_text_list(proc.stdout) == []  # keep status
            replies.append((path, content))
        else:
            replies.append((path, status))
    proc.stdin.close()  # type: ignore[union-attr]
    assert proc.wait(timeout=30) == 0
    stderr = proc.stderr.read().decode()  # type: ignore[union-attr]
    assert replies[0] == ("a.ipynb", expected)
    assert replies[1] == ("sub/bad.ipynb", ["status=error"])
    assert "sub/bad.ipynb: invalid JSON at line 4" in stderr
    assert json.loads(replies[2][1])["cells"][3]["outputs"] == []
    assert replies[3] == ("clean.ipynb", (NOTEBOOKS / "clean.ipynb").read_bytes())


def test_filter_applies_strip_flags(tmp_path: Path) -> None:
    proc = start_filter(tmp_path, "--keep-count")
    handshake(proc)
    send_clean(proc, "a.ipynb", (NOTEBOOKS / "outputs.ipynb").read_bytes())
    assert read_text_list(proc.stdout) == ["status=success"]  # type: ignore[arg-type]
    content = read_content(proc.stdout)  # type: ignore[arg-type]
    assert content == (NOTEBOOKS / "outputs.keep_count.expected").read_bytes()
    proc.stdin.close()  # type: ignore[union-attr]
    proc.wait(timeout=30)


def test_wrong_protocol_version_is_refused(tmp_path: Path) -> None:
    proc = start_filter(tmp_path)
    out, err = proc.communicate(encode_text(["git-filter-client", "version=1"]), timeout=30)
    assert proc.returncode == 1
    assert b"expected git-filter-client version=2" in err


def test_pktline_round_trip() -> None:
    import io

    data = bytes(range(256)) * 600  # 153600 bytes: three packets
    stream = io.BytesIO(encode_content(data) + encode_text(["a=b"]) + FLUSH)
    assert read_content(stream) == data
    assert read_text_list(stream) == ["a=b"]
    assert read_packet(stream) is None
