"""--env fresh really builds a second environment: a venv with the run's exact versions,
from this machine's package index and wheel cache (pip, as configured here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_xtrack.records.run import Run
from jupyter_xtrack.reproduction import reproduce

from .conftest import record

pytestmark = pytest.mark.slow


def test_a_fresh_environment_has_the_runs_versions(work: Path, scratch: Path) -> None:
    store = record(
        work,
        "%load_ext jupyter_xtrack",
        "%%track --name small\nimport math\nxt.log(root=math.sqrt(2))",
    )
    original = Run(store.get_run(1), store)

    rep = reproduce(1, store=store, env="fresh", timeout=300)

    assert rep.verdict == "reproduced", rep.text()
    assert any(n.startswith("fresh environment: ") for n in rep.notes)
    copy = Run(store.get_run(rep.run_id or ""), store)
    python = copy.env["python"]["executable"] if copy.env else ""
    assert python != sys.executable and python.endswith("/venv/bin/python")
    assert str(scratch) in python  # built in the reproduction's temporary folder
    recorded = original.env["imported"] if original.env else {}
    rebuilt = copy.env["imported"] if copy.env else {}
    for name in ("ipykernel", "ipython", "orjson", "xxhash"):
        assert rebuilt.get(name) == recorded.get(name), name
    # only distributions missing from the venv may differ, never a version
    assert [p for p in rep.packages if p.now is not None] == []


def test_the_trackers_requirements_are_pinned_whatever_the_run_imported() -> None:
    # A run whose cells imported only numpy: the fresh kernel still records through the
    # tracker, which needs orjson, xxhash, psutil... at the versions the run's environment had.
    from importlib import metadata

    from jupyter_xtrack.reproduction.environment import requirement_lines

    recorded = {
        "packages": {"numpy": "2.0.0", "orjson": "3.10.0", "xxhash": "3.5.0", "requests": "2.0"},
        "imported": {"numpy": "2.0.0"},
    }
    pins, constraints, _ = requirement_lines(recorded)
    assert {"numpy==2.0.0", "orjson==3.10.0", "xxhash==3.5.0"} <= set(pins)
    assert "requests==2.0" not in pins and "requests==2.0" in constraints
    declared = {r.split(";")[0].split(">")[0].split("=")[0].strip().lower()
                for r in metadata.requires("jupyter-xtrack") or [] if "extra" not in r}
    assert {"psutil", "ipython"} <= declared
    assert {"psutil", "ipython", "ipykernel"} <= {p.split("==")[0] for p in pins}
