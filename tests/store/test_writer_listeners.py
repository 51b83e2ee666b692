"""Writer listeners: a live view sees every drained point, before it is written."""

from __future__ import annotations

import time
from pathlib import Path

from jupyter_xtrack.store import BackgroundWriter, PointBuffer, open_store


def test_listeners_see_every_point_and_errors_do_not_stop_the_writes(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    run_id, _ = store.create_run(name="live")
    errors: list[BaseException] = []
    writer = BackgroundWriter(store, interval=5.0, on_error=errors.append)
    buf = writer.add_buffer(PointBuffer())
    seen: list[tuple] = []

    def broken(points: list) -> None:
        raise RuntimeError("a view bug")

    writer.add_listener(seen.extend)
    writer.add_listener(broken)
    for i in range(1000):
        buf.append((run_id, "loss", float(i), i, time.time()))
    # With a listener attached the writer drains every 0.25 s, not every 5 s.
    deadline = time.monotonic() + 3
    while len(seen) < 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p[2] for p in seen] == [float(i) for i in range(1000)]
    assert writer.flush(10)
    assert store.metric_history(run_id, "loss")["value"] == [float(i) for i in range(1000)]
    assert any("a view bug" in str(e) for e in errors)
    writer.remove_listener(seen.extend)
    buf.append((run_id, "loss", 1e9, 1000, time.time()))
    assert writer.flush(10)
    assert len(seen) == 1000
    writer.close()
