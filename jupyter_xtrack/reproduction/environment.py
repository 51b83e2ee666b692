"""The environment a reproduction runs in. `current`: this interpreter, with every package
whose version differs from the run's reported. `fresh`: a new virtual environment in the
reproduction's temporary folder with the run's exact versions: the distributions the run
imported are installed, pinned, and every other distribution its environment had is a
constraint, so pip resolves the rest to the run's versions too. venv + pip, never another
resolver: pip is what finds this machine's local builds (the CPU `torch`), and an
unconstrained resolver can pull a multi-gigabyte CUDA build. Distributions installed from a
local path or a VCS checkout cannot be fetched by version: they are reported, not guessed.
The tracker itself is the running one (its sources copied in), so the reproduction is
recorded as any run is."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ENV_MODES = ("current", "fresh")
PIP_TIMEOUT_S = 1800
# The tracker's own distribution: never fetched, its running sources are used.
SELF = "jupyter-xtrack"
_NOT_FOUND = re.compile(r"(?:satisfies the requirement|distribution found for) ([^\s;]+)")


class EnvironmentBuildError(RuntimeError):
    """A fresh environment could not be built; `packages` names the ones at fault."""

    def __init__(self, message: str, packages: list[str]) -> None:
        super().__init__(message)
        self.packages = packages


@dataclass(frozen=True)
class VersionDiff:
    name: str
    recorded: str | None  # None: the run's environment did not have it
    now: str | None  # None: missing now
    imported: bool  # the run imported it (a difference that can matter)


@dataclass
class Kernel:
    """Where the reproduction's kernel runs."""

    mode: str
    python: str
    env: dict[str, str]
    notes: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)  # "name==version" not fetchable


def canonical(name: str) -> str:
    """PEP 503 name, as the environment capture writes them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_diffs(recorded: Mapping[str, Any] | None, now: Mapping[str, str]) -> list[VersionDiff]:
    """Every distribution of the run's environment fact whose version differs from `now`
    ({name: version}), and every one the run imported that is missing now; those the run
    imported first. (One missing now that the run did not import cannot change its results.)"""
    if not recorded:
        return []
    before: dict[str, str] = {
        canonical(k): str(v) for k, v in (recorded.get("packages") or {}).items()
    }
    imported = {canonical(k) for k in recorded.get("imported") or {}}
    after = {canonical(k): v for k, v in now.items()}
    names = sorted(before, key=lambda n: (n not in imported, n))
    return [
        VersionDiff(n, before[n], after.get(n), n in imported)
        for n in names
        if n != SELF and before[n] != after.get(n) and (n in after or n in imported)
    ]


def current_kernel(tmp: Path, seeds: Mapping[str, str]) -> Kernel:
    """This interpreter, with the kernel's own state (IPython's history, matplotlib's cache)
    kept in `tmp`."""
    return Kernel("current", sys.executable, kernel_environ(os.environ, tmp, seeds))


def kernel_environ(base: Mapping[str, str], tmp: Path, seeds: Mapping[str, str]) -> dict[str, str]:
    """The kernel's environment: `base`, the recorded seeds, and every per-user folder a
    kernel writes to moved into `tmp`, so nothing is written outside it and the store."""
    env = dict(base)
    env.update(seeds)
    for var, sub in (
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
    ):
        folder = tmp / "home" / sub
        folder.mkdir(parents=True, exist_ok=True)
        env[var] = str(folder)
    return env


def fresh_kernel(
    tmp: Path,
    recorded: Mapping[str, Any] | None,
    seeds: Mapping[str, str],
    python: str = sys.executable,
) -> Kernel:
    """A virtual environment under `tmp` with the run's versions and ipykernel; raises
    EnvironmentBuildError naming the packages pip could not install."""
    if not recorded or not recorded.get("imported"):
        raise EnvironmentBuildError(
            "the run recorded no environment: there is nothing to rebuild (use --env current)", []
        )
    venv = tmp / "venv"
    subprocess.run(
        [python, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    venv_python = str(venv / "bin" / "python")
    pins, constraints, local = requirement_lines(recorded)
    (tmp / "requirements.txt").write_text("\n".join(pins) + "\n")
    (tmp / "constraints.txt").write_text("\n".join(constraints) + "\n")
    _pip_install(python, venv_python, tmp)
    _add_tracker(venv_python, tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    notes = [
        f"fresh environment: {len(pins)} pinned distributions, the others of the run's "
        "environment as constraints"
    ]
    if local:
        notes.append(
            "installed from a local path or VCS in the run's environment, not "
            "fetched: " + ", ".join(local)
        )
    kernel = Kernel("fresh", venv_python, kernel_environ(env, tmp, seeds), notes, local)
    return kernel


def requirement_lines(recorded: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(pins, constraints, local): `name==version` for each distribution the run imported,
    ipykernel and the tracker's own requirements (the copy of it that records the
    reproduction needs them, whatever the run's cells imported), for every other one it
    had, and those that cannot be fetched."""
    packages = {canonical(k): str(v) for k, v in (recorded.get("packages") or {}).items()}
    imported = {canonical(k): str(v) for k, v in (recorded.get("imported") or {}).items()}
    packages.update(imported)
    local = sorted(f"{n}=={v}" for n, v in packages.items() if n != SELF and _is_local(n))
    skip = {SELF, *(entry.split("==")[0] for entry in local)}
    needed = ["ipykernel", *tracker_requirements()]
    wanted = {**{n: packages.get(n, "") for n in needed}, **imported}
    pins = sorted(f"{n}=={v}" if v else n for n, v in wanted.items() if n not in skip)
    constraints = sorted(f"{n}=={v}" for n, v in packages.items() if n not in skip and v)
    return pins, constraints, local


