"""Champion vs challenger: `xt.compare_models` on estimators, runs and registry URIs, and the
gated `xt.promote` (the registry's tests run once its public API is in this install)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

import jupyter_xtrack as xt
from tests.conftest import run_cell


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "region": np.where(np.arange(n) % 2 == 0, "north", "south"),
        }
    )
    y = np.where(frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return frame, y


def _fit(frame: pd.DataFrame, y: np.ndarray, model: Any) -> Any:
    return model.fit(frame[["a", "b"]], y)


def test_compare_two_estimators_per_metric_and_per_slice(shell: Any, data: Any) -> None:
    frame, y = data
    X = frame[["a", "b"]]
    champion = _fit(frame, y, DummyClassifier(strategy="prior"))
    challenger = _fit(frame, y, LogisticRegression())
    cmp = xt.compare_models(champion, challenger, X, y, slices=[frame["region"].rename("region")])
    rows = {k: (a, b, worse) for k, a, b, worse in cmp.rows()}
    acc_a = skm.accuracy_score(y, champion.predict(X))
    acc_b = skm.accuracy_score(y, challenger.predict(X))
    assert rows["accuracy_score"] == pytest.approx((acc_a, acc_b, acc_a - acc_b))
    ll_a, ll_b = (
        skm.log_loss(y, champion.predict_proba(X)),
        skm.log_loss(y, challenger.predict_proba(X)),
    )
    assert rows["log_loss"] == pytest.approx((ll_a, ll_b, ll_b - ll_a))  # lower is better
    north = [r for r in cmp.slice_rows() if r[:3] == ("region", "north", "accuracy_score")]
    mask = frame["region"].to_numpy() == "north"
    assert north and north[0][4] == pytest.approx(
        skm.accuracy_score(y[mask], challenger.predict(X[mask]))
    )
    assert cmp.regressions({"roc_auc": 0.0, "log_loss": 0.0}) == {}
    backwards = xt.compare_models(challenger, champion, X, y)
    assert set(backwards.regressions({"roc_auc": 0.0, "log_loss": 0.0})) == {"roc_auc", "log_loss"}
    assert "worse" in repr(backwards) and "<table>" in cmp._repr_html_()
    run = xt.get_run(cmp.run_id)  # recorded: b's report with a's metrics as its baseline
    report = run.fact("evaluation")
    assert report["model"] == "LogisticRegression"
    assert report["baseline"]["metrics"]["accuracy_score"] == pytest.approx(acc_a)


def test_a_run_stands_for_the_model_it_logged(shell: Any, data: Any) -> None:
    frame, y = data
    shell.user_ns.update(frame=frame, y=y, LogisticRegression=LogisticRegression)
    run_cell(
        shell,
        "%%track --name trained\nclf = LogisticRegression(C=0.1)"
        ".fit(frame[['a', 'b']], y)\nxt.log_artifact(clf, 'model.joblib')",
    )
    live = _fit(frame, y, LogisticRegression(C=0.1))
    cmp = xt.compare_models(1, live, frame[["a", "b"]], y)
    assert cmp.a == "run #1"
    assert all(worse == pytest.approx(0.0) for _, _, _, worse in cmp.rows())
    with pytest.raises(ValueError, match="logged no model artifact"):
        run_cell(shell, "%%track --name empty\nx = 1")
        xt.compare_models(2, live, frame[["a", "b"]], y)


def test_promote_moves_the_alias_only_when_the_gate_holds(shell: Any, data: Any) -> None:
    frame, y = data
    X = frame[["a", "b"]]
    shell.user_ns.update(
        frame=frame,
        y=y,
        X=X,
        LogisticRegression=LogisticRegression,
        DummyClassifier=DummyClassifier,
    )
    run_cell(
        shell,
        "%%track --name weak\nm = DummyClassifier().fit(X, y)\nxt.log_artifact(m, 'model.joblib')",
    )
    run_cell(
        shell,
        "%%track --name strong\nm = LogisticRegression().fit(X, y)\n"
        "xt.log_artifact(m, 'model.joblib')",
    )
    xt.register_model(xt.get_run(1), "churn")
    xt.register_model(xt.get_run(2), "churn")
    first = xt.promote("churn", "champion", 1, X, y, reason="the first one")  # nothing to beat
    assert first.promoted and first.previous is None and first.comparison is None
    better = xt.promote("churn", "champion", 2, X, y, reason="beats the prior")
    assert better.promoted and better.previous == 1 and better.version == 2
    assert better.comparison is not None and better.comparison.a == "churn/1"
    assert xt.get_model_version("churn@champion").version == 2
    back = xt.promote("churn", "champion", "models:/churn/1", X, y)
    assert not back.promoted and set(back.regressions) == {"roc_auc", "log_loss"}
    assert "stays at 2" in repr(back)
    assert xt.get_model_version("churn@champion").version == 2
    history = xt.alias_history("churn", "champion")
    assert [(h.from_version, h.to_version) for h in history] == [(None, 1), (1, 2)]
    evaluated = xt.get_run(history[1].evaluation)  # the comparison behind the move
    assert evaluated.id == better.comparison.run_id
    assert evaluated.fact("evaluation")["baseline"]["model"] == "churn/1"
    assert history[0].evaluation == xt.get_run(history[0].evaluation).id  # its own evaluation
    assert history[1].reason == "beats the prior"


def test_compare_models_by_every_registry_uri_form(shell: Any, data: Any) -> None:
    frame, y = data
    X = frame[["a", "b"]]
    shell.user_ns.update(frame=frame, y=y, X=X, LogisticRegression=LogisticRegression)
    run_cell(
        shell,
        "%%track --name m\nm = LogisticRegression().fit(X, y)\nxt.log_artifact(m, 'model.joblib')",
    )
    xt.register_model(xt.get_run(1), "churn", aliases=["champion"])
    live = LogisticRegression().fit(X, y)
    for uri in ("churn@champion", "churn/1", "models:/churn@champion", "models:/churn/1"):
        cmp = xt.compare_models(uri, live, X, y)
        assert cmp.a == uri
        assert all(worse == pytest.approx(0.0) for _, _, _, worse in cmp.rows())


def test_a_bare_model_name_is_its_latest_version_and_an_ambiguous_one_is_refused(
    shell: Any, data: Any
) -> None:
    """A plain registry name ("churn") used to be read as a run reference and fail; it is the
    model's latest version, in `compare_models` and in `promote`'s candidate, and a string
    that names both a run and a model is refused with both spellings that would be clear."""
    frame, y = data
    X = frame[["a", "b"]]
    shell.user_ns.update(X=X, y=y, LogisticRegression=LogisticRegression)
    shell.user_ns["DummyClassifier"] = DummyClassifier
    run_cell(
        shell,
        "%%track --name weak\nm = DummyClassifier().fit(X, y)\nxt.log_artifact(m, 'model.joblib')",
    )
    run_cell(
        shell,
        "%%track --name strong\nm = LogisticRegression().fit(X, y)\n"
        "xt.log_artifact(m, 'model.joblib')",
    )
    xt.register_model(xt.get_run(1), "churn")
    xt.register_model(xt.get_run(2), "churn")
    live = LogisticRegression().fit(X, y)
    cmp = xt.compare_models("churn", live, X, y)
    assert cmp.a == "churn/2"  # the latest version, not run "churn"
    assert all(worse == pytest.approx(0.0) for _, _, _, worse in cmp.rows())
    promoted = xt.promote("churn", "champion", "churn", X, y, reason="latest")
    assert promoted.promoted and promoted.version == 2
    history = xt.alias_history("churn", "champion")
    assert xt.get_run(history[-1].evaluation).fact("evaluation")["model"] == "LogisticRegression"
    assert xt.compare_models(1, live, X, y).a == "run #1"  # a run number is still a run
    xt.register_model(xt.get_run(1), "1")  # a model whose name is also a run number
    with pytest.raises(ValueError, match=r"names both run #1 and registered model '1'.*'#1'"):
        xt.compare_models("1", live, X, y)
    assert xt.compare_models("1@latest", live, X, y).a == "1@latest"
    with pytest.raises(LookupError, match="names neither a run"):
        xt.compare_models("nosuchmodel", live, X, y)
