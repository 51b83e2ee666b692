"""Where a tracked notebook's CPU goes: per thread, per function, and in git's processes.

Runs one notebook through nbclient with `%load_ext jupyter_xtrack` and every code cell under
`%%track` (as `bench_notebooks.py` does), after a first cell that profiles every thread the
kernel starts from then on (cProfile on each thread's own CPU clock) and the main thread
itself. The last cell reports, per thread (grouped by name), its CPU seconds from the kernel's
per-thread clocks, the functions with the most CPU (own time) and the tracker's entry points'
cumulative CPU, and the CPU of the child processes (git) the kernel waited for. Profiling
slows Python code down about 2x: compare rows with each other, not with the bench's figures.

    PYTHONPATH=$PWD .venv/bin/python bench/profile_notebook_cpu.py bench/gallery_overhead/classification_digits.ipynb
        [--top 25] [--mpl-backend agg] [--clocks-only] [--hooks-only] [--plain]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_notebooks import code_cells, compile_package, execute  # noqa: E402
from common import scratch  # noqa: E402

PROFILE = """
import cProfile as _xt_cp, os as _xt_os, threading as _xt_th, time as _xt_t
_xt_profiles = []
_xt_run = _xt_th.Thread.run
def _xt_profiled_run(self):
    prof = _xt_cp.Profile(_xt_t.thread_time)
    _xt_profiles.append((self.name, prof))
    prof.enable()
    try:
        _xt_run(self)
    finally:
        prof.disable()
_xt_th.Thread.run = _xt_profiled_run
_xt_main = _xt_cp.Profile(_xt_t.thread_time)
_xt_profiles.append(("MainThread", _xt_main))
_xt_start = {"children": _xt_os.times().children_user + _xt_os.times().children_system}
_xt_main.enable()
%load_ext jupyter_xtrack
"""

# IPython calls an event's callbacks in the order they were registered: one pair around the
# tracker's own, so the cells' bodies (and the notebook's imports) stay out of the profile.
HOOKS_ONLY = "\n".join(
    [
        *(
            f'get_ipython().events.register("{e}", lambda *a: _xt_main.enable())'
            for e in ("pre_execute", "pre_run_cell", "post_run_cell")
        ),
        "%load_ext jupyter_xtrack",
        *(
            f'get_ipython().events.register("{e}", lambda *a: _xt_main.disable())'
            for e in ("pre_execute", "pre_run_cell", "post_run_cell")
        ),
    ]
)

REPORT = """
_xt_main.disable()
import json as _xt_json, pstats as _xt_ps, re as _xt_re, sys as _xt_sys
if "jupyter_xtrack.tracking.recorder" in _xt_sys.modules:  # not in a --plain run
    _xt_sys.modules["jupyter_xtrack.tracking.recorder"].wait_pending(60)
_xt_clock = {}
for _t in _xt_th.enumerate():
    try:
        _c = _xt_t.clock_gettime(_xt_t.pthread_getcpuclockid(_t.ident))
    except Exception:
        continue
    _g = _xt_re.sub(r"[-_]?\\d+(_\\d+)?$", "", _t.name)
    _xt_clock[_g] = _xt_clock.get(_g, 0.0) + _c
_xt_out = {"clock": _xt_clock, "threads": {}}
for _name, _prof in _xt_profiles:
    _g = _xt_re.sub(r"[-_]?\\d+(_\\d+)?$", "", _name)
    _st = _xt_ps.Stats(_prof).stats
    _agg = _xt_out["threads"].setdefault(_g, {})
    for (_file, _line, _fn), (_cc, _nc, _tt, _ct, _callers) in _st.items():
        _key = ("xtrack/" if "jupyter_xtrack" in _file else "") + f"{_xt_os.path.basename(_file)}:{_fn}"
        _old = _agg.get(_key, [0.0, 0.0, 0])
        _agg[_key] = [_old[0] + _tt, _old[1] + _ct, _old[2] + _nc]
_xt_tm = _xt_os.times()
_xt_out["children"] = _xt_tm.children_user + _xt_tm.children_system - _xt_start["children"]
print(_xt_json.dumps(_xt_out))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--mpl-backend")
    ap.add_argument("--clocks-only", action="store_true", help="per-thread CPU, no cProfile")
    ap.add_argument("--plain", action="store_true", help="no tracker: the baseline")
    ap.add_argument(
        "--hooks-only",
        action="store_true",
        help="profile the main thread only inside the tracker's run-cell hooks",
    )
    args = ap.parse_args()
    if args.mpl_backend:
        os.environ["MPLBACKEND"] = args.mpl_backend
    compile_package()
    path = Path(args.notebook)
    work = scratch(f"notebooks/profile-{path.stem}")
    for extra in path.parent.glob("*"):
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy(extra, work)
    os.environ["XTRACK_STORE"] = str(work / ".xtrack")
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb) if not args.plain else ():
        cell.source = "%%track\n" + cell.source
    n_cells = len(code_cells(nb))
    setup, report = PROFILE, REPORT
    if args.plain:  # the same notebook and profile without the tracker, to compare with
        setup = setup.replace("%load_ext jupyter_xtrack", "")
    if args.clocks_only:  # the same clocks, read without the profiler's 2x slowdown
        setup = setup.replace("prof.enable()", "pass").replace("_xt_main.enable()", "pass")
        report = report.replace("in _xt_profiles:", "in []:")
    if args.hooks_only:  # the main thread's profiler runs from before to after the hooks
        setup = setup.replace("_xt_main.enable()\n%load_ext jupyter_xtrack", HOOKS_ONLY)
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
    nb.cells.append(nbformat.v4.new_code_cell(report))
    done = execute(nb, work)
    outputs = [o for o in done.cells[-1].outputs if o.get("name") == "stdout"]
    data: dict[str, Any] = json.loads(outputs[0]["text"])
    what = "plain" if args.plain else "tracked"
    print(f"{path.name}: {n_cells} {what} cells; CPU seconds per thread group (kernel clocks):")
    for name, sec in sorted(data["clock"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28s} {sec * 1000:9.1f} ms")
    print(f"  {'child processes (git)':28s} {data['children'] * 1000:9.1f} ms")
    for group, funcs in data["threads"].items():
        total = sum(v[0] for v in funcs.values())
        if total < 0.005:
            continue
        print(f"\n[{group}] profiled own CPU {total * 1000:.1f} ms; top by own CPU:")
        for key, (tt, _, nc) in sorted(funcs.items(), key=lambda kv: -kv[1][0])[: args.top]:
            print(f"  {tt * 1000:8.1f} ms  {nc:7d}  {key}")
        ours = [(k, v) for k, v in funcs.items() if k.startswith("xtrack/") and v[1] < total]
        if ours:
            print("  the tracker's functions by cumulative CPU (calls in brackets):")
            for key, (_, ct, nc) in sorted(ours, key=lambda kv: -kv[1][1])[: args.top]:
                print(f"  {ct * 1000:8.1f} ms  {nc:7d}  {key}")


if __name__ == "__main__":
    main()
