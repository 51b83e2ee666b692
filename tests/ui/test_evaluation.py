"""The run detail's Evaluation section and Compare's Evaluation overlay (issue 15), in a real
JupyterLab on runs that carry real evaluation reports: real scikit-learn models fitted on
scikit-learn's datasets, their reports made with scikit-learn's own functions (roc_curve,
precision_recall_curve, calibration_curve, confusion_matrix, permutation_importance...) in
the shape xt.evaluate records (facts.EvaluationFact), written with the store's API.

What each test would catch: before this, the run detail had no Evaluation section and
Compare no Evaluation block (every locator below times out); a chart that dropped a ROC
curve's vertical steps (points sharing an x) shows fewer points than sklearn's curve has;
a confusion matrix whose text does not read on its heat (either theme) fails the contrast
check; a slice flagged by colour alone has no "⚠ worse" text."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    max_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

from jupyter_xtrack.facts import EvaluationFact, Fact

from .conftest import SCREENSHOTS, JupyterServer, browser_page, running_server
from .sidebar_page import (
    SIDEBAR,
    back_to_runs,
    contrast,
    open_from_tab,
    row,
    run_numbers,
    select_runs,
    sidebar_width,
    use_theme,
    wait_for,
)

MARGIN = 0.05  # a slice is flagged when a metric is worse than on all the data by this much
DETAIL = f"{SIDEBAR} .jp-xtrack-detail"
SECTION = f"{DETAIL} details[data-section='evaluation']"


# -- reports built with scikit-learn's own functions ----------------------------------------
def _curve(label: str, x: Any, y: Any, area: float | None) -> dict[str, Any]:
    return {"label": label, "x": [float(v) for v in x], "y": [float(v) for v in y], "area": area}


def _importance(model: Any, X: Any, y: Any) -> list[dict[str, Any]]:
    got = permutation_importance(model, X, y, n_repeats=3, random_state=0)
    names = list(X.columns)
    return [
        {
            "feature": names[i],
            "mean": float(got.importances_mean[i]),
            "std": float(got.importances_std[i]),
        }
        for i in range(len(names))
    ]


def _slices(column: Any, scores: dict[str, Any], whole: dict[str, float]) -> list[dict[str, Any]]:
    """Each value of `column`: its count and each metric (higher is better) on its rows,
    flagged where worse than on the whole data by more than MARGIN."""
    out = []
    for value in sorted(set(column)):
        rows = np.asarray(column == value)
        metrics = {name: float(score(rows)) for name, score in scores.items()}
        worse = [m for m, v in metrics.items() if v < whole[m] - MARGIN]
        out.append(
            {
                "column": column.name,
                "value": str(value),
                "count": int(rows.sum()),
                "metrics": metrics,
                "worse": worse,
            }
        )
    return out


def binary_report(model: Any, X: Any, y: Any, pos: str) -> EvaluationFact:
    """A binary classifier's report, positive class `pos` (here not the estimator's second
    class: its probabilities are column 0, which a report taking column 1 gets wrong)."""
    labels = [str(c) for c in model.classes_]
    proba = model.predict_proba(X)[:, labels.index(pos)]
    pred = model.predict(X)
    fpr, tpr, _ = roc_curve(y, proba, pos_label=pos)
    precision, recall, _ = precision_recall_curve(y, proba, pos_label=pos)
    frac, mean_pred = calibration_curve(y == pos, proba, n_bins=8)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    auc = float(roc_auc_score(y == pos, proba))
    ap = float(average_precision_score(y == pos, proba))
    metrics = {
        "accuracy_score": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "precision_score": float(precision_score(y, pred, pos_label=pos)),
        "recall_score": float(recall_score(y, pred, pos_label=pos)),
        "f1_score": float(f1_score(y, pred, pos_label=pos)),
        "roc_auc": auc,
        "precision_recall_auc": ap,
        "log_loss": float(log_loss(y, model.predict_proba(X), labels=model.classes_)),
    }
    band = X["mean radius"].rank(pct=True).map(lambda q: "small" if q < 0.5 else "large")
    band.name = "size_band"
    yy, pp = np.asarray(y), np.asarray(pred)
    slices = _slices(
        band,
        {
            "accuracy_score": lambda rows: accuracy_score(yy[rows], pp[rows]),
            "recall_score": lambda rows: recall_score(
                yy[rows], pp[rows], pos_label=pos, zero_division=0
            ),
        },
        metrics,
    )
    return {
        "model_type": "classifier",
        "model": type(model).__name__,
        "data": "X_test",
        "n": len(y),
        "pos_label": pos,
        "labels": labels,
        "metrics": metrics,
        "per_class": {
            lab: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        },
        "curves": {
            "roc": [_curve(pos, fpr, tpr, auc)],
            "pr": [_curve(pos, recall, precision, ap)],
            "calibration": [_curve(pos, mean_pred, frac, None)],
        },
        "importance": _importance(model, X, y),
        "slices": slices,
        "slice_margin": MARGIN,
        "artifacts": {
            "roc_curve_plot": "roc_curve_plot.png",
            "confusion_matrix": "confusion_matrix.png",
        },
    }


def multiclass_report(model: Any, X: Any, y: Any) -> EvaluationFact:
    """One-vs-rest ROC curves for each class and their macro average (the classes' curves
    averaged on one grid of false positive rates, as xt.evaluate draws it)."""
    labels = [str(c) for c in model.classes_]
    proba = model.predict_proba(X)
    pred = model.predict(X)
    onehot = label_binarize(y, classes=model.classes_)
    curves = []
    for i, lab in enumerate(labels):
        fpr, tpr, _ = roc_curve(onehot[:, i], proba[:, i])
        curves.append(_curve(lab, fpr, tpr, float(roc_auc_score(onehot[:, i], proba[:, i]))))
    grid = np.linspace(0.0, 1.0, 101)
    tprs = [np.interp(grid, c["x"], c["y"]) for c in curves]
    macro = float(np.mean([c["area"] for c in curves]))
    curves.append(_curve("macro", grid, np.mean(tprs, axis=0), macro))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=model.classes_)
    return {
        "model_type": "classifier",
        "model": type(model).__name__,
        "data": "X_test",
        "n": len(y),
        "pos_label": None,
        "labels": labels,
        "metrics": {
            "accuracy_score": float(accuracy_score(y, pred)),
            "f1_score": float(f1_score(y, pred, average="macro")),
            "roc_auc": float(roc_auc_score(y, proba, multi_class="ovr")),
        },
        "per_class": {
            lab: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y, pred, labels=model.classes_).tolist(),
        },
        "curves": {"roc": curves},
    }


def regressor_report(model: Any, X: Any, y: Any) -> EvaluationFact:
    pred = model.predict(X)
    actual = np.asarray(y)
    return {
        "model_type": "regressor",
        "model": type(model).__name__,
        "data": "X_test",
        "n": len(y),
        "pos_label": None,
        "labels": [],
        "metrics": {
            "mean_absolute_error": float(mean_absolute_error(y, pred)),
            "root_mean_squared_error": float(np.sqrt(np.mean((actual - pred) ** 2))),
            "r2_score": float(r2_score(y, pred)),
            "mean_absolute_percentage_error": float(mean_absolute_percentage_error(y, pred)),
            "max_error": float(max_error(y, pred)),
        },
        "curves": {
            "residuals": [_curve("", pred, actual - pred, None)],
            "predicted_actual": [_curve("", actual, pred, None)],
        },
        "importance": _importance(model, X, y),
    }


def _cancer() -> tuple[Any, Any, Any, Any]:
    data = load_breast_cancer(as_frame=True)
    # "malignant" sorts first: the estimator's classes_ put it at column 0 of predict_proba.
    y = data.target.map({0: "malignant", 1: "normal"})
    return train_test_split(data.data, y, test_size=0.33, random_state=0, stratify=y)


REPORTS: dict[str, EvaluationFact] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """#1 logistic regression and #2 a random forest on breast cancer (positive class
    "malignant", the estimator's first class), #3 multiclass on wine, #4 ridge on
    diabetes, #5 a run without a report."""
    from jupyter_xtrack.store import open_store

    X_train, X_test, y_train, y_test = _cancer()
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(X_train, y_train)
    REPORTS["linear"] = binary_report(linear, X_test, y_test, "malignant")
    REPORTS["forest"] = binary_report(forest, X_test, y_test, "malignant")
    # As compare_models records it: the champion's metrics on the same data as the baseline.
    REPORTS["linear"]["baseline"] = {
        "model": "RandomForestClassifier",
        "metrics": REPORTS["forest"]["metrics"],
    }
    wine = load_wine(as_frame=True)
    # Two of wine's 13 features: a model that is not perfect, so its curves tell apart.
    wX_train, wX_test, wy_train, wy_test = train_test_split(
        wine.data[["alcohol", "malic_acid"]],
        wine.target.map(dict(enumerate(wine.target_names))),
        random_state=0,
    )
    wine_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    REPORTS["wine"] = multiclass_report(wine_model.fit(wX_train, wy_train), wX_test, wy_test)
    diabetes = load_diabetes(as_frame=True)
    dX_train, dX_test, dy_train, dy_test = train_test_split(
        diabetes.data, diabetes.target, random_state=0
    )
    REPORTS["ridge"] = regressor_report(Ridge().fit(dX_train, dy_train), dX_test, dy_test)

    tmp = tmp_path_factory.mktemp("evaluation")
    store = open_store(tmp / "store")
    t0 = time.time() - 600
    try:
        for i, name in enumerate(["linear", "forest", "wine", "ridge", "plain"]):
            rid, _ = store.create_run(name=name, experiment="eval", started_at=t0 + 60 * i)
            report = REPORTS.get(name)
            if report:
                store.log_metrics(
                    [(rid, k, v, None, t0 + 60 * i) for k, v in report["metrics"].items()]
                )
                store.set_facts(rid, **{Fact.EVALUATION: report})
            store.finish_run(rid, status="finished", ended_at=t0 + 60 * i + 30)
    finally:
        store.close()
    with running_server("lab", tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(browser: Any, server: JupyterServer) -> Iterator[Any]:
    with browser_page(browser, 20_000) as pg:
        pg.goto(server.url("lab?reset"))
        pg.locator("#jp-main-dock-panel").wait_for()
        open_from_tab(pg)
        sidebar_width(pg, 760)
        wait_for(lambda: run_numbers(pg) == [5, 4, 3, 2, 1], what="the five runs listed")
        yield pg


def open_run(page: Any, number: int, name: str) -> Any:
    back_to_runs(page)
    row(page, number).locator(".jp-xtrack-col-value").first.click()
    wait_for(
        lambda: name in page.locator(f"{DETAIL} .jp-xtrack-title").inner_text(), what=f"run {name}"
    )
    return page.locator(DETAIL)


def fmt(v: float) -> str:
    """A number as chartcore's formatNumber writes it (4 significant digits)."""
    return str(float(f"{v:.4g}")) if v != int(v) else str(int(v))


PLOTS = ["roc", "pr", "calibration", "residuals", "predicted_actual"]  # the order shown


def count_of(report: EvaluationFact) -> str:
    """The section's heading: its metrics and plots (the confusion matrix is one)."""
    plots = sum(1 for k in PLOTS if report.get("curves", {}).get(k)) + ("confusion" in report)
    return f"Evaluation ({len(report['metrics'])} metrics, {plots} plots)"


def shoot(page: Any, locator: Any, name: str) -> None:
    """The element in both themes, dark then light, under tests/ui/screenshots/; the page is
    made as tall as the element for the shot (an element screenshot stops at the viewport)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    tall = min(locator.evaluate("el => el.scrollHeight") + 300, 4000)
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
    try:
        for theme, tag in (("JupyterLab Dark", "dark"), ("JupyterLab Light", "light")):
            use_theme(page, theme)
            page.wait_for_timeout(400)
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(SCREENSHOTS / f"{name}-{tag}.png"))
    finally:
        page.set_viewport_size(size)


def chart(plot: Any) -> dict[str, int]:
    el = plot.locator(".xt-uchart")
    el.wait_for()
    return {
        "series": int(el.get_attribute("data-series")),
        "points": int(el.get_attribute("data-points")),
    }


def test_binary_report_with_a_non_1_positive_class(lab: Any) -> None:
    page = lab
    report = REPORTS["linear"]
    open_run(page, 1, "linear")
    section = page.locator(SECTION)
    section.wait_for()
    assert section.locator("summary").inner_text() == count_of(report)
    body = section.locator(".jp-xtrack-evaluation")
    assert 'positive class "malignant"' in body.locator(".jp-xtrack-muted").first.inner_text()
    metrics = report["metrics"]
    got = {
        tr.get_attribute("data-metric"): tr.locator("td").all_inner_texts()
        for tr in body.locator(".jp-xtrack-eval-metrics tbody tr").all()
    }
    base = report["baseline"]["metrics"]
    assert got == {k: [fmt(v), fmt(base[k])] for k, v in metrics.items()}
    heads = body.locator(".jp-xtrack-eval-metrics thead th").all_inner_texts()
    assert heads[1:] == [report["model"], f"baseline: {report['baseline']['model']}"]
    # The confusion matrix: sklearn's counts, and each true class's percentages.
    matrix = report["confusion"]["matrix"]
    cells = body.locator("table.jp-xtrack-confusion tbody tr")
    for i, counts in enumerate(matrix):
        tds = cells.nth(i).locator("td:not(.jp-xtrack-muted)")
        assert [
            int(t) for t in tds.locator(".jp-xtrack-confusion-count").all_inner_texts()
        ] == counts
        pcts = tds.locator(".jp-xtrack-confusion-pct").all_inner_texts()
        assert [float(p.rstrip("%")) for p in pcts] == pytest.approx(
            [100 * c / sum(counts) for c in counts], abs=0.51
        )
    # Each curve with every point sklearn gave, plus its two-point reference line.
    roc, pr, cal = (body.locator(f"[data-plot='{k}']") for k in ("roc", "pr", "calibration"))
    assert chart(roc) == {"series": 2, "points": len(report["curves"]["roc"][0]["x"]) + 2}
    assert chart(pr) == {"series": 2, "points": len(report["curves"]["pr"][0]["x"]) + 2}
    assert chart(cal)["points"] == len(report["curves"]["calibration"][0]["x"]) + 2
    auc = f"{metrics['roc_auc']:.3g}"
    assert roc.locator(".jp-xtrack-eval-legend li").all_inner_texts() == [
        f"malignant (AUC {auc})",
        "chance",
    ]
    rate = sum(matrix[report["labels"].index("malignant")])
    legend = pr.locator(".jp-xtrack-eval-legend li").all_inner_texts()
    assert legend[0] == f"malignant (AP {report['curves']['pr'][0]['area']:.3g})"
    assert legend[1] == f"chance (positive rate {rate / report['n']:.3g})"
    # Importance, most important first as sklearn's permutation_importance ranks it: the
    # first 15 of the 30 features, then all of them on asking.
    ranked = [r["feature"] for r in sorted(report["importance"], key=lambda r: -r["mean"])]
    items = body.locator(".jp-xtrack-eval-importance li")

    def features() -> list[str]:
        return list(items.evaluate_all("li => li.map(x => x.dataset.feature)"))

    assert features() == ranked[:15]
    body.locator("button", has_text=f"show all {len(ranked)} features").click()
    wait_for(lambda: features() == ranked, what="every feature listed")


def test_flagged_slices_are_marked_in_words(lab: Any) -> None:
    page = lab
    report = REPORTS["linear"]
    open_run(page, 1, "linear")
    table = page.locator(f"{SECTION} table.jp-xtrack-eval-slices")
    table.wait_for()
    for s in report["slices"]:
        tr = table.locator(f"tr[data-slice='size_band={s['value']}']")
        assert tr.locator("td").first.inner_text() == str(s["count"])
        flag = tr.locator(".jp-xtrack-eval-flag")
        if s["worse"]:
            assert flag.inner_text() == "⚠ worse: " + ", ".join(s["worse"])
            assert "▼" in tr.locator("td.jp-xtrack-eval-worse").first.inner_text()
        else:
            assert flag.count() == 0
    assert any(s["worse"] for s in report["slices"]), "the data should give a flagged slice"


def test_the_confusion_matrix_reads_in_both_themes(lab: Any) -> None:
    """The cell with the most heat (a whole row's share) keeps WCAG AA contrast (4.5:1) for
    its count in the dark theme and the light one."""
    page = lab
    open_run(page, 1, "linear")
    section = page.locator(SECTION)
    section.wait_for()
    hot = f"{SECTION} td.jp-xtrack-confusion-hit"
    for theme in ("JupyterLab Dark", "JupyterLab Light"):
        use_theme(page, theme)
        page.wait_for_timeout(400)
        cell = page.evaluate(
            """sel => { const tds = [...document.querySelectorAll(sel)];
              const top = tds.reduce((a, b) => parseFloat(getComputedStyle(a).getPropertyValue('--xt-heat'))
                >= parseFloat(getComputedStyle(b).getPropertyValue('--xt-heat')) ? a : b);
              const cs = getComputedStyle(top);
              return {background: cs.backgroundColor,
                      color: getComputedStyle(top.querySelector('span')).color}; }""",
            hot,
        )
        assert contrast(cell["color"], cell["background"]) >= 4.5, (theme, cell)
    shoot(page, section, "evaluation-1-binary")


def test_multiclass_report_draws_one_curve_per_class(lab: Any) -> None:
    page = lab
    report = REPORTS["wine"]
    open_run(page, 3, "wine")
    section = page.locator(SECTION)
    section.wait_for()
    assert section.locator("[data-plot]").evaluate_all("p => p.map(x => x.dataset.plot)") == [
        k for k in PLOTS if k in report["curves"]
    ]
    roc = section.locator("[data-plot='roc']")
    curves = report["curves"]["roc"]
    assert chart(roc) == {"series": len(curves) + 1, "points": sum(len(c["x"]) for c in curves) + 2}
    legend = roc.locator(".jp-xtrack-eval-legend li").all_inner_texts()
    assert legend[-2:] == [f"macro (AUC {curves[-1]['area']:.3g})", "chance"]
    classes = section.locator("table.jp-xtrack-eval-perclass tbody tr").evaluate_all(
        "r => r.map(x => x.dataset.class)"
    )
    assert classes == report["labels"]
    assert section.locator("table.jp-xtrack-confusion tbody tr").count() == 3
    shoot(page, section, "evaluation-4-multiclass")


def test_regressor_report_draws_residuals_and_predictions(lab: Any) -> None:
    page = lab
    report = REPORTS["ridge"]
    open_run(page, 4, "ridge")
    section = page.locator(SECTION)
    section.wait_for()
    assert section.locator("summary").inner_text() == count_of(report)
    n = len(report["curves"]["residuals"][0]["x"])
    for key in ("residuals", "predicted_actual"):
        plot = section.locator(f"[data-plot='{key}']")
        assert chart(plot) == {"series": 2, "points": n + 2}
    legend = section.locator("[data-plot='residuals'] .jp-xtrack-eval-legend li").all_inner_texts()
    assert legend == ["model", "zero error"]
    assert section.locator("table.jp-xtrack-confusion").count() == 0
    shoot(page, section, "evaluation-2-regressor")


def test_a_run_without_a_report_has_no_section(lab: Any) -> None:
    page = lab
    detail = open_run(page, 5, "plain")
    detail.locator("details[data-section='metrics']").wait_for()
    assert detail.locator("details[data-section='evaluation']").count() == 0


def test_compare_overlays_curves_and_metrics_with_deltas(lab: Any) -> None:
    page = lab
    linear, forest = REPORTS["linear"], REPORTS["forest"]
    back_to_runs(page)
    select_runs(page, [1, 2, 5])
    page.locator(f"{SIDEBAR} button", has_text="Compare (3)").click()
    block = page.locator(f"{SIDEBAR} details.jp-xtrack-section[data-section='evaluation']")
    block.wait_for()
    assert block.locator("summary").inner_text() == "Evaluation (2 runs)"
    roc = block.locator("[data-plot='roc']")
    points = sum(len(r["curves"]["roc"][0]["x"]) for r in (linear, forest))
    assert chart(roc) == {"series": 3, "points": points + 2}
    legend = roc.locator(".jp-xtrack-eval-legend li").all_inner_texts()
    assert [re.sub(r"\(AUC .*\)", "", t).strip() for t in legend][-1] == "chance"
    assert any(f"(AUC {linear['metrics']['roc_auc']:.3g})" in t for t in legend)
    assert any(f"(AUC {forest['metrics']['roc_auc']:.3g})" in t for t in legend)
    # The runs' colours are Compare's: the legend swatches match the runs legend's.
    swatches = roc.locator(".jp-xtrack-eval-legend .jp-xtrack-swatch").evaluate_all(
        "s => s.map(x => getComputedStyle(x).backgroundColor)"
    )
    runs_legend = page.locator(f"{SIDEBAR} .jp-xtrack-legend .jp-xtrack-swatch").evaluate_all(
        "s => s.map(x => getComputedStyle(x).backgroundColor)"
    )
    assert sorted(swatches[:2]) == sorted(runs_legend[:2])
    table = block.locator("table.jp-xtrack-compare[data-section='evaluation']")
    heads = table.locator("thead th").all_inner_texts()[1:]
    assert len(heads) == 2 and sum("(ref)" in h for h in heads) == 1
    ref = next(i for i, h in enumerate(heads) if "(ref)" in h)
    values = {"linear": linear["metrics"], "forest": forest["metrics"]}
    name = ["linear" if "linear" in h else "forest" for h in heads]
    tds = table.locator("tr[data-key='accuracy_score'] td")

    def shown(i: int) -> str:
        return tds.nth(i).inner_text().replace("\xa0", " ").strip()

    def expected(i: int, ref: int) -> str:
        v, r = values[name[i]]["accuracy_score"], values[name[ref]]["accuracy_score"]
        if i == ref or v == r:
            return fmt(v)
        return f"{fmt(v)} {'+' if v > r else '−'}{fmt(abs(v - r))}"

    assert [shown(i) for i in (0, 1)] == [expected(i, ref) for i in (0, 1)]
    # Another reference (a click on the other run's name): the delta moves to the other run.
    table.locator("thead button").nth(1 - ref).click()
    wait_for(lambda: "(ref)" in table.locator("thead th").nth(2 - ref).inner_text(), what="new ref")
    assert [shown(i) for i in (0, 1)] == [expected(i, 1 - ref) for i in (0, 1)]
    shoot(page, block, "evaluation-3-compare")


def test_the_section_fits_a_narrow_sidebar(lab: Any) -> None:
    """At a 340 px sidebar nothing pushes the section wider than the panel: plots stack,
    the importance names shorten, only the tables scroll sideways in their own boxes."""
    page = lab
    back_to_runs(page)
    sidebar_width(page, 340)
    try:
        open_run(page, 1, "linear")
        section = page.locator(SECTION)
        section.locator("[data-plot='roc'] canvas").wait_for()
        widths = section.evaluate(
            "el => ({scroll: el.scrollWidth, client: el.clientWidth,"
            " plot: el.querySelector('[data-plot=roc]').getBoundingClientRect().width})"
        )
        wide = section.evaluate(
            "el => [...el.querySelectorAll('*')].filter(c => c.getBoundingClientRect().right >"
            " el.getBoundingClientRect().right + 1).slice(0, 5).map(c => c.tagName + '.' +"
            " c.className + ' ' + Math.round(c.getBoundingClientRect().width))"
        )
        assert widths["scroll"] <= widths["client"] + 1, (widths, wide)
        assert widths["plot"] <= widths["client"], widths
        shoot(page, section, "evaluation-5-narrow")
    finally:
        back_to_runs(page)
        sidebar_width(page, 760)
