"""Notebook diffs off the server's request threads, in worker processes that can be ended.

nbdime cannot be interrupted: a diff given up on in a thread keeps burning a core and holds
one of the threads every request shares, so four slow diffs once stalled every xtrack
request for a minute. Here a diff runs in a worker process (`diff_worker.py`):

- bounded: at most `workers` diffs run at once and `queue` more wait for a worker; any
  further diff is refused at once with 503 and Retry-After instead of piling up;
- stoppable: when the client goes away (the handler cancels `run`) or the diff runs past
  `timeout_s` (504), its process is killed and reaped, so the work really stops;
- apart: ordinary reads keep the reader's threads; a diff only waits on one of this
  pool's own threads, which block on the worker's pipe, not on the CPU.

Idle workers are kept for the next diff (starting one costs seconds: nbformat loads its
schemas) and ended by `close`, which the extension calls when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diff_worker import read_frame, write_frame
from .encoding import encode
from .errors import RequestError

RETRY_AFTER_S = 5
# The folder holding this jupyter_xtrack, the worker's working folder: `-m` puts it first
# on the worker's path, so the worker imports the same copy the server runs.
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DiffJob:
    """One diff to run: the two notebooks, their names in messages (#1, #2), and the
    response's other fields (`kind`, `a`, `b`), to which the worker adds `changed`, `base`
    and `diff`."""

    names: tuple[str, str]
    sides: tuple[bytes, bytes]
    head: dict[str, Any]

    def body(self, changed: bool, base: bytes, diff: bytes) -> bytes:
        """The response's JSON, with the worker's JSON spliced in, never parsed here."""
        return b"".join(
            [
                encode({**self.head, "changed": changed})[:-1],
                b',"base":',
                base,
                b',"diff":',
                diff,
                b"}",
            ]
        )


class WorkerEndedError(Exception):
    """The worker process ended without answering (killed, or crashed)."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"{__package__}.diff_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_PACKAGE_PARENT,
            # Its own session: a Ctrl-C meant for the server does not hit it mid-diff.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exchange(self, job: DiffJob) -> bytes:
        """Send `job`, wait for the reply (blocking: runs on the pool's threads) and return
        the response body. After the process is killed mid-way, reaps it and raises
        WorkerEndedError; a notebook that cannot be read is RequestError 422."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            write_frame(stdin, {"names": list(job.names)}, job.sides)
            frame = read_frame(stdout)
        except (OSError, EOFError, ValueError):  # a broken pipe, a frame cut short
            frame = None
        if frame is None:
            self.end()
            raise WorkerEndedError(f"the diff worker ended (exit code {self.proc.returncode})")
        header, parts = frame
        if not header.get("ok"):
            raise RequestError(422, str(header.get("message")), reason="diff")
        return job.body(bool(header["changed"]), parts[0], parts[1])

    def kill(self) -> None:
        """Stop the process now (the thread waiting on its pipe then reaps it)."""
        if self.proc.poll() is None:
            self.proc.kill()

    def end(self) -> None:
        """Kill the process if it still runs, reap it and close its pipes."""
        self.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


class DiffWorkers:
    """The bounded pool of diff workers (see the module docstring). Used from the server's
    event loop only, so its counters need no lock."""

    def __init__(self, workers: int = 2, queue: int = 4, timeout_s: float = 60.0) -> None:
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.timeout_s = timeout_s
        self.waiting = 0
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    def in_flight(self) -> list[int]:
        """The process ids of the workers running a diff now."""
        return sorted(w.pid for w in self._busy)

    async def run(self, job: DiffJob) -> bytes:
        """The response body for `job`. RequestError 503 (with Retry-After) when every
        worker is busy and the queue is full, 504 past `timeout_s`; cancelling the call
        kills the worker running it."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if self._closed or (self._slots.locked() and self.waiting >= self.queue):
            raise self._busy_error()
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            return await self._on_worker(job)
        finally:
            self._slots.release()

    async def _on_worker(self, job: DiffJob) -> bytes:
        if self._closed:  # stopped while this request waited
            raise self._busy_error()
        worker = self._idle.pop() if self._idle else _Worker()
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="xtrack-diff")
        self._busy.add(worker)
        try:
            loop = asyncio.get_running_loop()
            body = await asyncio.wait_for(
                loop.run_in_executor(self._threads, worker.exchange, job), self.timeout_s
            )
        except TimeoutError:
            worker.kill()
            raise RequestError(
                504,
                f"the diff of {job.names[0]} and {job.names[1]} took longer than "
                f"{self.timeout_s:g} s and was stopped; strip their outputs first, or raise "
                "the limit (c.XTrack.diff_timeout_s in jupyter_server_config.py)",
                reason="diff_timeout",
            ) from None
        except WorkerEndedError as exc:
            if self._closed:
                raise self._busy_error() from None
            raise RequestError(
                500, f"{exc} before answering; see the server's log", reason="diff"
            ) from None
        except BaseException:  # the client left (cancelled), or the worker failed
            worker.kill()
            raise
        finally:
            self._busy.discard(worker)
        if self._closed:
            worker.end()
        else:
            self._idle.append(worker)
        return body

    def _busy_error(self) -> RequestError:
        return RequestError(
            503,
            f"{self.workers} notebook diffs are running and {self.waiting} are waiting, "
            f"the most this server takes (c.XTrack.diff_workers, c.XTrack.diff_queue); "
            f"try again in a few seconds",
            reason="busy",
            retry_after=RETRY_AFTER_S,
        )

    def close(self) -> None:
        """End every worker (running diffs fail, waiting ones are refused) and the
        threads."""
        self._closed = True
        for worker in [*self._busy, *self._idle]:
            worker.kill()
        for worker in self._idle:
            worker.end()
        self._idle.clear()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
