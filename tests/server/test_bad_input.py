"""Bad input is a 400 that names the limit, never a 500 or 503."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_xtrack.store.query import (
    INT64_MAX,
    MAX_COMPARISONS,
    MAX_DEPTH,
    MAX_FILTER_CHARS,
    MAX_ORDER_FIELDS,
)

from .test_endpoints import error_of

C = "params.lr > 0"
TOO_BIG = "99999999999999999999999"

FILTER_LIMITS = [
    ("(" * 260 + C + ")" * 260, "depth"),  # 500 (RecursionError) before
    ("not " * 2000 + C, "depth"),  # 500 before
    ("not " * 400 + C, "depth"),  # 503 before (SQLite parser stack)
    (" and ".join([C] * 1500), "length"),  # 503 before (expression depth)
    ("params.lr = 99999999999999999999999999", "integer range"),  # 500 (OverflowError)
]


@pytest.mark.parametrize(("text", "limit"), FILTER_LIMITS)
async def test_filters_past_a_limit_are_400(
    jp_fetch: Any, check_schema: Any, text: str, limit: str
) -> None:
    code, body = await error_of(jp_fetch, "runs", params={"filter": text})
    assert code == 400, body
    check_schema("Error", body)
    assert body["reason"] == "filter" and body["limit"] == limit
    assert body["filter"] == text[:MAX_FILTER_CHARS] and 0 <= body["position"] <= len(text)
    assert f"(column {body['position'] + 1})" in body["message"]


async def test_order_by_past_the_limit_is_400(jp_fetch: Any, check_schema: Any) -> None:
    fields = ",".join(f"params.k{i} desc" for i in range(70))
    code, body = await error_of(jp_fetch, "runs", params={"order_by": fields})  # 503 before
    assert code == 400 and body["limit"] == "order_by fields", body
    assert str(MAX_ORDER_FIELDS) in body["message"]
    check_schema("Error", body)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (("runs",), {"offset": str(INT64_MAX + 1)}),  # 500 (OverflowError) before
        (("runs",), {"limit": "9" * 30}),
        (("runs",), {"offset": "9" * 5000}),
        (("runs", TOO_BIG), {}),  # 500 before
        (("runs", "#" + TOO_BIG), {}),
        (("runs", TOO_BIG, "metrics", "loss"), {}),
        (("runs", TOO_BIG, "artifacts", "figure-1.png"), {}),
        (("runs", TOO_BIG, "blobs", "xxh3_128:" + "0" * 32), {}),
        (("compare",), {"ids": f"1,{TOO_BIG}"}),
        (("diff",), {"a": "1", "b": TOO_BIG}),
        (("compare",), {"ids": "1,2", "max_points": str(INT64_MAX + 1)}),
        (("events",), {"cursor": str(INT64_MAX + 1), "timeout": "0"}),
        (("jobs",), {"limit": str(INT64_MAX + 1)}),
    ],
)
async def test_numbers_out_of_64_bit_range_are_400(
    jp_fetch: Any, check_schema: Any, path: tuple[str, ...], params: dict[str, str]
) -> None:
    code, body = await error_of(jp_fetch, *path, params=params)
    assert code == 400, body
    check_schema("Error", body)
    assert str(INT64_MAX) in body["message"]


async def test_numbers_at_the_edge_are_answered(api: Any, jp_fetch: Any) -> None:
    page = await api("runs", "RunPage", offset=str(INT64_MAX), limit="5")
    assert page["runs"] == [] and page["total"] == 4
    page = await api("runs", "RunPage", offset="0" * 5000 + "3", limit="5")  # leading zeros
    assert page["offset"] == 3 and len(page["runs"]) == 1
    code, body = await error_of(jp_fetch, "runs", params={"offset": "+-3"})
    assert code == 400 and "whole number" in body["message"]
    code, body = await error_of(jp_fetch, "runs", str(INT64_MAX))
    assert code == 404 and body["reason"] == "unknown_run"
    page = await api("runs", "RunPage", filter="(" * MAX_DEPTH + C + ")" * MAX_DEPTH)
    assert page["total"] == 3


def test_openapi_documents_the_limits_in_force(openapi: dict[str, Any]) -> None:
    params = {p["name"]: p for p in openapi["paths"]["/runs"]["get"]["parameters"]}
    text = params["filter"]["description"]
    for number in (f"{MAX_FILTER_CHARS:,}", str(MAX_COMPARISONS), f"{MAX_DEPTH} deep"):
        assert number in text, number
    assert f"At most {MAX_ORDER_FIELDS} fields" in params["order_by"]["description"]
    assert params["offset"]["schema"]["maximum"] == INT64_MAX


async def test_a_body_that_is_not_utf8_is_400(jp_fetch: Any) -> None:
    # Found by schemathesis: Jupyter's get_json_body let UnicodeDecodeError out (a 500).
    for path in (("runs", "1"), ("jobs", "1", "cancel")):
        code, body = await error_of(
            jp_fetch, *path, method="PATCH" if path[0] == "runs" else "POST",
            body=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"},
        )
        assert code == 400 and "UTF-8" in body["message"], body
