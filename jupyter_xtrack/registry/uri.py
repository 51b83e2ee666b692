"""Model URIs: "churn", "churn@champion", "churn/3", "churn@latest", and MLflow's forms
"models:/churn@champion", "models:/churn/3", so code written for MLflow's registry reads."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.registry import LATEST, check_model_name

MODELS_SCHEME = "models:/"
URI_FORMS = "name, name@alias, name/3, name@latest, models:/name@alias or models:/name/3"


@dataclass(frozen=True)
class ModelRef:
    """What a URI names: a version number, an alias, or neither (the latest version)."""

    name: str
    version: int | None = None
    alias: str | None = None


def parse_model_uri(uri: str) -> ModelRef:
    """The model, version or alias `uri` names (ValueError naming the accepted forms)."""
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError(f"model URI {uri!r} is empty; use {URI_FORMS}")
    text = uri.strip()
    if text.startswith(MODELS_SCHEME):
        text = text[len(MODELS_SCHEME) :]
    try:
        if "@" in text:
            name, alias = text.split("@", 1)
            check_model_name(name)
            if alias.lower() == LATEST:
                return ModelRef(name)
            if not alias:
                raise ValueError("no alias after '@'")
            return ModelRef(name, alias=alias)
        if "/" in text:
            name, version = text.rsplit("/", 1)
            if not (version.isascii() and version.isdigit()) or int(version) < 1:
                raise ValueError(f"version {version!r} is not a number from 1")
            return ModelRef(check_model_name(name), version=int(version))
        return ModelRef(check_model_name(text))
    except ValueError as exc:
        raise ValueError(f"model URI {uri!r} cannot be read ({exc}); use {URI_FORMS}") from exc