def tracker_requirements() -> list[str]:
    """The names of the tracker's runtime requirements, from its installed metadata (none
    when it runs from a source folder that was never installed)."""
    try:
        requires = metadata.requires(SELF) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for line in requires:
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if found and not re.search(r"\bextra\s*==", line):  # an optional extra's: not needed
            names.append(canonical(found.group(1)))
    return names


def _is_local(name: str) -> bool:
    """Whether this environment's `name` came from a local folder or a VCS checkout
    (PEP 610's direct_url.json); the run's record does not say, this is the best witness."""
    try:
        text = metadata.distribution(name).read_text("direct_url.json")
    except (metadata.PackageNotFoundError, OSError):
        return False
    if not text:
        return False
    try:
        url = json.loads(text)
    except ValueError:
        return False
    return isinstance(url, dict) and ("dir_info" in url or "vcs_info" in url)


def _pip_install(python: str, venv_python: str, tmp: Path) -> None:
    cmd = [
        python,
        "-m",
        "pip",
        "--python",
        venv_python,
        "install",
        "--quiet",
        # no bytecode at install: compiling every module of numpy, scipy, pandas... took
        # 70% of a 55 s install from a warm cache; the kernel compiles what it imports
        "--no-compile",
        "--disable-pip-version-check",
        "-r",
        str(tmp / "requirements.txt"),
        "-c",
        str(tmp / "constraints.txt"),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise EnvironmentBuildError(f"pip did not finish within {PIP_TIMEOUT_S} s", []) from exc
    if done.returncode != 0:
        packages = sorted(set(_NOT_FOUND.findall(done.stderr)))
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        named = ": " + ", ".join(packages) if packages else ""
        raise EnvironmentBuildError(
            f"pip could not install the run's packages{named}\n{tail}", packages
        )


def _add_tracker(venv_python: str, tmp: Path) -> None:
    """Copy the running tracker's sources into `tmp` and put them on the venv's path."""
    source = Path(__file__).resolve().parents[1]  # the jupyter_xtrack package being run
    target = tmp / "tracker" / "jupyter_xtrack"
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("__pycache__", "labextension", "*.pyc")
    )
    site = subprocess.run(
        [venv_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "xtrack_reproduce.pth").write_text(str(tmp / "tracker") + "\n")
