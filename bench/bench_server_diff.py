"""The server's read latency while notebook diffs run (issue 12, R2), and one diff's time.

    .venv/bin/python bench/bench_server_diff.py [--source DIR] [--reads 20] [--repeat 3]

Starts a real `jupyter server` with the xtrack extension over a scratch store, importing
jupyter_xtrack from `--source` (default: this checkout; give a worktree of an older commit
to measure it, e.g. `git worktree add /tmp/xt-main main`). Then:

1. one diff: GET diff of two 3,000-cell notebooks (about 0.8 MB each, every 10th cell
   changed: the issue's case), median of `--repeat` after one warm-up diff;
2. reads under load: four diffs at once of two notebooks at the default limits (5,000 cells,
   just under 8 MB, every cell changed: nbdime needs far longer than the 60 s time limit),
   and while they run, `--reads` sequential GET runs?limit=1: median, p95 and max latency
   (the goal is judged by the max: every read under 1 s).
   The diffs' connections are then closed (the current code kills their workers).

Goal (issue 12): GET runs under 1 s while four maximal diffs run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median, percentile, scratch  # noqa: E402

TOKEN = "bench-token"
GOAL_READ_S = 1.0
MAX_BYTES = 8_000_000


def notebook(cells: int, salt: str, every: int, width: int) -> bytes:
    """`cells` code cells of about `width` characters; every `every`-th differs by salt."""
    out = []
    for i in range(cells):
        mark = salt if i % every == 0 else ""
        body = f"value_{i} = {i}  # {mark}\n" + "x" * max(0, width - 30)
        out.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": body,
            }
        )
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def maximal_pair() -> tuple[bytes, bytes]:
    """Two 5,000-cell notebooks, every cell changed, each just under MAX_BYTES."""
    width = 1500
    while True:
        pair = notebook(5000, "a", 1, width), notebook(5000, "b", 1, width)
        if max(map(len, pair)) < MAX_BYTES:
            return pair
        width -= 10


def build_store(root: Path, source: Path) -> dict[str, tuple[str, str]]:
    """Runs with the issue's pair and the maximal pair as notebook snapshots."""
    pairs = {
        "issue": (notebook(3000, "a", 10, 255), notebook(3000, "b", 10, 255)),
        "maximal": maximal_pair(),
    }
    code = (
        "import json, sys\nfrom jupyter_xtrack.store import open_store\n"
        "pairs = {k: [bytes.fromhex(x) for x in v] for k, v in json.loads(sys.stdin.read()).items()}\n"
        "out = {}\nwith open_store(sys.argv[1]) as store:\n"
        "    for key, sides in pairs.items():\n"
        "        nums = []\n"
        "        for i, data in enumerate(sides):\n"
        "            rid, n = store.create_run(name=f'{key}-{i}')\n"
        "            store.set_facts(rid, notebook={'hash': store.put_blob(data), 'path': 'x.ipynb'})\n"
        "            store.finish_run(rid, status='finished')\n"
        "            nums.append(str(n))\n"
        "        out[key] = nums\nprint(json.dumps(out))\n"
    )
    payload = json.dumps({k: [s.hex() for s in v] for k, v in pairs.items()})
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        input=payload,
        text=True,
        capture_output=True,
        check=True,
        env=_env(source),
    )
    return {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}


def _env(source: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(source)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(work: Path, source: Path, store: Path, port: int) -> subprocess.Popen[bytes]:
    config = work / "config"
    config.mkdir()
    (work / "root").mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {"jupyter_xtrack.server": True},
                    "port": port,
                    "open_browser": False,
                    "allow_root": True,
                    "root_dir": str(work / "root"),
                    "IdentityProvider": {"token": TOKEN},
                },
                "IdentityProvider": {"token": TOKEN},
                "XTrack": {"store": str(store)},
            }
        )
    )
    env = {
        **_env(source),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
    }
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    for _ in range(600):
        try:
            get(port, "status", timeout=5)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start; see {work / 'server.log'}")


def get(port: int, path: str, timeout: float = 600) -> bytes:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/xtrack/api/{path}", headers={"Authorization": f"token {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return bytes(resp.read())


def timed_diff(port: int, pair: tuple[str, str]) -> float:
    t0 = time.perf_counter()
    get(port, f"diff?a={pair[0]}&b={pair[1]}")
    return time.perf_counter() - t0


def open_diffs(port: int, pair: tuple[str, str], n: int) -> list[http.client.HTTPConnection]:
    """`n` diff requests sent and left waiting (the caller closes them)."""
    conns = []
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request(
            "GET",
            f"/xtrack/api/diff?a={pair[0]}&b={pair[1]}",
            headers={"Authorization": f"token {TOKEN}"},
        )
        conns.append(conn)
    return conns


def reads_under_load(port: int, pair: tuple[str, str], reads: int) -> list[float]:
    conns = open_diffs(port, pair, 4)
    time.sleep(3.0)  # the diffs are parsed and under way
    latencies = []
    for _ in range(reads):
        t0 = time.perf_counter()
        get(port, "runs?limit=1")
        latencies.append(time.perf_counter() - t0)
    for conn in conns:
        threading.Thread(target=conn.close).start()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = scratch("server_diff")
    pairs = build_store(work / "store", args.source)
    port = free_port()
    server = start_server(work, args.source, work / "store", port)
    try:
        timed_diff(port, pairs["issue"])  # warm-up: imports, a worker started
        single = [timed_diff(port, pairs["issue"]) for _ in range(args.repeat)]
        print(
            f"one diff (3,000 cells, 0.8 MB each): median {median(single):.2f} s "
            f"over {len(single)} ({', '.join(f'{s:.2f}' for s in single)})"
        )
        lat = reads_under_load(port, pairs["maximal"], args.reads)
        p95 = percentile(lat, 95)
        print(
            f"GET runs?limit=1 while 4 maximal diffs run ({args.reads} reads): "
            f"median {median(lat):.3f} s, p95 {p95:.3f} s, max {max(lat):.3f} s; "
            f"goal < {GOAL_READ_S:g} s: {'met' if max(lat) < GOAL_READ_S else 'MISSED'} (by the slowest read)"
        )
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
