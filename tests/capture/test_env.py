"""static_environment, imported_distributions, environment."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_xtrack.capture.env import (
    environment,
    imported_distributions,
    installed_distributions,
    static_environment,
)


def test_static_environment_fields() -> None:
    env = static_environment()
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["python"]["executable"] == sys.executable
    assert env["platform"]["system"] and env["platform"]["machine"]
    hw = env["hardware"]
    assert hw["cores_logical"] == os.cpu_count() and hw["memory_bytes"] > 0
    assert isinstance(hw["gpus"], list)
    assert env["packages"]["numpy"] == importlib.metadata.version("numpy")
    assert env["packages"]["scikit-learn"] == importlib.metadata.version("scikit-learn")
    json.dumps(env)


def test_static_environment_is_cached_and_callers_cannot_corrupt_it() -> None:
    first = static_environment()
    first["packages"].clear()
    assert static_environment()["packages"]


def test_installed_matches_importlib_metadata() -> None:
    ours = installed_distributions()
    theirs = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    canon = {n.lower().replace("_", "-").replace(".", "-") for n in theirs}
    assert set(ours) == canon


def test_imported_distributions_maps_modules_to_distributions() -> None:
    out = imported_distributions(
        ["numpy", "numpy.linalg", "sklearn.base", "os", "json", "jupyter_xtrack", "my_local_mod"]
    )
    assert out == {
        "jupyter-xtrack": importlib.metadata.version("jupyter_xtrack"),  # editable install
        "numpy": importlib.metadata.version("numpy"),
        "scikit-learn": importlib.metadata.version("scikit-learn"),
    }
    # cached answers are copies too
    out.clear()
    assert imported_distributions(["numpy"]) == {"numpy": importlib.metadata.version("numpy")}
    assert imported_distributions([]) == {}


def test_environment_combines_static_imported_and_env_vars() -> None:
    env = environment(["numpy"], {"OMP_NUM_THREADS": "2", "AWS_SECRET_ACCESS_KEY": "x"})
    assert env["imported"] == {"numpy": importlib.metadata.version("numpy")}
    assert env["env_vars"] == {"OMP_NUM_THREADS": "2"}
    assert "packages" in env and "hardware" in env


def test_never_imports_torch_and_reads_gpus_from_nvidia_smi(tmp_path: Path) -> None:
    # a fake nvidia-smi first on PATH stands in for a GPU machine
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15'\n"
        "echo 'NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15'\n"
    )
    fake.chmod(0o755)
    code = (
        "import sys, json\nfrom jupyter_xtrack.capture.env import static_environment\n"
        "gpus = static_environment()['hardware']['gpus']\n"
        "print(json.dumps([gpus, 'torch' in sys.modules]))"
    )
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    gpus, torch_imported = json.loads(out.stdout)
    assert torch_imported is False
    assert (
        gpus
        == [
            {
                "name": "NVIDIA H100 80GB HBM3",
                "memory_bytes": 81559 << 20,
                "driver": "550.54.15",
                "source": "nvidia-smi",
            }
        ]
        * 2
    )


def test_failing_nvidia_smi_means_no_gpus(tmp_path: Path) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    code = (
        "from jupyter_xtrack.capture.env import static_environment\n"
        "print(static_environment()['hardware']['gpus'])"
    )
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"


def test_install_into_a_sys_path_folder_is_seen(tmp_path: Path, monkeypatch) -> None:
    from jupyter_xtrack.capture.env import packages_signature
    from tests.test_state_changes_e2e import _pip_install, _tiny_package

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = packages_signature()
    assert "tinyxt" not in installed_distributions()
    assert packages_signature() == before  # nothing changed: the same signature
    _pip_install(_tiny_package(tmp_path, "0.1.0"), site)
    assert packages_signature() != before
    assert installed_distributions()["tinyxt"] == "0.1.0"
    assert imported_distributions(["tinyxt"]) == {"tinyxt": "0.1.0"}
    assert static_environment()["packages"]["tinyxt"] == "0.1.0"
    _pip_install(_tiny_package(tmp_path, "0.2.0"), site)
    assert installed_distributions()["tinyxt"] == "0.2.0"
    assert imported_distributions(["tinyxt"]) == {"tinyxt": "0.2.0"}


def test_egg_info_version_change_is_seen_once_the_listing_is_kept(
    tmp_path: Path, monkeypatch
) -> None:
    # an egg-info without its version in its name: the version comes from PKG-INFO, which a
    # `setup.py develop` rewrites in place (the folder's listing does not change)
    import time

    from jupyter_xtrack.capture import env as env_capture

    monkeypatch.setattr(env_capture, "RACY_S", 0.05)
    site = tmp_path / "site"
    info = site / "tinyegg.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinyegg\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    time.sleep(0.1)
    assert installed_distributions()["tinyegg"] == "1.0"
    assert installed_distributions()["tinyegg"] == "1.0"  # from the kept listing
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinyegg\nVersion: 2.0\n")
    time.sleep(0.1)
    assert installed_distributions()["tinyegg"] == "2.0"


def test_signature_and_imported_come_from_one_look_at_sys_path(tmp_path: Path, monkeypatch) -> None:
    # a folder on sys.path that just changed (a notebook's folder a cell wrote to) is listed
    # again on every look: the per-run environment takes one look, not two
    from jupyter_xtrack.capture import env
    from jupyter_xtrack.capture.env import imported_with_signature, packages_signature
    from tests.test_state_changes_e2e import _pip_install, _tiny_package

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    _pip_install(_tiny_package(tmp_path, "0.1.0"), site)
    listed: list[str] = []
    for name in ("listdir", "scandir"):  # either way of listing a folder is counted
        real = getattr(os, name)

        def counting(path: Any = ".", real: Any = real) -> Any:
            listed.append(os.fspath(path))
            return real(path)

        monkeypatch.setattr(env.os, name, counting)
    monkeypatch.setattr(env, "RACY_S", 1e9)  # every folder counts as just changed
    signature, imported = imported_with_signature(["tinyxt", "json"])
    assert listed.count(str(site)) == 1  # listed, and only once
    assert imported == {"tinyxt": "0.1.0"}
    assert signature == packages_signature()
    assert listed.count(str(site)) == 2
    _pip_install(_tiny_package(tmp_path, "0.2.0"), site)
    again, imported = imported_with_signature(["tinyxt"])
    assert again != signature and imported == {"tinyxt": "0.2.0"}


def test_a_data_file_written_into_a_sys_path_folder_keeps_the_signature(
    tmp_path: Path, monkeypatch
) -> None:
    # the notebook's folder is on sys.path; a cell saving a file there must not make the
    # installed packages look changed (the run's environment would be rebuilt every cell)
    from jupyter_xtrack.capture import env
    from jupyter_xtrack.capture.env import packages_signature
    from tests.test_state_changes_e2e import _pip_install, _tiny_package

    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(env, "RACY_S", 1e9)  # every folder counts as just changed: listed again
    before = packages_signature()
    (folder / "scores.csv").write_text("a,b\n1,2\n")
    (folder / "model.egg-info.txt").write_text("not a distribution\n")
    assert packages_signature() == before
    _pip_install(_tiny_package(tmp_path, "0.1.0"), folder)
    after = packages_signature()
    assert after != before and installed_distributions()["tinyxt"] == "0.1.0"
    (folder / "more.csv").write_text("c\n3\n")
    assert packages_signature() == after


def test_a_new_kernel_reads_the_listings_kept_on_disk(tmp_path: Path, monkeypatch) -> None:
    # a new kernel's first run does not read every distribution's RECORD again: the folders'
    # listings are kept in the user's cache folder and used while the folder is unchanged
    from jupyter_xtrack.capture import env
    from tests.test_state_changes_e2e import _pip_install, _tiny_package

    monkeypatch.setenv("XTRACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(env, "RACY_S", 0.05)
    site = tmp_path / "site"
    site.mkdir()
    _pip_install(_tiny_package(tmp_path, "0.1.0"), site)
    monkeypatch.syspath_prepend(str(site))

    def new_kernel() -> list[str]:
        """The module's state as a fresh process has it; returns the folders scanned."""
        monkeypatch.setattr(env, "_entries", {})
        monkeypatch.setattr(env, "_contents", {})
        monkeypatch.setattr(env, "_dist_index", None)
        monkeypatch.setattr(env, "_imported_cache", {})
        monkeypatch.setattr(env, "_disk_loaded", False)
        scanned: list[str] = []
        real = env._scan_entry

        def counting(folder: str) -> Any:
            scanned.append(folder)
            return real(folder)

        monkeypatch.setattr(env, "_scan_entry", counting)
        return scanned

    time.sleep(0.1)
    scanned = new_kernel()
    assert installed_distributions()["tinyxt"] == "0.1.0"
    assert str(site) in scanned
    assert str(site) in json.loads((tmp_path / "cache" / "distributions.json").read_text())[
        "folders"
    ]

    scanned = new_kernel()
    assert installed_distributions()["tinyxt"] == "0.1.0"
    assert scanned == []  # every folder from the file: no listing, no RECORD read

    _pip_install(_tiny_package(tmp_path, "0.2.0"), site)  # the folder changes: listed again
    time.sleep(0.1)
    scanned = new_kernel()
    assert installed_distributions()["tinyxt"] == "0.2.0"
    assert scanned == [str(site)]

    (tmp_path / "cache" / "distributions.json").write_text("{not json")
    scanned = new_kernel()  # a broken file is not used, and does not break the run
    assert installed_distributions()["tinyxt"] == "0.2.0"
    assert str(site) in scanned


