"""Hashing and fingerprint throughput of jupyter_xtrack.capture.data.

Measures, each as the median of several runs:
  1. hash_file on a 1 GiB file with a warm page cache (xxh3_128, blake3), against the anchor
     hashlib.md5 (what DVC uses) over the same file with the same buffer;
  2. HashCache re-checking 10,000 unchanged files (goal < 0.2 s);
  3. fingerprint of a 1,000,000 x 10 DataFrame (goal < 0.3 s);
  4. data versions taken at cell end (tracking/datasets.py): a 1,000,000 x 10 float frame and
     a 100 MB array: fingerprint, what `take` costs the cell, what `settle` makes the next
     code wait right away (Run All) and after a pause (interactive); anchors: a copy of the
     object (copy-on-end) and MLflow's digest functions run over the whole object
     (pandas.util.hash_pandas_object, hashlib.md5); small objects hashed before the cell
     returns; and, in a real InteractiveShell, a tracked cell that uses the big frame followed
     at once by a trivial cell, against the same cells on a 10-row frame.

Run: .venv/bin/python bench/bench_capture_hash.py [--quick] [--only N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

from jupyter_xtrack.capture.data import HashCache, fingerprint, hash_file  # noqa: E402

OLD_NS = 1_600_000_000_000_000_000  # mtimes well in the past: no racy-timestamp re-hash


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    buf = memoryview(bytearray(1 << 20))
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(buf[:n])
    return h.hexdigest()


def bench_big_file(work: Path, size: int, runs: int) -> None:
    path = work / "big.bin"
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(chunk)
    hash_file(str(path))  # warm the page cache
    gib = size / (1 << 30)
    rows = [("xxh3_128 (hash_file)", lambda: hash_file(str(path)))]
    try:
        import blake3  # noqa: F401

        rows.append(("blake3 (hash_file)", lambda: hash_file(str(path), "blake3")))
    except ImportError:
        pass
    rows.append(("anchor: hashlib.md5", lambda: md5_file(path)))
    print(f"1. full-content hash of a {gib:.2f} GiB file, warm cache, median of {runs}")
    for label, fn in rows:
        t = median(timed(fn, runs))
        rate = size / t / 1e9
        goal = f"  goal >= 3 GB/s: {'met' if rate >= 3 else 'MISSED'}" if "xxh3" in label else ""
        print(f"   {label:24s} {t:7.3f} s  {rate:6.2f} GB/s{goal}")
    path.unlink()


def bench_recheck(work: Path, files: int, runs: int) -> None:
    paths = []
    for i in range(files):
        folder = work / f"d{i % 100:02d}"
        folder.mkdir(exist_ok=True)
        p = folder / f"f{i}.csv"
        p.write_bytes(os.urandom(1024))
        os.utime(p, ns=(OLD_NS, OLD_NS))
        paths.append(str(p))
    cache = HashCache()
    first = median(timed(lambda: [cache.lookup_or_hash(p) for p in paths], 1))
    hashed = cache.hashed
    t = median(timed(lambda: [cache.lookup_or_hash(p) for p in paths], runs))
    assert cache.hashed == hashed, "unchanged files were re-read"
    print(f"2. HashCache, {files} unchanged 1 KiB files, median of {runs}")
    print(f"   first pass (hashing)     {first:7.3f} s")
    print(f"   re-check (cache hits)    {t:7.3f} s  goal < 0.2 s: {'met' if t < 0.2 else 'MISSED'}")


def bench_fingerprint(rows: int, runs: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"f{i}": rng.random(rows) for i in range(4)})
    for i in range(4):
        df[f"i{i}"] = rng.integers(0, 1_000_000, rows)
    df["name"] = pd.Series([f"customer-{i % 50_000}" for i in range(rows)])  # pandas 3: str
    df["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], rows))
    fingerprint(df, "df")
    t = median(timed(lambda: fingerprint(df, "df"), runs))
    print(
        f"3. fingerprint, {rows} x {df.shape[1]} DataFrame (8 numeric, str, category), "
        f"median of {runs}"
    )
    print(f"   fingerprint              {t:7.3f} s  goal < 0.3 s: {'met' if t < 0.3 else 'MISSED'}")
    dfo = df.astype({"name": object})
    t = median(timed(lambda: fingerprint(dfo, "df"), runs))
    print(f"   same, 'name' as object   {t:7.3f} s  goal < 0.3 s: {'met' if t < 0.3 else 'MISSED'}")


def _take_and_settle(obj: object, pause: float) -> tuple[float, float]:
    """Seconds `take` kept the cell, and seconds `settle` then kept the next code."""
    from jupyter_xtrack.tracking.datasets import settle, take

    t0 = time.perf_counter()
    taken = take([("x", obj)])
    t1 = time.perf_counter()
    time.sleep(pause)
    t2 = time.perf_counter()
    settle()
    t3 = time.perf_counter()
    taken.result()
    return t1 - t0, t3 - t2


def _cell_end_big(
    label: str, obj: object, anchor: str, anchor_fn: Callable[[], object], runs: int
) -> None:
    fp = median(timed(lambda: fingerprint(obj, "x"), runs))
    pairs = [_take_and_settle(obj, 0.0) for _ in range(runs)]
    idle = [_take_and_settle(obj, fp * 2 + 0.05)[1] for _ in range(runs)]
    copy = median(timed(lambda: obj.copy(), runs))  # type: ignore[attr-defined]
    print(f"   {label}")
    print(f"     fingerprint                   {fp * 1e3:8.1f} ms")
    print(f"     take (the cell waits)         {median([p[0] for p in pairs]) * 1e3:8.2f} ms")
    print(f"     settle at once (Run All)      {median([p[1] for p in pairs]) * 1e3:8.1f} ms")
    print(f"     settle after a pause          {median(idle) * 1e3:8.3f} ms")
    print(f"     anchor: copy (copy-on-end)    {copy * 1e3:8.1f} ms")
    print(f"     anchor: {anchor:22s}{median(timed(anchor_fn, runs)) * 1e3:8.1f} ms")


def bench_cell_end(rows: int, array_bytes: int, runs: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"f{i}": rng.random(rows) for i in range(10)})
    array = rng.random(array_bytes // 8)
    print(f"4. data versions at cell end, median of {runs}")
    _cell_end_big(
        f"{rows} x 10 float frame",
        frame,
        "pd.util.hash_pandas_object",
        lambda: pd.util.hash_pandas_object(frame),
        runs,
    )
    _cell_end_big(
        f"{array.nbytes >> 20} MiB float64 array",
        array,
        "hashlib.md5 of the buffer",
        lambda: hashlib.md5(array.data).hexdigest(),
        runs,
    )
    small = {
        "X 1000 x 20 floats": rng.random((1000, 20)),
        "1 MiB array": rng.random((1 << 20) // 8),
        "11,900 x 10 frame (1 MiB est.)": pd.DataFrame(rng.random((11_900, 10))),
    }
    for label, obj in small.items():
        took = median([_take_and_settle(obj, 0.0)[0] for _ in range(runs * 20)])
        print(f"   small, hashed before the cell returns: {label:30s} {took * 1e3:6.2f} ms")


def bench_cells(rows: int, runs: int) -> None:
    import io
    from contextlib import redirect_stdout

    import numpy as np
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_xtrack as xt

    os.chdir(scratch("capture_hash_cells"))
    os.environ.pop("XTRACK_STORE", None)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_xtrack")
    rng = np.random.default_rng(2)
    shell.user_ns["big"] = pd.DataFrame({f"f{i}": rng.random(rows) for i in range(10)})
    shell.user_ns["tiny"] = pd.DataFrame({f"f{i}": rng.random(10) for i in range(10)})

    def pair(name: str) -> tuple[float, float]:
        xt.flush()
        t0 = time.perf_counter()
        shell.run_cell(f"%%track\nn = len({name})\n", store_history=True)
        t1 = time.perf_counter()
        shell.run_cell("m = 1\n", store_history=True)
        return t1 - t0, time.perf_counter() - t1

    with redirect_stdout(io.StringIO()):
        for _ in range(5):
            pair("tiny")  # warm: imports, environment, store
            pair("big")
        got = {name: [pair(name) for _ in range(runs * 4)] for name in ("tiny", "big")}
    xt.flush()
    print(
        f"5. InteractiveShell: a tracked cell using a frame, then at once a trivial cell, "
        f"median of {runs * 4}"
    )
    for name, label in (("tiny", "10 x 10 frame"), ("big", f"{rows} x 10 float frame")):
        cell = median([p[0] for p in got[name]]) * 1e3
        after = median([p[1] for p in got[name]]) * 1e3
        print(f"   {label:28s} tracked cell {cell:7.1f} ms   next cell {after:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", type=int, choices=range(1, 6), help="run one section")
    args = parser.parse_args()
    work = scratch("capture_hash")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    quick = args.quick
    sections: list[Callable[[], None]] = [
        lambda: bench_big_file(work, 64 << 20 if quick else 1 << 30, 3 if quick else 5),
        lambda: bench_recheck(work, 1000 if quick else 10_000, 3 if quick else 5),
        lambda: bench_fingerprint(100_000 if quick else 1_000_000, 3 if quick else 5),
        lambda: bench_cell_end(
            100_000 if quick else 1_000_000, (10 if quick else 100) << 20, 3 if quick else 7
        ),
        lambda: bench_cells(100_000 if quick else 1_000_000, 3 if quick else 5),
    ]
    for number, section in enumerate(sections, 1):
        if args.only in (None, number):
            section()


if __name__ == "__main__":
    main()
