"""The run detail's Evaluation section and Compare's Evaluation overlay (issue 15), in a real
JupyterLab on runs that carry real evaluation reports, written by `xt.evaluate` itself:
scikit-learn models fitted on scikit-learn's datasets (a binary task whose positive class is
the estimator's first class, a multiclass one, a regressor, slices and a baseline), and what
the page shows checked against the recorded report and against scikit-learn's own
confusion_matrix and roc_auc_score.

What each test would catch: before this, the run detail had no Evaluation section and
Compare no Evaluation block (every locator below times out); a chart that dropped a ROC
curve's vertical steps (points sharing an x) shows fewer points than the report's curve has;
a confusion matrix whose text does not read on its heat (either theme) fails the contrast
check; a slice flagged by colour alone has no "⚠ worse" text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

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

DETAIL = f"{SIDEBAR} .jp-xtrack-detail"
SECTION = f"{DETAIL} details[data-section='evaluation']"
NAMES = ["linear", "forest", "wine", "ridge", "plain"]  # runs #1 to #5

# Run by its own interpreter with XTRACK_STORE set, as a user's script would: each
# xt.evaluate opens a run named for its model; scikit-learn's own figures for #1 go to
# argv[1] for the test to check the page against.
SEED = """
import json, sys
import jupyter_xtrack as xt
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import confusion_matrix, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

cancer = load_breast_cancer(as_frame=True)
# "malignant" sorts first: column 0 of predict_proba, where a report taking column 1 errs.
y = cancer.target.map({0: "malignant", 1: "normal"})
X_train, X_test, y_train, y_test = train_test_split(
    cancer.data, y, test_size=0.33, random_state=0, stratify=y)
linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(X_train, y_train)
size_band = X_test["mean radius"].rank(pct=True).map(lambda q: "small" if q < 0.5 else "large")
size_band.name = "size_band"
xt.evaluate(linear, X_test, y_test, pos_label="malignant", slices=[size_band],
            baseline=forest, name="linear")
xt.evaluate(forest, X_test, y_test, pos_label="malignant", slices=[size_band], name="forest")
wine = load_wine(as_frame=True)  # two of its 13 features: a model that is not perfect
wX_train, wX_test, wy_train, wy_test = train_test_split(
    wine.data[["alcohol", "malic_acid"]], wine.target.map(dict(enumerate(wine.target_names))),
    random_state=0)
wine_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
xt.evaluate(wine_model.fit(wX_train, wy_train), wX_test, wy_test, name="wine")
diabetes = load_diabetes(as_frame=True)
dX_train, dX_test, dy_train, dy_test = train_test_split(
    diabetes.data, diabetes.target, random_state=0)
xt.evaluate(Ridge().fit(dX_train, dy_train), dX_test, dy_test, name="ridge")
with xt.start_run(name="plain"):
    pass
proba = linear.predict_proba(X_test)[:, list(linear.classes_).index("malignant")]
json.dump({
    "confusion": confusion_matrix(y_test, linear.predict(X_test),
                                  labels=["malignant", "normal"]).tolist(),
    "roc_auc": roc_auc_score(y_test == "malignant", proba),
}, open(sys.argv[1], "w"))
"""

REPORTS: dict[str, EvaluationFact] = {}
SKLEARN: dict[str, Any] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[JupyterServer]:
    """#1 logistic regression (baseline: #2's forest) and #2 a random forest on breast
    cancer, positive class "malignant", sliced by tumour size; #3 multiclass on wine; #4
    ridge on diabetes; #5 a run without a report."""
    from jupyter_xtrack.store import open_store

    tmp = tmp_path_factory.mktemp("evaluation")
    figures = tmp / "sklearn.json"
    env = {**os.environ, "XTRACK_STORE": str(tmp / "store")}
    subprocess.run([sys.executable, "-c", SEED, str(figures)], env=env, check=True, timeout=300)
    SKLEARN.update(json.loads(figures.read_text()))
    with open_store(tmp / "store") as store:
        for number, name in enumerate(NAMES, 1):
            record = store.get_run(str(number))
            assert record["name"] == name
            if name != "plain":
                REPORTS[name] = record[Fact.EVALUATION]  # type: ignore[literal-required]
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
    assert matrix == SKLEARN["confusion"]  # as scikit-learn's confusion_matrix has it
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
    auc = f"{SKLEARN['roc_auc']:.3g}"  # scikit-learn's roc_auc_score of the right column
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
