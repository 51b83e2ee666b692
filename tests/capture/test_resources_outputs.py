"""ResourceMeter, TeeStream and figure capture."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from jupyter_xtrack.capture.outputs import (
    TeeStream,
    open_figure_numbers,
    snapshot_new_figures,
    snapshot_png,
)
from jupyter_xtrack.capture.resources import ResourceMeter


def test_meter_sees_a_real_allocation_as_peak_rss() -> None:
    meter = ResourceMeter()
    meter.start()
    block = bytearray(200 << 20)  # 200 MiB, touched (zeroed) pages count toward RSS
    block[::4096] = b"x" * len(block[::4096])
    del block
    out = meter.stop()
    assert out["peak_rss_bytes"] >= out["rss_bytes"] + (150 << 20)
    assert out["wall_s"] >= 0 and out["cpu_s"] >= 0
    if sys.platform.startswith("linux") and out["peak_rss_scope"] == "cell":
        # the next cell starts from a fresh high-water mark
        meter.start()
        again = meter.stop()
        assert again["peak_rss_bytes"] < out["peak_rss_bytes"] - (100 << 20)


def test_meter_times_wall_and_cpu() -> None:
    # Burn a fixed amount of this thread's CPU (not of wall time: on a busy machine a wall-time
    # loop gets little CPU), then sleep. A thread's CPU time never exceeds the wall time it
    # spans, so both readings have a floor whatever the machine's load.
    meter = ResourceMeter()
    meter.start()
    end = time.thread_time() + 0.05
    while time.thread_time() < end:
        pass
    time.sleep(0.05)
    out = meter.stop()
    assert out["cpu_s"] >= 0.05
    assert out["wall_s"] >= 0.1
    assert "peak_gpu_bytes" not in out or "torch" in sys.modules


class Recorder(io.StringIO):
    """Stands in for ipykernel's OutStream: a real stream with extra attributes."""

    session = "kernel-session"

    def isatty(self) -> bool:
        return False


def test_tee_writes_through_and_keeps_a_copy() -> None:
    target = Recorder()
    tee = TeeStream(target, cap_bytes=1000)
    print("hello", file=tee)
    tee.write("world")
    tee.writelines(["\n", "é"])
    tee.flush()
    assert target.getvalue() == "hello\nworld\né"
    assert tee.captured() == ("hello\nworld\né", False)
    # unknown attributes come from the target
    assert tee.session == "kernel-session" and tee.isatty() is False


@pytest.mark.parametrize(
    ("writes", "cap", "expected"),
    [
        (["abcdef", "gh"], 4, ("abcd", True)),
        (["ab", "cd"], 4, ("abcd", False)),
        (["ab", "cd", "e"], 4, ("abcd", True)),
        (["éé"], 3, ("é", True)),  # cut on a character boundary, within the byte cap
        (["x"], 0, ("", True)),
    ],
)
def test_tee_cap(writes: list[str], cap: int, expected: tuple[str, bool]) -> None:
    target = io.StringIO()
    tee = TeeStream(target, cap_bytes=cap)
    for w in writes:
        tee.write(w)
    assert tee.captured() == expected
    assert target.getvalue() == "".join(writes)


