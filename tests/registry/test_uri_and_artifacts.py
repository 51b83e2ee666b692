"""Model URIs and the choice of a run's model artifact: the pure parts of the registry."""

from __future__ import annotations

import pytest

from jupyter_xtrack.registry import ModelRef, parse_model_uri
from jupyter_xtrack.registry.artifacts import artifact_format, pick_model_artifact


@pytest.mark.parametrize(
    "uri, ref",
    [
        ("churn", ModelRef("churn")),
        ("churn@latest", ModelRef("churn")),
        ("churn@LATEST", ModelRef("churn")),
        ("churn@champion", ModelRef("churn", alias="champion")),
        ("churn/3", ModelRef("churn", version=3)),
        ("models:/churn@champion", ModelRef("churn", alias="champion")),
        ("models:/churn/3", ModelRef("churn", version=3)),
        (" models:/fraud.v2/12 ", ModelRef("fraud.v2", version=12)),
    ],
)
def test_every_uri_form(uri: str, ref: ModelRef) -> None:
    assert parse_model_uri(uri) == ref


@pytest.mark.parametrize(
    "uri", ["", "churn/0", "churn/x", "churn@", "a/b/3", "@champion", "models:/"]
)
def test_a_bad_uri_names_the_forms(uri: str) -> None:
    with pytest.raises(ValueError, match=r"name@alias, name/3"):
        parse_model_uri(uri)


def _art(name: str, fmt: str | None = None) -> dict[str, object]:
    return {"name": name, "hash": "h", "meta": {"format": fmt} if fmt else {}}


def test_the_automl_model_wins_then_the_single_model_like_artifact() -> None:
    arts = [_art("figure-1.png", "png"), _art("est.joblib", "joblib"), _art("model.pkl", "bytes")]
    assert pick_model_artifact(arts, "#1")["name"] == "model.pkl"
    assert pick_model_artifact(arts[:2], "#1")["name"] == "est.joblib"
    assert artifact_format(_art("model.pkl", "bytes")) == "pickle"  # logged bytes: by suffix
    assert artifact_format(_art("weights.pt", "torch")) == "torch"
    assert artifact_format(_art("net.onnx", "file")) == "onnx"


def test_no_or_several_model_artifacts_is_an_error_listing_them() -> None:
    with pytest.raises(ValueError, match=r"no model-like artifact \(its artifacts: 'a.csv'\)"):
        pick_model_artifact([_art("a.csv", "csv")], "#4")
    with pytest.raises(ValueError, match=r"2 model-like artifacts \('a.joblib', 'b.pt'\).*'#4:"):
        pick_model_artifact([_art("a.joblib", "joblib"), _art("b.pt", "torch")], "#4")
