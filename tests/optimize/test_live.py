"""The sweep's live view fallback: counts by state, best so far, the objective chart."""

from __future__ import annotations

from jupyter_xtrack.optimize.live import GuardedView, HtmlProgress, objective_chart

TRIALS = [
    {"number": 0, "state": "complete", "value": 0.7, "params": {"lr": 0.1}, "duration_s": 1.0},
    {"number": 1, "state": "pruned", "value": 0.2, "params": {"lr": 0.5}, "duration_s": 0.3},
    {"number": 2, "state": "complete", "value": 0.9, "params": {"lr": 0.01}, "duration_s": 1.1},
    {"number": 3, "state": "failed", "value": None, "params": {"lr": 0.9}, "duration_s": 0.1},
    {"number": 4, "state": "running", "value": None, "params": {"lr": 0.05}, "duration_s": None},
]


def test_html_progress_shows_counts_best_and_chart() -> None:
    view = HtmlProgress("sweep demo", "val_acc", "maximize")
    view.update(TRIALS)
    text = repr(view)
    assert "5 trials" in text and "2 complete" in text and "1 pruned" in text and "1 failed" in text
    assert "best val_acc=0.9 (trial 2" in text
    html = view._repr_html_()
    assert "<svg" in html and html.count("<circle") == 3
    view = HtmlProgress("sweep demo", "loss", "minimize")
    view.update(TRIALS)
    assert "best loss=0.7 (trial 0" in repr(view)


def test_chart_best_so_far_line_follows_the_direction() -> None:
    svg = objective_chart(TRIALS[:3], "maximize")
    line = svg.split('points="')[1].split('"')[0].split()
    assert len(line) == 2  # complete trials only
    ys = [float(p.split(",")[1]) for p in line]
    assert ys[1] < ys[0]  # higher value drawn higher (smaller y)
    assert objective_chart([], "maximize") == ""


def test_a_failing_view_is_switched_off_not_raised() -> None:
    class Broken:
        stop_requested = False

        def display(self) -> None:
            raise RuntimeError("no front end")

        def update(self, trials: list) -> None:
            raise AssertionError("must not be called after a failure")

        def finish(self) -> None:
            raise AssertionError("must not be called after a failure")

    view = GuardedView(Broken())
    view.display()
    view.update(TRIALS)
    view.finish()
    assert view.inner is None and view.stop_requested is False
