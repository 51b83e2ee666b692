"""schemathesis against openapi.yaml on a real server (pytest-jupyter's) and a real store:
requests generated from the schema, valid and invalid, get no 5xx and answers that match
the schema. Bounded and derandomized; XTRACK_FUZZ_EXAMPLES raises the count."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from .conftest import API, OPENAPI_PATH, Populated

EXAMPLES = int(os.environ.get("XTRACK_FUZZ_EXAMPLES", "400"))


def operation_strategies(schema: Any, populated: Populated) -> Any:
    """Cases for every operation in both generation modes; the long poll gets timeout=0
    so that no case waits 25 s."""
    from schemathesis import GenerationMode

    strategies = []
    for result in schema.get_all_operations():
        operation = result.ok()
        query = {"timeout": 0} if operation.path == "/events" else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(generation_mode=mode, query=query))
    # Real run references too, so that cases reach past the lookup.
    refs = st.sampled_from(["1", "2", "3", populated.ids["a"], populated.ids["b"][:8]])
    return st.one_of(strategies), refs


async def test_no_request_from_the_schema_gets_a_server_error(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str,
    populated: Populated,
) -> None:
    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    cases, refs = operation_strategies(schema, populated)
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}{API}"
    headers = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases, ref=refs, use_ref=st.booleans())
    def fuzz(case: Any, ref: str, use_ref: bool) -> None:
        if use_ref and case.path_parameters and "id" in case.path_parameters:
            case.path_parameters["id"] = ref
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        case.validate_response(response, checks=checks)

    # The server runs on this thread's event loop: fuzz from another thread.
    await asyncio.get_running_loop().run_in_executor(None, fuzz)
