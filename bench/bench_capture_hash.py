"""Hashing and fingerprint throughput of jupyter_xtrack.capture.data.

Measures, each as the median of several runs:
  1. hash_file on a 1 GiB file with a warm page cache (xxh3_128, blake3), against the anchor
     hashlib.md5 (what DVC uses) over the same file with the same buffer;
  2. HashCache re-checking 10,000 unchanged files (goal < 0.2 s);
  3. fingerprint of a 1,000,000 x 10 DataFrame (goal < 0.3 s).

Run: .venv/bin/python bench/bench_capture_hash.py [--quick]
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
    print(f"3. fingerprint, {rows} x {df.shape[1]} DataFrame (8 numeric, str, category), "
          f"median of {runs}")
    print(f"   fingerprint              {t:7.3f} s  goal < 0.3 s: {'met' if t < 0.3 else 'MISSED'}")
    dfo = df.astype({"name": object})
    t = median(timed(lambda: fingerprint(dfo, "df"), runs))
    print(f"   same, 'name' as object   {t:7.3f} s  goal < 0.3 s: {'met' if t < 0.3 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    work = scratch("capture_hash")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.quick:
        bench_big_file(work, 64 << 20, 3)
        bench_recheck(work, 1000, 3)
        bench_fingerprint(100_000, 3)
    else:
        bench_big_file(work, 1 << 30, 5)
        bench_recheck(work, 10_000, 5)
        bench_fingerprint(1_000_000, 5)


if __name__ == "__main__":
    main()
