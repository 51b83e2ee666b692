"""The run card under a tracked cell: the one-line summary, expandable to params, final
metrics, duration, data inputs with hashes and git state, with buttons to compare with the
previous run of the same cell and to open the run in the sidebar (when it is installed).

The card appears as soon as the cell ends; input hashes and the full git state are
finalised in the background, and the card refreshes itself when they are stored.
"""

from __future__ import annotations

import html
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timezone
from typing import Any

from ..capture.system_metrics import is_system_metric, user_first
from ..facts import GIT_DIFF_BYTES, Fact
from ..records.formatting import (
    fmt_bytes,
    fmt_duration,
    fmt_number,
    fmt_value,
    short_hash,
    status_mark,
)
from ..records.run import Run
from ..records.summary import not_stored_text, summary_text
from ..tracking.session import CONTEXT
from . import activity, frontend
from .compare_view import comparison_payload
from .source import current as runs_source

_MAX_ROWS = 40
REFRESH_TIMEOUT_S = 120.0
# A cell that has run this long no longer notices the card thread refreshing a card beside it.
REFRESH_BESIDE_S = 1.0
# The longest a stored card waits for a quiet kernel before it becomes its widget anyway.
WIDGET_WAIT_S = 120.0


class _CardThread:
    """One daemon thread that takes cards in the order they were queued and calls `step` on
    each (it may wait minutes; it never holds up the kernel's exit). A cell hands its card
    over without waiting for a new thread to start, a GIL hand-off that costs the cell
    milliseconds while the last cell's background work runs."""

    def __init__(self, name: str, step: Callable[[RunCard], None]) -> None:
        self._name = name
        self._step = step
        self._queue: queue.SimpleQueue[RunCard] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, card: RunCard) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._forever, name=self._name, daemon=True
                    )
                    self._thread.start()
        self._queue.put(card)

    def _forever(self) -> None:
        while True:
            self._step(self._queue.get())


# Cards waiting for their run's facts (shown as HTML by the next tracked cell's end, or
# once the kernel is quiet), then for a quiet kernel to become widgets (views/activity).
_refreshes = _CardThread("xtrack-card", lambda card: card._refresh())
_swaps = _CardThread("xtrack-card-widget", lambda card: card._become_widget())
# Cards not refreshed yet, oldest first: appended by the cell's thread, taken out by whoever
# refreshes them (list.append and list.remove are atomic)
_awaiting: list[RunCard] = []


def refresh_stored_cards() -> None:
    """On the cell's thread, as a tracked cell ends: show the stored facts of the cards
    whose runs the writer has committed (`ActiveRun.stored`); the others wait for the
    card's thread. Costs a store read and a display message per card, and never waits."""
    for card in list(_awaiting):
        stored = getattr(card.run, "stored", None)
        if stored is not None and stored.is_set():
            card._show_stored(wait=False)


_STORED_POLL_S = 0.05  # how often `_wait_stored` hurries what became pending meanwhile


def _wait_stored(run: Any) -> None:
    """Wait (at most `REFRESH_TIMEOUT_S`) until the run's end is stored, hurrying the work
    pending meanwhile. Nothing pending is not enough: the card reaches its thread before the
    kernel hooks hand the run's finalisation over (`Recording.release_finalize`), and after a
    cell of more than `REFRESH_BESIDE_S` the thread does not wait for a quiet kernel first,
    so it could read the run as still running and show that for good."""
    deadline = time.monotonic() + REFRESH_TIMEOUT_S
    stored = getattr(run, "stored", None) if getattr(run, "recorded", False) else None
    while True:
        left = deadline - time.monotonic()
        runs_source().wait_pending(max(0.0, left))
        if stored is None or stored.wait(_STORED_POLL_S) or left <= 0:
            return


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# How many earlier runs of the same notebook are read to find one with the same code.
_SAME_CODE_CANDIDATES = 20


def previous_run(run: Any) -> dict[str, Any] | None:
    """The latest earlier run of the same cell ({id, number}), or None when there is none or
    it cannot be told. Tried in turn: the same cell id; in the same notebook, the same code
    (cells run by nbclient or papermill carry no cell id); in the same notebook, the same
    run name; the same run name anywhere."""
    try:
        before = f"number < {int(run.number)}"
        tries: list[Callable[[], dict[str, Any] | None]] = []
        if run.cell_id:
            tries.append(lambda: _latest(run.store, f"cell_id = {_quote(run.cell_id)} and {before}"))
        if run.notebook_path:
            in_notebook = f"notebook_path = {_quote(run.notebook_path)} and {before}"
            tries.append(lambda: _same_code(run, in_notebook))
            if run.name:
                tries.append(lambda: _latest(run.store, f"{in_notebook} and name = {_quote(run.name)}"))
        if run.name:
            tries.append(lambda: _latest(run.store, f"name = {_quote(run.name)} and {before}"))
        for attempt in tries:
            found = attempt()
            if found:
                return found
    except Exception:  # noqa: BLE001 - no previous run is a fine answer
        return None
    return None


