"""Running the rebuilt program: the cells in a fresh kernel through nbclient, in the
rebuilt folder, with `%%track` active and the store of the original run, one timeout per
cell, and a way to stop it from another thread (a job's cancel)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .environment import Kernel
from .program import lineage_notebook

# Run first, before the lineage: loads the tracker (a lineage that loads it again is a no-op)
# and says which process the kernel is, to find the runs it makes.
SETUP = "%load_ext jupyter_xtrack"
# Run last: waits until the kernel's runs are fully stored (their facts are written in the
# background after each cell), so the comparison reads them complete.
TEARDOWN = "__import__('jupyter_xtrack').flush()"
STARTUP_TIMEOUT_S = 120
CANCEL_POLL_S = 0.5


@dataclass
class Execution:
    """What the kernel did: the executed notebook (setup cell first; None when the kernel
    did not start), how many of the program's cells ran to the end, the kernel's process
    id, and why it stopped early."""

    notebook: Any
    cells_done: int
    pid: int | None
    failure: str | None = None  # None: every cell ran


def execute(
    sources: list[str],
    kernel: Kernel,
    workdir: Path,
    store_root: Path,
    timeout: float | None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Execution:
    """Run `sources` between the setup and teardown cells in a new kernel of `kernel`, in
    `workdir`. `timeout` (seconds per cell) is rounded up to whole seconds (nbclient's).

    nbclient runs on a thread of its own, which starts with no event loop and an empty
    context: called from a notebook (whose kernel runs a loop on its main thread) or from a
    thread of a server, it would otherwise find that loop and refuse to run."""
    outcome: list[Execution | BaseException] = []

    def target() -> None:
        try:
            outcome.append(
                _execute(sources, kernel, workdir, store_root, timeout, progress, should_stop)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome.append(exc)

    thread = threading.Thread(target=target, name="xtrack-reproduce")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _execute(
    sources: list[str],
    kernel: Kernel,
    workdir: Path,
    store_root: Path,
    timeout: float | None,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> Execution:
    """Start the kernel first, so that it boots (its own process) while nbclient and
    nbformat import here (a second, mostly jsonschema's); shut it down at the end whatever
    happened (nbclient leaves a kernel it did not start running)."""
    from jupyter_client.manager import AsyncKernelManager  # lazy: see execute
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(
        kernel_spec_manager=_kernelspecs(kernel, workdir.parent),
        kernel_name="xtrack-reproduce",
        connection_file=str(workdir.parent / "kernel-connection.json"),
    )
    try:
        run_sync(km.start_kernel)(
            env={**kernel.env, "XTRACK_STORE": str(store_root)}, cwd=str(workdir)
        )
    except (OSError, RuntimeError) as exc:
        return Execution(None, 0, None, f"the kernel could not start: {exc}")
    try:
        return _run_cells(km, sources, workdir, timeout, progress, should_stop)
    finally:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)


def _run_cells(
    km: Any,
    sources: list[str],
    workdir: Path,
    timeout: float | None,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> Execution:
    """The setup cell, `sources` and the teardown cell in the started kernel of `km`."""
    # lazy: nbclient and nbformat load only for reproductions
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(lineage_notebook([*sources, TEARDOWN], SETUP))
    done = 0
    finished, cancelled = threading.Event(), threading.Event()

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        nonlocal done
        if (
            0 < cell_index <= len(sources)
            and execute_reply
            and execute_reply["content"]["status"] == "ok"
        ):
            done = cell_index
            if progress is not None:
                progress(done, len(sources))

    client = NotebookClient(
        nb,
        km=km,
        timeout=None if timeout is None else math.ceil(timeout),
        startup_timeout=STARTUP_TIMEOUT_S,
        allow_errors=False,
        record_timing=False,
        on_cell_executed=on_cell_executed,
        resources={"metadata": {"path": str(workdir)}},
    )
    failure: str | None = None
    pid = _pid(km)
    current = 0  # the cell running: 0 is the setup cell
    watcher = _watch(pid, should_stop, finished, cancelled) if should_stop is not None else None
    try:
        with client.setup_kernel(cleanup_kc=True):
            for current, cell in enumerate(nb.cells):
                if cancelled.is_set():
                    break
                client.execute_cell(cell, current)
    except CellTimeoutError:
        failure = f"cell {current} ran longer than the {timeout:g} s timeout per cell"
    except DeadKernelError as exc:
        failure = f"the kernel died during cell {current}: {exc}"
    except CellExecutionError as exc:
        failure = (
            f"cell {current} raised {exc.ename}: {exc.evalue}"
            if current
            else f"the tracker could not load in the kernel: {exc.ename}: {exc.evalue}"
        )
    except RuntimeError as exc:  # the kernel did not answer
        failure = f"the kernel could not start: {exc}"
    finally:
        finished.set()
        if watcher is not None:
            watcher.join()
    if cancelled.is_set():
        failure = "cancelled"
    return Execution(nb, done, pid, failure)


def _kernelspecs(kernel: Kernel, folder: Path) -> Any:
    """A kernel spec for `kernel.python` in `folder`, and a manager that knows only it."""
    from jupyter_client.kernelspec import KernelSpecManager  # lazy: see execute

    spec_dir = folder / "kernels" / "xtrack-reproduce"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [kernel.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"xtrack reproduce ({kernel.mode})",
                "language": "python",
            }
        )
    )
    return KernelSpecManager(kernel_dirs=[str(folder / "kernels")])


def _pid(km: Any) -> int | None:
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    return pid if isinstance(pid, int) else None


def _watch(
    pid: int | None,
    should_stop: Callable[[], bool],
    finished: threading.Event,
    cancelled: threading.Event,
) -> threading.Thread:
    """A thread that, once `should_stop()` says so, sets `cancelled` and interrupts the
    kernel (SIGINT, as Jupyter's interrupt of a local kernel) until `finished`: again and
    again, since a signal that lands between two cells interrupts nothing."""

    def loop() -> None:
        while not finished.wait(CANCEL_POLL_S):
            if cancelled.is_set() or should_stop():
                cancelled.set()
                if pid is not None:
                    with contextlib.suppress(OSError):  # a kernel already gone
                        os.kill(pid, signal.SIGINT)

    thread = threading.Thread(target=loop, name="xtrack-reproduce-cancel", daemon=True)
    thread.start()
    return thread