def test_the_listings_cache_can_be_turned_off(tmp_path: Path, monkeypatch) -> None:
    from jupyter_xtrack.capture import env

    monkeypatch.setenv("XTRACK_CACHE_DIR", "off")
    assert env.cache_dir() is None
    monkeypatch.delenv("XTRACK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert env.cache_dir() == str(tmp_path / "xdg" / "jupyter_xtrack")


def test_the_imported_set_grows_and_shrinks_with_the_modules(tmp_path: Path, monkeypatch) -> None:
    # later calls split only the module names that are new since the last one; a set that
    # lost modules (a `del sys.modules[...]`) is computed afresh
    from jupyter_xtrack.capture import env
    from jupyter_xtrack.capture.env import imported_with_signature
    from tests.test_state_changes_e2e import _pip_install, _tiny_package

    monkeypatch.setattr(env, "RACY_S", 0.0)  # folders are listed once: only lookups counted
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    _pip_install(_tiny_package(tmp_path, "0.1.0"), site)
    base = ["json", "os", "pytest", "_pytest.main"]
    _, first = imported_with_signature(base)
    assert "pytest" in first and "tinyxt" not in first
    _, grown = imported_with_signature([*base, "tinyxt", "tinyxt.sub"])
    assert grown == {**first, "tinyxt": "0.1.0"}
    split: list[str] = []
    real_canonical = env._canonical
    monkeypatch.setattr(env, "_canonical", lambda n: split.append(n) or real_canonical(n))
    _, again = imported_with_signature([*base, "tinyxt", "tinyxt.sub", "email.mime"])
    assert again == grown and split == ["email"]  # only the new top-level name looked up
    _, shrunk = imported_with_signature(base)
    assert shrunk == first
