"""How the views' display messages leave a real kernel: in order after what the cell
printed, and without the display publisher's wait for the IOPub thread."""

from __future__ import annotations

import pytest

from .conftest import Kernel, outputs

pytestmark = pytest.mark.slow

# Records the kernel streams' flushes (each waits for the IOPub thread) made from the
# tracker's code: from any thread, the stack of the caller names jupyter_xtrack.
COUNT_FLUSHES = """
import sys, traceback
flushes = []
for _stream in (sys.stdout, sys.stderr):
    def _counting(_flush=_stream.flush, traceback=traceback):
        stack = "".join(traceback.format_stack()[:-1])
        if "jupyter_xtrack" in stack:
            flushes.append(stack)
        return _flush()
    _stream.flush = _counting
"""


def _printed(msgs: list[dict]) -> list[str]:
    return [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]


def test_a_tracked_cell_shows_its_card_after_what_it_printed(kernel: Kernel) -> None:
    """The card's message is queued behind the streams' pending text: a print and a write
    to stderr that the kernel has not sent yet when the cell ends still come first."""
    kernel.execute("%%track --name warm\nw = 0")
    msgs = kernel.execute(
        "%%track --name printer\nimport sys\nprint('out-before-card')\n"
        "sys.stderr.write('err-before-card\\n')\nz = 3"
    )
    kinds = [
        (m["msg_type"], m["content"].get("text", ""))
        for m in msgs
        if m["msg_type"] in ("stream", "display_data")
    ]
    card = next(i for i, (kind, _) in enumerate(kinds) if kind == "display_data")
    before = " ".join(text for _, text in kinds[:card])
    assert "out-before-card" in before and "err-before-card" in before, kinds
    shown = outputs(msgs)[-1]
    assert "printer" in shown["data"]["text/plain"]
    assert shown["transient"]["display_id"].startswith("xtrack-card-")


def test_a_tracked_cell_end_does_not_wait_for_the_streams(kernel: Kernel) -> None:
    """ipykernel's display publisher flushes stdout and stderr before each message and waits
    for the IOPub thread each time; a tracked cell's end sends two (its card, the last
    card's refresh), which cost it about 3 ms of GIL hand-offs in Run All. The views queue
    the flushes instead: no flush of the streams comes from the tracker."""
    kernel.execute("%%track --name before-count\nv = 1")
    kernel.execute(COUNT_FLUSHES)
    kernel.execute("%%track --name counted\nt = 1")
    kernel.execute("%%track --name counted-again\nt = 2")
    kernel.drain(0.5)
    msgs = kernel.execute("print(len(flushes)); print(*flushes)")
    assert _printed(msgs)[0].startswith("0\n"), _printed(msgs)


def test_inside_an_output_widget_the_card_goes_through_ipython(kernel: Kernel) -> None:
    """A publisher with transform hooks (an ipywidgets Output widget capturing the cell's
    displays) gets the card through IPython's display, so the hooks see it."""
    msgs = kernel.execute(
        "from IPython.core.getipython import get_ipython\n"
        "from jupyter_xtrack.views import frontend\n"
        "seen = []\n"
        "def _hook(msg):\n"
        "    seen.append(msg['msg_type'])\n"
        "    return msg\n"
        "pub = get_ipython().display_pub\n"
        "pub.register_hook(_hook)\n"
        "try:\n"
        "    frontend.display_bundle({'text/plain': 'hooked'}, 'xtrack-test-hooked')\n"
        "finally:\n"
        "    pub.unregister_hook(_hook)\n"
        "print(seen)"
    )
    assert _printed(msgs)[-1].strip() == "['display_data']"
    assert any(o["data"].get("text/plain") == "hooked" for o in outputs(msgs))


ORDER = """
import jupyter_xtrack.tracking.lifecycle as _lifecycle
import jupyter_xtrack.views.frontend as _frontend
order = []
_track_pending, _display_bundle = _lifecycle.track_pending, _frontend.display_bundle
def _finalizing(fut):
    order.append("finalize")
    return _track_pending(fut)
def _displaying(*args, **kwargs):
    order.append("card")
    return _display_bundle(*args, **kwargs)
_lifecycle.track_pending, _frontend.display_bundle = _finalizing, _displaying
"""


def test_a_tracked_cell_shows_its_card_before_its_run_is_finalised(kernel: Kernel) -> None:
    """The run's finalisation (hashing, git, serialising: Python work on the tracker's
    threads) starts once the cell's card is shown. Started before, it took the GIL from the
    cell's end, and each of the end's calls that let the GIL go (a store read, a message to
    the front end) waited up to a switch interval to get it back."""
    kernel.execute("%%track --name before-order\nv = 1")
    kernel.execute(ORDER)
    kernel.execute("%%track --name ordered\nt = 1")
    msgs = kernel.execute("print(order)")
    assert _printed(msgs)[0].strip() == "['card', 'finalize']", _printed(msgs)