def test_tee_as_sys_stdout_in_a_real_subprocess() -> None:
    code = (
        "import sys\nfrom jupyter_xtrack.capture.outputs import TeeStream\n"
        "tee = TeeStream(sys.stdout, 5)\nsys.stdout = tee\nprint('abcdefgh')\n"
        "sys.stdout = tee._target\nprint(repr(tee.captured()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "abcdefgh\n('abcde', True)\n"


def _pngs(before: set[int]) -> list[bytes]:
    return [p for p in map(snapshot_png, snapshot_new_figures(before)) if p]


def test_new_figures_are_snapshotted_and_rendered() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    old = plt.figure()
    plt.plot([1, 2, 3])
    before = open_figure_numbers()
    assert before == {old.number}
    new = plt.figure()
    plt.plot([3, 1])
    current = plt.gcf()
    pngs = _pngs(before)
    assert len(pngs) == 1 and pngs[0].startswith(b"\x89PNG\r\n\x1a\n")
    assert plt.gcf() is current is new  # capturing did not change the current figure
    assert plt.get_fignums() == [old.number, new.number]  # the copy joined no pyplot registry
    assert _pngs(open_figure_numbers()) == []
    plt.close("all")


def _figure_png(lines: int) -> tuple[Any, bytes]:
    """A fresh pyplot figure of `lines` lines, and its PNG rendered the way snapshots are."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    for i in range(lines):
        ax.plot([0, 1, 2], [i, i + 1, i])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return fig, buf.getvalue()


def test_snapshot_is_the_figure_as_the_cell_left_it() -> None:
    """Taken without drawing, rendered later on another thread: what is stored is the
    figure at the snapshot, even if it is changed, and then closed, before the render."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    reference, expected = _figure_png(1)
    plt.close(reference)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [0, 1, 0])
    [snap] = snapshot_new_figures(set())
    assert snap.pickled is not None and snap.rgba is None  # never drawn: pickled, not drawn
    ax.plot([0, 1, 2], [5, 5, 5])  # the next cell draws on the same axes
    plt.close(fig)
    out: list[bytes | None] = []
    worker = threading.Thread(target=lambda: out.append(snapshot_png(snap)))
    worker.start()
    worker.join()
    assert out == [expected]
    assert plt.get_fignums() == []  # rendering the copy registered no figure with pyplot


def test_a_drawn_figure_is_copied_pixel_for_pixel() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    plt.close("all")
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([1, 2])
    fig.canvas.draw()
    [snap] = snapshot_new_figures(set())
    assert snap.rgba is not None
    png = snapshot_png(snap)
    assert png is not None
    assert Image.open(io.BytesIO(png)).size == (100, 50)
    plt.close("all")


def test_no_pyplot_no_figures_no_import() -> None:
    code = (
        "import sys\nfrom jupyter_xtrack.capture.outputs import snapshot_new_figures, "
        "open_figure_numbers\n"
        "print(open_figure_numbers(), snapshot_new_figures(set()), 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "set() [] False"


def _own_rss() -> int:
    with open("/proc/self/status", "rb") as f:
        return int(f.read().split(b"VmRSS:")[1].split(b"kB")[0]) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_meter_in_a_forked_child_reads_the_childs_own_memory() -> None:
    # the meter keeps /proc/self files open; a forked child must not read its parent's
    meter = ResourceMeter()
    meter.start()
    meter.stop()  # both files open in this process now
    pid = os.fork()
    if pid == 0:  # the child: 200 MiB more than the parent holds
        code = 1
        try:
            meter.start()
            block = bytearray(200 << 20)
            block[::4096] = b"x" * len(block[::4096])
            out = meter.stop()
            rss = _own_rss()
            code = 0 if abs(out["rss_bytes"] - rss) < (50 << 20) and rss > (200 << 20) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert abs(meter.stop()["rss_bytes"] - _own_rss()) < (50 << 20)  # the parent's, still


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_meter_never_writes_to_a_file_that_took_its_closed_descriptor(tmp_path: Any) -> None:
    # code in a cell closes every descriptor it did not open (a daemon helper), then opens
    # its own files, which may get the meter's numbers
    from jupyter_xtrack.capture import resources

    meter = ResourceMeter()
    meter.start()
    meter.stop()
    taken = []
    for proc in (resources._STATUS, resources._CLEAR_REFS):
        number = proc.fd()
        os.close(number)
        path = tmp_path / f"user-{number}.txt"
        path.write_bytes(b"the user's data\n")
        fd = os.open(path, os.O_RDWR)
        if fd != number:  # not reused here: move it onto the number
            os.dup2(fd, number)
            os.close(fd)
        taken.append((number, path))
    try:
        meter.start()
        block = bytearray(100 << 20)
        block[::4096] = b"x" * len(block[::4096])
        out = meter.stop()
        assert out["peak_rss_scope"] == "cell"
        assert abs(out["rss_bytes"] - _own_rss()) < (50 << 20)
        assert out["peak_rss_bytes"] >= out["rss_bytes"]
    finally:
        for number, _ in taken:
            os.close(number)
    assert all(path.read_bytes() == b"the user's data\n" for _, path in taken)
