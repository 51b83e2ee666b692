"""The automatic evaluation's work, out of the kernel's process.

After a tracked cell the evaluation used to build its report on a thread of the kernel:
about 2.4 s of CPU per model, most of it matplotlib drawing the report's PNGs, then the
permutation importance, all on the kernel's GIL, so in Run All the next cells paid for it
(BENCHMARKS.md). Here one helper process per kernel, started on the first automatic
evaluation at the lowest CPU priority, does that work instead:

- `build`: the whole report, when the model and the data pickle within `MAX_PICKLE_BYTES`
  and hold nothing of torch and the like (the pickling is the kernel's only cost; a larger
  pickle is abandoned as soon as it passes the cap, so a big frame costs the kernel no
  copy);
- `images`: otherwise, only the PNGs, from the report's plain data.

While it works, the kernel's waiting thread follows the kernel (every `POLL_S`): on Linux
it stops the helper (SIGSTOP) while a cell runs and continues it once the kernel is quiet,
so that on a machine with few cores the cells' threads, not the helper, get them (a cell
of multi-threaded BLAS fits beside it was measured slower even at nice 19); elsewhere it
tells the helper, whose permutation importance then waits between scorings, as the
kernel's own does (auto.py).

The helper is a fresh interpreter (`python -c`, the kernel's `sys.path`) talking over two
pipes, not a `multiprocessing` child: those re-run the parent's `__main__`, which in a
script without the `if __name__ == "__main__"` guard starts the script again. It ends with
the kernel however the kernel ends: its reader sees the request pipe close and exits, even
mid-work, and on Linux the kernel's death kills it even while it is stopped. It ignores
SIGINT (interrupting the kernel interrupts its process group). A helper that dies is
started again once per call; if that fails too the caller does the work in the kernel as
before, with one warning. Explicit `xt.evaluate(...)` calls do not use it: the
user waits for their result, which a new process (about a second to start) at the lowest
priority would only delay.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from multiprocessing.connection import Connection
from queue import SimpleQueue
from typing import Any, TypeVar

from ..facts import EvaluationFact
from ..tracking.session import CONTEXT
from . import plots
from .report import Built, Settings

MAX_PICKLE_BYTES = 8 * 2**20  # model + data: above this the kernel builds, the helper draws
# Objects of these libraries are never sent: a tensor on a GPU would open a second GPU
# context in the helper (hundreds of MB of the device's memory), and their import is long.
DEVICE_LIBRARIES = frozenset({"torch", "tensorflow", "jax", "jaxlib", "cupy", "keras"})
CALL_TIMEOUT_S = 300.0  # a helper silent for longer is replaced by the kernel's thread
POLL_S = 0.1  # how often the waiting thread looks at the kernel's state for the helper
NICE = 19
# Stopping the helper while a cell runs needs it to die with the kernel while stopped, which
# Linux's PR_SET_PDEATHSIG gives; elsewhere it is only asked to wait.
CAN_STOP = sys.platform.startswith("linux")
_PR_SET_PDEATHSIG = 1
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from jupyter_xtrack.evaluation.apart import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)

T = TypeVar("T")


class HelperFailed(Exception):
    """The helper process died, could not start, or did not answer in time."""


class Helper:
    """One helper process and its two pipes; `call` runs a function there."""

    def __init__(self) -> None:
        to_helper_r, to_helper_w = os.pipe()
        from_helper_r, from_helper_w = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our code
                [
                    sys.executable,
                    "-c",
                    _BOOT,
                    json.dumps(sys.path),
                    str(to_helper_r),
                    str(from_helper_w),
                ],
                stdin=subprocess.DEVNULL,
                pass_fds=(to_helper_r, from_helper_w),
                close_fds=True,
            )
        except (OSError, ValueError) as exc:  # no process (limits, memory): no helper
            for fd in (to_helper_w, from_helper_r):
                os.close(fd)
            raise HelperFailed(f"could not start: {exc}") from exc
        finally:
            os.close(to_helper_r)
            os.close(from_helper_w)
        self.requests = Connection(to_helper_w, readable=False)
        self.answers = Connection(from_helper_r, writable=False)
        self.quiet = True  # as the helper last heard, or as it was left (stopped or not)

    def _give_way(self) -> None:
        """Follow the kernel's state (quiet, or `xt.flush` waiting, or a cell running): on
        Linux the helper is stopped (SIGSTOP) while a cell runs and continued after, so that
        none of its work (start-up, model, drawing) takes a core from the cell's threads; it
        dies with the kernel even when stopped (`_die_with_parent`). Elsewhere it is told,
        and its permutation importance waits between scorings (`_give_way` in the helper)."""
        from ..tracking.lifecycle import hurried  # lazy: loaded by then, as in auto.py
        from ..views.activity import KERNEL

        quiet = KERNEL.quiet_at() <= time.monotonic() or hurried()
        if quiet != self.quiet:
            self._set_quiet(quiet)

    def _set_quiet(self, quiet: bool) -> None:
        if CAN_STOP:
            os.kill(self.process.pid, signal.SIGCONT if quiet else signal.SIGSTOP)
        else:
            self.requests.send(quiet)
        self.quiet = quiet

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the helper; what it raises is raised here. While it works it gives
        way to the kernel's cells (`_give_way`); the time it spends stopped for them does
        not count towards CALL_TIMEOUT_S."""
        try:
            self.requests.send((fn, args))
            working = 0.0
            while not self.answers.poll(POLL_S):
                working += POLL_S if self.quiet else 0.0
                if working > CALL_TIMEOUT_S:
                    raise HelperFailed(f"no answer in {CALL_TIMEOUT_S:g} s")
                self._give_way()
            ok, value = self.answers.recv()
        except (EOFError, OSError) as exc:
            raise HelperFailed(f"the process ended ({type(exc).__name__})") from exc
        finally:
            if not self.quiet and CAN_STOP:  # never left stopped between calls
                with suppress(OSError):
                    self._set_quiet(True)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """End the process and its pipes (it would end on its own once they close)."""
        self.requests.close()
        self.answers.close()
        self.process.kill()
        self.process.wait()


