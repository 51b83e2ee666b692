"""The report's PNGs, under MLflow's artifact file names so that an export to MLflow shows
them where its users look. Drawn from the curves as stored (the fact and the pictures never
disagree) on figures of their own with the Agg canvas: pyplot's state and the user's
current figure are never touched, which also makes drawing safe off the kernel's thread."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from ..facts import EvaluationFact

# MLflow's names (mlflow/models/evaluation/evaluators/classifier.py: f"{name}.png", and
# "per_class_metrics.csv"); MLflow draws no regressor plots, so those two names are ours,
# in the same style.
CONFUSION = "confusion_matrix.png"
ROC = "roc_curve_plot.png"
PR = "precision_recall_curve_plot.png"
CALIBRATION = "calibration_curve_plot.png"
PER_CLASS = "per_class_metrics.csv"
RESIDUALS = "residuals_plot.png"
PREDICTED_ACTUAL = "predicted_vs_actual_plot.png"


def _png(draw: Callable[[Any], None]) -> bytes:
    # lazy: matplotlib loads only when a report is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _lines(
    report: EvaluationFact,
    kind: str,
    xlabel: str,
    ylabel: str,
    diagonal: tuple[float, float, float, float] | None,
) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        for c in report.get("curves", {}).get(kind, []):
            area = c.get("area")
            label = c.get("label") or None
            if label is not None and area is not None:
                label = f"{label} (area {area:.3f})"
            ax.plot(
                c["x"],
                c["y"],
                marker="o" if kind == "calibration" else None,
                markersize=3,
                label=label,
            )
        if diagonal is not None:
            ax.plot(diagonal[:2], diagonal[2:], linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")

    return draw


def _scatter(
    report: EvaluationFact, kind: str, xlabel: str, ylabel: str, diagonal: bool
) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        for c in report.get("curves", {}).get(kind, []):
            ax.scatter(c["x"], c["y"], s=8, alpha=0.6)
            if diagonal and c["x"]:
                lo, hi = min(c["x"] + c["y"]), max(c["x"] + c["y"])
                ax.plot([lo, hi], [lo, hi], linestyle="--", color="grey", linewidth=1)
            elif c["x"]:
                ax.axhline(0.0, linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)

    return draw


def _confusion(report: EvaluationFact) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        labels = report["confusion"]["labels"]
        matrix = report["confusion"]["matrix"]
        ax.imshow(matrix, cmap="Blues")
        ticks = range(len(labels))
        ax.set_xticks(list(ticks), labels, rotation=45 if len(labels) > 4 else 0)
        ax.set_yticks(list(ticks), labels)
        top = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(count),
                    ha="center",
                    va="center",
                    color="white" if count > top / 2 else "black",
                )
        ax.set_xlabel("Predicted label")
        ax.set_ylabel("True label")

    return draw


def images(report: EvaluationFact) -> dict[str, bytes]:
    """Every plot the report has data for: file name -> PNG bytes."""
    curves = report.get("curves", {})
    todo: list[tuple[str, Callable[[Any], None]]] = []
    if "confusion" in report:
        todo.append((CONFUSION, _confusion(report)))
    if curves.get("roc"):
        todo.append(
            (ROC, _lines(report, "roc", "False positive rate", "True positive rate", (0, 1, 0, 1)))
        )
    if curves.get("pr"):
        todo.append((PR, _lines(report, "pr", "Recall", "Precision", None)))
    if curves.get("calibration"):
        todo.append(
            (
                CALIBRATION,
                _lines(
                    report,
                    "calibration",
                    "Mean predicted probability",
                    "Fraction of positives",
                    (0, 1, 0, 1),
                ),
            )
        )
    if curves.get("residuals"):
        todo.append((RESIDUALS, _scatter(report, "residuals", "Predicted", "Residual", False)))
    if curves.get("predicted_actual"):
        todo.append(
            (PREDICTED_ACTUAL, _scatter(report, "predicted_actual", "Actual", "Predicted", True))
        )
    return {name: _png(draw) for name, draw in todo}


def per_class_csv(report: EvaluationFact) -> bytes | None:
    """MLflow's per_class_metrics.csv: one row per class, its scores and its curves' areas."""
    classes = report.get("per_class")
    if not classes:
        return None
    areas = {
        kind: {c["label"]: c.get("area") for c in report.get("curves", {}).get(kind, [])}
        for kind in ("roc", "pr")
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "positive_class",
            "precision",
            "recall",
            "f1_score",
            "support",
            "roc_auc",
            "precision_recall_auc",
        ]
    )
    for label, m in classes.items():
        writer.writerow(
            [
                label,
                m["precision"],
                m["recall"],
                m["f1"],
                m["support"],
                _blank(areas["roc"].get(label)),
                _blank(areas["pr"].get(label)),
            ]
        )
    return out.getvalue().encode()


def _blank(value: float | None) -> str:
    return "" if value is None else repr(value)
