"""One tornado handler for every MLflow path: it authenticates as every xtrack handler does
(Jupyter's token, which MLflow's client sends as `Authorization: Bearer <token>`), finds the
endpoint in routes.py, runs it on a worker thread, and answers JSON; every error, unknown
paths and refused logins included, is MLflow's error JSON."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ...store.errors import UnknownRunError
from ...store.registry import UnknownModelError
from ..handlers import AUTH_RESOURCE
from . import artifacts
from .errors import ENDPOINT_NOT_FOUND, MlflowError, invalid, mlflow_error
from .request import Req
from .routes import find_endpoint
from .service import MlflowService

MLFLOW_PREFIX = "xtrack/mlflow"
TRACKING_PREFIX = "api/2.0/mlflow/"
ARTIFACTS_PREFIX = "api/2.0/mlflow-artifacts/artifacts"
SERVER_INFO = "api/3.0/mlflow/server-info"
_CHUNK = 1 << 20
_LOG = logging.getLogger("jupyter_xtrack.server.mlflow")


class MlflowHandler(APIHandler):
    auth_resource = AUTH_RESOURCE
    service: MlflowService

    def initialize(self, service: MlflowService) -> None:
        self.service = service

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._answer("GET", path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._answer("POST", path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self._answer("PATCH", path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self._answer("PUT", path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._answer("DELETE", path)

    async def _answer(self, method: str, path: str) -> None:
        if path.startswith(ARTIFACTS_PREFIX):
            await self._artifact(method, path[len(ARTIFACTS_PREFIX) :].lstrip("/"))
            return
        if method == "GET" and path == SERVER_INFO:
            self._reply(server_info())
            return
        endpoint = (
            find_endpoint(method, path[len(TRACKING_PREFIX) :])
            if path.startswith(TRACKING_PREFIX)
            else None
        )
        if endpoint is None:
            raise MlflowError(
                ENDPOINT_NOT_FOUND, f"No API endpoint {method} /{path} in xtrack's MLflow API"
            )
        req = self._request(method)
        self._reply(await self._call(endpoint, self.service, req))

    def _request(self, method: str) -> Req:
        user = getattr(self.current_user, "username", None)
        if method == "GET":
            fields: dict[str, Any] = {}
            for name, values in self.request.query_arguments.items():
                texts = [v.decode("utf-8", "replace") for v in values]
                fields[name] = texts if len(texts) > 1 else texts[0]
            return Req(fields, user=user)
        body = self.request.body or b"{}"
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise invalid("The request body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise invalid("The request body must be a JSON object")
        return Req(parsed, len(body), user)

    async def _call(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.service.executor, lambda: fn(*args))

    async def _artifact(self, method: str, path: str) -> None:
        store = self.service.store
        if method == "PUT":
            attach = await self._call(
                artifacts.upload,
                store(),
                path,
                self.request.body,
                self.request.headers.get("Content-Type"),
            )
            await asyncio.wrap_future(self.service.writer.submit(attach))
            self._reply({})
        elif method == "GET" and path == "":
            req = self._request("GET")
            self._reply(
                {"files": await self._call(self.service.list_proxied, req.opt("path") or "")}
            )
        elif method == "GET":
            blob, media = await self._call(artifacts.blob_of, store(), path)
            await self._send(blob, media)
        else:
            raise MlflowError(
                ENDPOINT_NOT_FOUND, f"xtrack's MLflow API does not {method} artifacts"
            )

    async def _send(self, blob: Any, media: str) -> None:
        self.set_header("Content-Type", media)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Disposition", "attachment")
        with open(blob, "rb") as fh:
            while chunk := await self._call(fh.read, _CHUNK):
                self.write(chunk)
                await self.flush()
        await self.finish()

    def _reply(self, payload: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, web.HTTPError) or exc is None:
            code = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: ENDPOINT_NOT_FOUND}.get(
                status_code, "BAD_REQUEST"
            )
            status, body = status_code, {"error_code": code, "message": self._reason or "refused"}
        else:
            status, body = mlflow_error(exc)
        self.set_status(status)
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MlflowError | web.HTTPError | UnknownModelError | UnknownRunError):
            _LOG.info("%s %s -> %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)


def server_info() -> dict[str, Any]:
    """What MLflow's client asks the server before it uploads (no multipart uploads or
    downloads here, no workspaces)."""
    return {
        "store_type": None,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {},
    }


def mlflow_route_specs(
    base_url: str, service: MlflowService
) -> list[tuple[str, type[Any], dict[str, Any]]]:
    """The tornado spec that sends every path under `{base_url}xtrack/mlflow/` to the
    MLflow handler (an unknown one answers ENDPOINT_NOT_FOUND as JSON, never HTML)."""
    return [
        (
            url_path_join(base_url, MLFLOW_PREFIX, "(?P<path>.*)"),
            MlflowHandler,
            {"service": service},
        )
    ]
