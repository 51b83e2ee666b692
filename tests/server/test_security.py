"""Security is part of the feature: authentication on every route, XSRF and JSON-only
writes, no wildcard CORS, paths that cannot leave the store, inert downloads, no
unpickling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from jupyter_xtrack.server.handlers import AUTH_RESOURCE
from jupyter_xtrack.server.routes import ROUTES
from jupyter_xtrack.store import open_store

from .conftest import API, Populated

SAMPLE = {"id": "1", "name": "loss", "path": "figure-1.png", "alias": "champion",
          "hash": "xxh3_128:" + "0" * 32}
SERVER_DIR = Path(__file__).resolve().parents[2] / "jupyter_xtrack" / "server"


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], template)


def every_route_call() -> list[tuple[str, str]]:
    return [(route.template, method) for route in ROUTES for method in route.methods()]


async def raw(client: Any, base: str, path: str, method: str = "GET", **kw: Any) -> Any:
    """A request with no token and no cookie unless given."""
    if method in ("PATCH", "POST", "PUT") and "body" not in kw:
        kw["body"] = "{}"
        kw.setdefault("headers", {})["Content-Type"] = "application/json"
    return await client.fetch(f"{base}{API}{path}", method=method, raise_error=False, **kw)


@pytest.mark.parametrize("template, method", every_route_call())
async def test_every_route_is_403_without_token(
    http_server_client: Any, jp_base_url: str, template: str, method: str
) -> None:
    resp = await raw(http_server_client, jp_base_url, concrete(template), method.upper())
    assert resp.code == 403, (template, method, resp.code)


def test_every_handler_declares_the_auth_resource_and_decorators() -> None:
    for route in ROUTES:
        assert route.handler.auth_resource == AUTH_RESOURCE == "xtrack"
        for method in route.methods():
            fn = getattr(route.handler, method)
            # tornado.web.authenticated and jupyter_server's authorized both wrap (functools).
            assert hasattr(fn, "__wrapped__") and hasattr(fn.__wrapped__, "__wrapped__"), (
                f"{route.handler.__name__}.{method} is not under @authenticated @authorized")


async def test_token_in_header_is_accepted(jp_fetch: Any) -> None:
    resp = await jp_fetch(*API.split("/"), "status")
    assert resp.code == 200


def every_write_call() -> list[tuple[str, str]]:
    return [(t, m) for t, m in every_route_call() if m != "get"]


def test_the_write_routes_are_known() -> None:
    # A new write route must be added to the parametrised checks below by existing here.
    assert every_write_call() == [("/runs/{id}", "patch"), ("/runs/{id}/reproduce", "post"),
                                  ("/jobs/{id}/cancel", "post"), ("/models", "post"),
                                  ("/models/{name}/aliases/{alias}", "put"),
                                  ("/models/{name}/aliases/{alias}", "delete")]


# A DELETE carries no body (its reason is a query parameter), and no form can send one
# across origins; the XSRF check below covers it like every other write.
@pytest.mark.parametrize("template, method", [c for c in every_write_call() if c[1] != "delete"])
async def test_state_change_needs_json_content_type(
    jp_fetch: Any, template: str, method: str
) -> None:
    from tornado.httpclient import HTTPClientError

    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*API.split("/"), *concrete(template).strip("/").split("/"),
                           method=method.upper(), body='{"name": "x"}',
                           headers={"Content-Type": ctype})
        # tornado itself refuses a multipart body without a boundary (400).
        assert info.value.code == (415 if "multipart" not in ctype else 400), ctype


async def test_cookie_session_write_needs_xsrf(
    http_server_client: Any, jp_base_url: str, jp_serverapp: Any
) -> None:
    token = jp_serverapp.identity_provider.token
    # A token in the URL logs the browser in: the server sets its login cookie.
    cookies = await login_cookies(http_server_client, jp_base_url, token)
    assert cookies, "token login set no cookie"
    jar = SimpleCookie()
    # Reads with the cookie alone work...
    read = await raw(http_server_client, jp_base_url, "/status", headers={"Cookie": cookies})
    assert read.code == 200
    body = json.dumps({"name": "renamed"})
    # ...a write with the cookie but without the XSRF token is refused...
    refused = await raw(http_server_client, jp_base_url, "/runs/1", "PATCH", body=body,
                        headers={"Cookie": cookies, "Content-Type": "application/json"})
    assert refused.code == 403
    for template, method in every_write_call():
        body_kw = {} if method == "delete" else {"body": "{}"}
        other = await raw(http_server_client, jp_base_url, concrete(template), method.upper(),
                          headers={"Cookie": cookies, "Content-Type": "application/json"},
                          **body_kw)
        assert other.code == 403, (template, other.code)
    # ...and accepted with a matching _xsrf cookie and X-XSRFToken header.
    xsrf = "2|deadbeef|" + "0" * 32 + "|1700000000"
    page = await raw(http_server_client, jp_base_url, "/status", headers={"Cookie": cookies})
    for header in page.headers.get_list("Set-Cookie"):
        jar.load(header)
    xsrf = jar["_xsrf"].value if "_xsrf" in jar else xsrf
    ok = await raw(http_server_client, jp_base_url, "/runs/1", "PATCH", body=body,
                   headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf,
                            "Content-Type": "application/json"})
    assert ok.code == 200, ok.body
    with open_store(jp_serverapp.config.XTrack.store) as store:
        assert store.get_run(1)["name"] == "renamed"


async def login_cookies(client: Any, base: str, token: str) -> str:
    resp = await raw(client, base, f"/status?token={token}")
    jar = SimpleCookie()
    for header in resp.headers.get_list("Set-Cookie"):
        jar.load(header)
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())


async def test_no_wildcard_cors(http_server_client: Any, jp_base_url: str,
                                jp_serverapp: Any) -> None:
    token = jp_serverapp.identity_provider.token
    evil = "http://evil.example"
    # A logged-in browser tab on another site cannot read or write through the cookie.
    cookies = await login_cookies(http_server_client, jp_base_url, token)
    read = await raw(http_server_client, jp_base_url, "/runs",
                     headers={"Cookie": cookies, "Origin": evil})
    assert read.code >= 400 and b"run-a" not in read.body
    assert "Access-Control-Allow-Origin" not in read.headers
    write = await raw(http_server_client, jp_base_url, "/runs/1", "PATCH", body='{"name":"x"}',
                      headers={"Cookie": cookies, "Origin": evil,
                               "Content-Type": "application/json"})
    assert write.code >= 400
    pre = await raw(http_server_client, jp_base_url, "/runs/1", "OPTIONS",
                    headers={"Origin": evil, "Access-Control-Request-Method": "PATCH"})
    assert pre.headers.get("Access-Control-Allow-Origin", "") in ("", None)
    # Never a wildcard, whatever the request (Jupyter echoes the origin only for requests
    # that carry the token itself, which another site cannot have).
    for headers in ({"Authorization": f"token {token}"},
                    {"Authorization": f"token {token}", "Origin": evil}):
        resp = await raw(http_server_client, jp_base_url, "/runs", headers=headers)
        assert resp.headers.get("Access-Control-Allow-Origin") != "*"


def test_extension_sets_no_cors_headers_itself() -> None:
    for path in SERVER_DIR.glob("*.py"):
        assert "Access-Control" not in path.read_text(), path.name


BAD_NAMES = [
    "..%2F..%2Fxtrack.db",  # encoded slashes and dots
    "%2e%2e/%2e%2e/xtrack.db",  # encoded dots
    "../../xtrack.db",  # plain
    "%2Fetc%2Fpasswd",  # absolute
    "plots%5C..%5C..%5Cxtrack.db",  # backslashes
    "C:%5Cwindows",  # drive
    "figure-1.png%23.html",  # fragment smuggled in
    "figure-1.png%3Fx=..%2F..",  # query smuggled in
    "figure-1.png%00.html",  # NUL
    "plots/./roc.png",  # dot segment
]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_artifact_paths_cannot_leave_the_store(
    http_server_client: Any, jp_base_url: str, jp_serverapp: Any, name: str
) -> None:
    token = jp_serverapp.identity_provider.token
    resp = await raw(http_server_client, jp_base_url, f"/runs/1/artifacts/{name}",
                     headers={"Authorization": f"token {token}"})
    assert 400 <= resp.code < 500, (name, resp.code)
    assert b"SQLite" not in resp.body and b"root:" not in resp.body


@pytest.mark.parametrize("name", ["..%2F..%2Fxtrack.db", "xxh3_128%3A..%2F..%2Fxtrack.db"])
async def test_blob_paths_cannot_leave_the_store(
    http_server_client: Any, jp_base_url: str, jp_serverapp: Any, name: str
) -> None:
    token = jp_serverapp.identity_provider.token
    resp = await raw(http_server_client, jp_base_url, f"/runs/1/blobs/{name}",
                     headers={"Authorization": f"token {token}"})
    assert 400 <= resp.code < 500 and b"SQLite" not in resp.body


async def test_symlink_out_of_the_store_is_refused(
    jp_fetch: Any, populated: Populated, tmp_path: Path
) -> None:
    from tornado.httpclient import HTTPClientError

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    with open_store(populated.root) as store:
        art = next(a for a in store.artifacts(populated.ids["a"]) if a["name"] == "notes.txt")
        blob = store.blob_path(art["hash"])
    blob.unlink()
    blob.symlink_to(secret)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), "runs", "1", "artifacts", "notes.txt")
    assert info.value.code == 403
    assert info.value.response is not None and b"top secret" not in info.value.response.body


@pytest.mark.parametrize(
    "name, media", [("report.html", "text/html"), ("chart.svg", "image/svg+xml"),
                    ("run.ipynb", "application/x-ipynb+json"),
                    ("model.pkl", "application/octet-stream")],
)
async def test_active_content_is_an_inert_attachment(jp_fetch: Any, name: str,
                                                     media: str) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", "1", "artifacts", name)
    assert resp.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{quote(name)}"
    assert resp.headers["Content-Type"].split(";")[0] == media
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in [d.strip() for d in resp.headers["Content-Security-Policy"].split(";")]


async def test_images_are_inline_but_still_sandboxed(jp_fetch: Any) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", "1", "artifacts", "figure-1.png")
    assert resp.headers["Content-Disposition"].startswith("inline")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


async def test_pickles_are_served_as_bytes_never_loaded(jp_fetch: Any,
                                                        populated: Populated) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", "1", "artifacts", "model.pkl")
    assert resp.body.startswith(b"\x80")  # the pickle's own bytes
    await jp_fetch(*API.split("/"), "runs", "1")
    await jp_fetch(*API.split("/"), "compare", params={"ids": "1,2"})
    assert not populated.pickle_marker.exists()


def test_server_code_has_no_unpickling_calls() -> None:
    banned = re.compile(r"\b(pickle|cPickle|dill|cloudpickle|joblib|shelve|marshal)\b|"
                        r"torch\.load|allow_pickle\s*=\s*True|yaml\.load\(|\beval\(|\bexec\(")
    for path in SERVER_DIR.glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not banned.search(line), f"{path.name}:{number}: {line.strip()}"


def test_server_never_imports_capture_or_ipython(populated: Populated) -> None:
    code = f"""
import sys
from pathlib import Path
from jupyter_xtrack.server.reader import StoreReader
from jupyter_xtrack.server import routes
r = StoreReader(Path({str(populated.root)!r}))
r.page(None, None, 0, 10, None); r.run("1"); r.compare(["1", "2"], ["loss"], 10)
job = r.diff_job("1", "2", "notebook"); r.metric("1", "loss", 100)
from jupyter_xtrack.server.diff_worker import compute
assert compute({{"names": list(job.names)}}, list(job.sides))[0]["ok"]  # the worker's side
bad = [m for m in sys.modules if m.startswith(("IPython", "jupyter_xtrack.capture",
       "jupyter_xtrack.kernel", "jupyter_xtrack.views", "jupyter_xtrack.tracking", "ipykernel"))]
print(bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.strip() == "[]"
