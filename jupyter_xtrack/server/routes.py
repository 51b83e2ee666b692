"""The API's routes in one table; `openapi.yaml` describes the same paths (a test checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.utils import url_path_join

from .feed import ChangeFeed
from .gitnotebooks import GitNotebookDiffHandler
from .handlers import (
    ArtifactHandler,
    ArtifactPreviewHandler,
    BlobHandler,
    CompareHandler,
    DiffHandler,
    EventsHandler,
    JobCancelHandler,
    JobsHandler,
    MetricHandler,
    ReproduceHandler,
    RunHandler,
    RunsHandler,
    StatusHandler,
    UsersHandler,
    XTrackHandler,
)
from .heavy import DiffWorkers
from .models import ModelAliasHandler, ModelHandler, ModelsHandler, RunModelsHandler
from .reader import StoreReader

API_PREFIX = "xtrack/api"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    """One API path, written as in OpenAPI (`/runs/{id}`), and its handler. A parameter
    matches one path segment unless `patterns` gives it another regex."""

    template: str
    handler: type[XTrackHandler]
    patterns: dict[str, str] = field(default_factory=dict)

    def regex(self) -> str:
        """The tornado pattern for the template, one named group per parameter."""
        return re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m.group(1)}>{self.patterns.get(m.group(1), '[^/]+')})",
            self.template,
        )

    def methods(self) -> list[str]:
        """The HTTP methods the handler answers (lower case)."""
        return [m for m in HTTP_METHODS if m in vars(self.handler)]


ROUTES: tuple[Route, ...] = (
    Route("/status", StatusHandler),
    Route("/runs", RunsHandler),
    Route("/runs/{id}", RunHandler),
    Route("/users", UsersHandler),
    Route("/runs/{id}/metrics/{name}", MetricHandler, {"name": ".+"}),
    Route("/runs/{id}/artifacts/{path}", ArtifactHandler, {"path": ".*"}),
    Route("/runs/{id}/previews/{path}", ArtifactPreviewHandler, {"path": ".+"}),
    Route("/runs/{id}/blobs/{hash}", BlobHandler),
    Route("/runs/{id}/reproduce", ReproduceHandler),
    Route("/runs/{id}/git/notebook-diff/{path}", GitNotebookDiffHandler, {"path": ".+"}),
    Route("/compare", CompareHandler),
    Route("/diff", DiffHandler),
    Route("/events", EventsHandler),
    Route("/jobs", JobsHandler),
    Route("/jobs/{id}/cancel", JobCancelHandler),
    Route("/models", ModelsHandler),
    Route("/models/{name}", ModelHandler),
    Route("/models/{name}/aliases/{alias}", ModelAliasHandler),
    Route("/runs/{id}/models", RunModelsHandler),
)


def route_specs(base_url: str, reader: StoreReader, feed: ChangeFeed,
                diffs: DiffWorkers) -> list[tuple[str, type[Any], dict[str, Any]]]:
    """Tornado handler specs for every route under `{base_url}xtrack/api`."""
    kwargs = {"reader": reader, "feed": feed, "diffs": diffs}
    return [
        (url_path_join(base_url, API_PREFIX, route.regex()), route.handler, kwargs)
        for route in ROUTES
    ]