_lock = threading.Lock()  # one call at a time, and one helper
_helper: Helper | None = None


def images(fact: EvaluationFact) -> dict[str, bytes]:
    """The report's PNGs (as `plots.images`), drawn in the helper."""
    drawn = _call(plots.images, fact)
    return drawn if drawn is not None else plots.images(fact)


def build(model: Any, X: Any, y: Any, settings: Settings) -> Built | None:
    """The whole report built in the helper (as `report.build`), or None when the model and
    data do not pickle within the cap, or the helper cannot load them (a class defined in
    the notebook): then the caller builds it, with `images` for the drawing."""
    blob = capped_pickle((model, X, y, settings), MAX_PICKLE_BYTES)
    if blob is None:
        return None
    return _call(_build_pickled, blob)


def helper_pid() -> int | None:
    """The helper process's id while it runs (for tests and diagnostics)."""
    helper = _helper
    return None if helper is None else helper.process.pid


class _Refused(Exception):
    """The pickle passed its cap, or met an object of a `DEVICE_LIBRARIES` library."""


class _CappedBuffer(io.BytesIO):
    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, data: Any) -> int:
        # protocol 5 hands large arrays' buffers over whole, as PickleBuffer (no len())
        if self.tell() + memoryview(data).nbytes > self.cap:
            raise _Refused
        return super().write(data)


class _HostPickler(pickle.Pickler):
    """A pickler that refuses objects of `DEVICE_LIBRARIES` (it sees every object)."""

    def persistent_id(self, obj: Any) -> None:
        if type(obj).__module__.partition(".")[0] in DEVICE_LIBRARIES:
            raise _Refused
        return None


def capped_pickle(obj: Any, cap: int) -> bytes | None:
    """`obj` pickled, or None when it does not pickle, holds a `DEVICE_LIBRARIES` object or
    its pickle passes `cap` bytes (the pickler writes frames of 64 KB as it goes, so it
    stops soon after the cap)."""
    buffer = _CappedBuffer(cap)
    try:
        _HostPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception:  # noqa: BLE001 - too big, or not for the helper: the kernel builds it
        return None
    return buffer.getvalue()


def _build_pickled(blob: bytes) -> Built | None:
    """In the helper: the report of the pickled (model, X, y, settings)."""
    from .report import build as build_report  # lazy: numpy and scikit-learn, in the helper

    try:
        model, X, y, settings = pickle.loads(blob)  # noqa: S301 - pickled by our kernel
    except Exception:  # noqa: BLE001 - e.g. a class from the notebook's __main__
        return None
    return build_report(model, X, y, replace(settings, importance_pause=_give_way))


_QUIET = threading.Event()  # in the helper: the kernel runs no cell (set until told)
_QUIET.set()


def _give_way(left_s: float) -> None:
    """In the helper, between the importance's scorings: wait while the kernel runs a cell
    (its threads need the cores), up to the budget's `left_s`, as the kernel's thread does."""
    _QUIET.wait(left_s)


def _call(fn: Callable[..., T], *args: Any) -> T | None:
    """`fn(*args)` in the helper; a dead helper is replaced once. None (and one warning)
    when the helper cannot do it: the caller does the work itself."""
    global _helper
    problem = ""
    if os.name != "posix":  # the pipes are handed over with pass_fds: POSIX only
        return None
    with _lock:
        for _attempt in range(2):
            try:
                if _helper is None:
                    _helper = Helper()
                return _helper.call(fn, *args)
            except HelperFailed as exc:  # what `fn` raised is raised as it is
                problem = str(exc)
                if _helper is not None:
                    _helper.close()
                    _helper = None
    CONTEXT.warn_once(
        "auto-eval:helper",
        f"the automatic evaluation's helper process failed ({problem}); "
        "its work is done in the kernel instead",
    )
    return None


def serve(requests_fd: int, answers_fd: int) -> None:
    """The helper's main loop: run each request, send back its result or its exception.
    A reader thread takes the requests, so that the kernel's end (the pipe closing) ends
    the helper at once, even in the middle of a request."""
    try:
        os.nice(NICE)
    except OSError:  # not allowed here: the work is still off the kernel
        pass
    if CAN_STOP:
        _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["MPLBACKEND"] = "Agg"
    requests = Connection(requests_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    todo: SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = SimpleQueue()
    threading.Thread(target=_read, args=(requests, todo), daemon=True).start()
    while True:
        fn, args = todo.get()
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - raised again in the kernel
            answer = (False, exc)
        try:
            answers.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):  # an exception that won't pickle
            answers.send((False, RuntimeError(repr(answer[1]))))


def _die_with_parent() -> None:
    """In the helper (Linux): the kernel's death kills it (PR_SET_PDEATHSIG), even while it
    is stopped for a cell, when it could not read its pipe's end; a kernel already gone
    before that was set ends it now."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(0)


def _read(requests: Connection, todo: SimpleQueue[Any]) -> None:
    """The requests to `todo`; the kernel's state (a bool) to `_QUIET`."""
    try:
        while True:
            message = requests.recv()
            if message is True:
                _QUIET.set()
            elif message is False:
                _QUIET.clear()
            else:
                todo.put(message)
    except BaseException:  # noqa: BLE001 - the kernel is gone (or sent garbage): end now
        os._exit(0)