def _latest(store: Any, where: str) -> dict[str, Any] | None:
    table = store.query_runs(where, order_by="number desc", limit=1, columns=[])
    if not len(table):
        return None
    return {"id": table.columns["id"][0], "number": int(table.columns["number"][0])}


def _same_code(run: Any, where: str) -> dict[str, Any] | None:
    """The latest of the notebook's earlier runs whose cell code has the same blob hash."""
    code = (run.fact(Fact.CODE) or {}).get("hash")
    if not code:
        return None
    table = run.store.query_runs(where, order_by="number desc", limit=_SAME_CODE_CANDIDATES, columns=[])
    for rid, number in zip(table.columns["id"], table.columns["number"], strict=True):
        other = run.store.get_run(rid).get(Fact.CODE) or {}
        if other.get("hash") == code:
            return {"id": rid, "number": int(number)}
    return None


def _files(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rec in records[:_MAX_ROWS]:
        note = ""
        if rec.get("produced_by"):
            note = f"← run {str(rec['produced_by'])[:8]}"
        elif rec.get("status") and not rec.get("hash"):
            note = str(rec["status"])
        size = rec.get("size")
        out.append({
            "path": str(rec.get("path") or rec.get("abs_path") or "?"),
            "hash": short_hash(rec.get("hash")),
            "hash_full": str(rec.get("hash") or ""),
            "size": fmt_bytes(size) if isinstance(size, (int, float)) else "",
            "note": note,
        })
    if len(records) > _MAX_ROWS:
        out.append({"path": f"… {len(records) - _MAX_ROWS} more", "hash": "", "size": "", "note": ""})
    return out


def _git_rows(git: dict[str, Any] | None) -> list[list[str]]:
    if not git:
        return []
    if git.get("repo") is False:
        return [["repository", "none (not in a git repository)"]]
    rows = [["commit", f"{(git.get('commit') or 'no commits')[:12]} ({git.get('branch') or 'detached'})"]]
    if git.get("dirty"):
        diff_bytes = git.get(GIT_DIFF_BYTES)
        extra = f" · diff {fmt_bytes(diff_bytes)}" if diff_bytes else ""
        rows.append(["dirty", "yes, uncommitted changes" + extra])
    elif "dirty" in git:
        rows.append(["dirty", "no"])
    if git.get("untracked"):
        rows.append(["untracked", f"{len(git['untracked'])} files"])
    if git.get("remote"):
        rows.append(["remote", str(git["remote"])])
    return rows


def _param_rows(run: Any) -> list[list[str]]:
    """[key, value] rows; a value a loop varied, or kept as a repr or a digest, carries its
    mark ("↻ varies", "(repr)", ...). A live run's marks come with its stored facts."""
    marks: dict[str, str] = getattr(run, "param_marks", None) or {}
    return [[k, fmt_value(v) + (f"  {marks[k]}" if k in marks else "")]
            for k, v in list(run.params.items())[:_MAX_ROWS]]


def card_payload(
    run: Any,
    *,
    pending: bool = False,
    lost: Mapping[str, Any] | None = None,
    previous: bool = True,
) -> dict[str, Any]:
    """The card's model: JSON-able, small (at most 40 rows per section). `lost`: what this
    process could not store of the run, which outranks the stored count (the run's end,
    which stores the count, may itself be what was lost). `previous`: look up the earlier
    run of the same cell (store queries that only the widget's compare button needs)."""
    fields = run.summary_fields()
    key_metrics = getattr(run, "key_metrics", None)
    # the headline names the user's metrics; system metrics are listed after them below
    fields["metrics"] = {k: v for k, v in (key_metrics() if callable(key_metrics)
                                           else fields.get("metrics") or {}).items()
                         if not is_system_metric(k)}
    not_stored = lost or fields.get(Fact.NOT_STORED)
    fields[Fact.NOT_STORED] = not_stored
    summary = summary_text(fields).split(" ", 1)[1]  # the mark is drawn separately
    started = run.started_at
    facts = [
        ["experiment", run.experiment],
        ["duration", fmt_duration(run.duration_s)],
        ["started", started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if started else "?"],
        ["id", run.id],
    ]
    res = run.resources
    if res:
        parts = []
        if res.get("cpu_s") is not None:
            parts.append(f"cpu {fmt_duration(res['cpu_s'])}")
        if res.get("peak_rss_bytes"):
            parts.append(f"peak memory {fmt_bytes(res['peak_rss_bytes'])}")
        if res.get("peak_gpu_bytes"):
            parts.append(f"peak gpu {fmt_bytes(res['peak_gpu_bytes'])}")
        if parts:
            facts.append(["resources", " · ".join(parts)])
    if not_stored:
        facts.append(["not stored", not_stored_text(not_stored)])
    inputs = _files(run.inputs)
    for ds in run.datasets[:_MAX_ROWS]:
        shape = ds.get("shape")
        inputs.append({
            "path": f"{ds.get('name')} ({ds.get('kind') or 'data'})",
            "hash": short_hash(ds.get("hash")),
            "hash_full": str(ds.get("hash") or ""),
            "size": "×".join(str(x) for x in shape) if isinstance(shape, (list, tuple)) else "",
            "note": "in memory",
        })
    error = run.error
    status = run.status
    return {
        "id": run.id,
        "number": run.number,
        "name": run.name,
        "status": status,
        "mark": status_mark(status),
        "summary": summary,
        "facts": facts,
        "params": _param_rows(run),
        "metrics": [[k, fmt_number(v)] for k, v in user_first(run.metrics.items())[:_MAX_ROWS]],
        "inputs": inputs,
        "outputs": _files(run.outputs),
        "git": _git_rows(run.fact(Fact.GIT)),
        "error": (str(error.get("traceback") or error.get("message") or error.get("type"))[-2000:]
                  if error else None),
        # only the widget's compare button reads it, and the pending card is never a widget:
        # its store queries stay off the cell's path (the widget's swap computes it)
        "previous": previous_run(run) if previous and not pending else None,
        "pending": pending,
        "not_stored": dict(not_stored) if not_stored else None,
        "store": CONTEXT.describe_store(),
    }


def card_text(card: dict[str, Any]) -> str:
    """The card as text: the summary line, then params, metrics, inputs and git."""
    lines = [f"{card['mark']} {card['summary']}"]
    for title in ("params", "metrics", "git"):
        rows = card.get(title) or []
        if rows:
            lines.append(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in rows))
    for f in card.get("inputs") or []:
        lines.append(f"  input {f['path']} {f['hash']} {f['size']}".rstrip())
    return "\n".join(lines)


