"""openapi.yaml and the routes table describe the same API."""

from __future__ import annotations

import re
from typing import Any

from jupyter_xtrack.server.routes import ROUTES


def test_paths_match_the_routes_table(openapi: dict[str, Any]) -> None:
    assert set(openapi["paths"]) == {route.template for route in ROUTES}


def test_methods_match_the_handlers(openapi: dict[str, Any]) -> None:
    for route in ROUTES:
        documented = {m for m in openapi["paths"][route.template] if m != "parameters"}
        assert documented == set(route.methods()), route.template


def test_path_parameters_are_declared(openapi: dict[str, Any]) -> None:
    params = openapi["components"]["parameters"]
    for route in ROUTES:
        spec = openapi["paths"][route.template]
        declared = set()
        for p in spec.get("parameters", []):
            p = params[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
            if p["in"] == "path":
                declared.add(p["name"])
        assert declared == set(re.findall(r"\{(\w+)\}", route.template)), route.template


def test_every_operation_documents_403_and_a_200_schema(openapi: dict[str, Any]) -> None:
    for path, spec in openapi["paths"].items():
        for method, op in spec.items():
            if method == "parameters":
                continue
            assert "403" in op["responses"], (path, method)
            ok = op["responses"]["200"]["content"]
            assert ok, (path, method)


def test_every_schema_reference_resolves(openapi: dict[str, Any]) -> None:
    text = repr(openapi)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in openapi["components"][ref[0]], ref


def test_route_regexes_match_their_templates() -> None:
    for route in ROUTES:
        sample = re.sub(r"\{(\w+)\}", "x", route.template)
        assert re.fullmatch(route.regex(), sample), route.template
    metric = next(r for r in ROUTES if r.template.endswith("{name}"))
    match = re.fullmatch(metric.regex(), "/runs/1/metrics/val/loss")
    assert match and match.group("name") == "val/loss"
