"""The model registry: `Registry` (register a run's model, move aliases with their
history, search, load by URI), the values it returns, and model URIs. SQL is in
store/registry.py; runs are read through `records.Run`."""

from __future__ import annotations

from .loading import UntrustedModelError
from .registry import Registry
from .uri import ModelRef, parse_model_uri
from .versions import AliasChange, ModelVersion, RegisteredModel

__all__ = [
    "AliasChange",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "Registry",
    "UntrustedModelError",
    "parse_model_uri",
]