def card_html(card: dict[str, Any]) -> str:
    """The card as HTML: a <details> that expands without any script or kernel."""
    esc = html.escape

    def table(title: str, rows: list[list[str]]) -> str:
        if not rows:
            return ""
        body = "".join(f"<tr><td><code>{esc(str(k))}</code></td><td>{esc(str(v))}</td></tr>"
                       for k, v in rows)
        return f"<div><b>{esc(title)}</b><table>{body}</table></div>"

    files = [[f["path"], f"{f['hash']} {f['size']} {f['note']}".strip()] for f in card["inputs"]]
    outs = [[f["path"], f"{f['hash']} {f['size']}".strip()] for f in card["outputs"]]
    body = "".join([
        table("run", card["facts"]), table("params", card["params"]),
        table("metrics", card["metrics"]), table("data inputs", files),
        table("outputs", outs), table("git", card["git"]),
    ])
    return (
        '<details class="xtrack-card"><summary class="xtrack-summary" style="font-family:var(--jp-code-font-family,monospace);'
        f'font-size:12px;cursor:pointer">{esc(card["mark"])} {esc(card["summary"])}</summary>'
        f'<div style="display:flex;flex-wrap:wrap;gap:4px 24px;font-size:12px">{body}</div></details>'
    )


class RunCard:
    """The card of one run, displayable (`_repr_mimebundle_`) or shown with `display()`."""

    def __init__(self, run: Any, *, pending: bool = False) -> None:
        self.run = run
        self.card = card_payload(run, pending=pending)
        self.display_id = f"xtrack-card-{uuid.uuid4().hex}"
        self.widget: Any = None
        self.refreshing = threading.Event()  # set once the refresh is over
        self._refresh_lock = threading.Lock()
        self._refreshed = False  # by a later tracked cell's end or by the card thread

    def bundle(self, *, widget: bool = True) -> dict[str, Any]:
        """Widget (when available and `widget`) + HTML + text."""
        html_, text = card_html(self.card), card_text(self.card)
        if widget and self.widget is None and frontend.widgets_enabled():
            # lazy: anywidget loads only when a widget is shown
            from .models import CardModel

            self.widget = CardModel(card=self.card)
            self.widget.on_action(self._on_action)
        return frontend.widget_bundle(self.widget, html_, text)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return frontend.marked(self.bundle())

    def __repr__(self) -> str:
        return card_text(self.card)

    def display(self) -> None:
        """Show the card under the running cell as HTML and text; `refresh_when_stored`
        replaces it with the widget. Building a widget costs the cell a comm and, the first
        time, importing anywidget and ipywidgets (a few hundred ms), so it is built on the
        card's threads, off the cell's path."""
        frontend.display_bundle(self.bundle(widget=False), self.display_id)

    def refresh_when_stored(self) -> threading.Event:
        """Show the run's facts (HTML and text) once they are stored: the next tracked cell
        does it as it ends, for every card whose run is stored by then
        (`refresh_stored_cards`); the card's thread does what is left once the kernel is
        quiet or a cell has run `REFRESH_BESIDE_S` (views/activity.py). Then, where widgets
        work, a second thread shows the widget in its place once the kernel is quiet. The
        event is set once both are done.

        Refreshing beside the next cell made it pay: in Run All the thread's store reads,
        writer flushes and display message, under the GIL beside the cell, cost the gallery
        notebooks' median cell about 5 ms (BENCHMARKS.md); done at the next cell's end,
        with nothing to wait for, it costs about 1 ms there. A converted notebook keeps the
        facts of every card but the last ones, whose refresh comes after its last cell."""
        _awaiting.append(self)
        _refreshes.put(self)
        return self.refreshing

    def _refresh(self) -> None:
        """On the card's thread, once the kernel is quiet: what the next cells did not."""
        activity.KERNEL.wait_quiet(REFRESH_TIMEOUT_S, long_cell_s=REFRESH_BESIDE_S)
        self._show_stored(wait=True)

    def _show_stored(self, wait: bool) -> None:
        """Show the run as stored, once, whoever gets here first; hand the card to the
        widget thread where one may come. `wait`: for the run to be stored (the card's
        thread); without it (the cell's own thread) the caller has checked that it is."""
        with self._refresh_lock:
            if self._refreshed:
                return
            self._refreshed = True
        try:
            _awaiting.remove(self)
        except ValueError:  # not refreshed through refresh_when_stored
            pass
        widget_next = False
        try:
            if wait:
                _wait_stored(self.run)
            lost = CONTEXT.lost(self.run.id)
            try:
                # What the store holds (its last values too), not what the cell logged.
                if wait:
                    self.run = runs_source().get_run(self.run.id)
                else:
                    store = CONTEXT.store()
                    self.run = Run(store.get_run(self.run.id), store, flush=CONTEXT.flush)
            except LookupError:
                if lost is None:  # not even its creation could be written: say so
                    raise
            self.card = card_payload(self.run, lost=lost, previous=False)
            frontend.update_bundle(self.bundle(widget=False), self.display_id)
            # not widgets_enabled(), which imports anywidget: the widget thread checks that
            widget_next = os.environ.get("XTRACK_WIDGETS", "1") != "0" and frontend.in_kernel()
        except Exception:  # noqa: BLE001 - the card keeps what it showed
            pass
        finally:
            if widget_next:
                _swaps.put(self)
            else:
                self.refreshing.set()

    def _become_widget(self) -> None:
        """Once the kernel is quiet: the earlier run of the cell (for the compare button),
        then the widget in place of the HTML."""
        try:
            if "jupyter_xtrack.views.models" in sys.modules:
                activity.KERNEL.wait_quiet(WIDGET_WAIT_S)
            else:  # the first widget imports anywidget and ipywidgets: not beside any cell
                activity.KERNEL.wait_idle(WIDGET_WAIT_S)
            self.card = {**self.card, "previous": previous_run(self.run)}
            if self.widget is not None:
                self.widget.card = self.card
            frontend.update_bundle(self.bundle(), self.display_id)
        except Exception:  # noqa: BLE001 - the card keeps its HTML
            pass
        finally:
            self.refreshing.set()

    def _on_action(self, message: dict[str, Any]) -> None:
        if message.get("type") != "compare_previous" or self.widget is None:
            return
        if self.widget.compare:
            self.widget.compare = {}  # the button toggles the comparison
            return
        previous = self.card.get("previous")
        if not previous:
            self.widget.error = f"run #{self.card['number']} has no earlier run of the same cell"
            return
        self.widget.error = ""
        self.widget.compare = comparison_payload(
            runs_source().compare(previous["id"], self.card["id"]))

