"""MLflow's errors: a JSON body `{"error_code": ..., "message": ...}` and the HTTP status
MLflow's server gives each code (the client turns the code back into its exception, and
`mlflow.set_experiment` relies on RESOURCE_DOES_NOT_EXIST to create a missing experiment)."""

from __future__ import annotations

from typing import Any

from ...store.errors import FilterError, StoreError, UnknownRunError
from ...store.registry import UnknownModelError

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
INVALID_STATE = "INVALID_STATE"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"

HTTP_STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    INVALID_STATE: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    RESOURCE_ALREADY_EXISTS: 400,
    TEMPORARILY_UNAVAILABLE: 503,
    INTERNAL_ERROR: 500,
}


class MlflowError(Exception):
    """A request refused in MLflow's terms: its error code and a message naming the fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)


def invalid(message: str) -> MlflowError:
    """INVALID_PARAMETER_VALUE (400), the answer to every malformed request."""
    return MlflowError(INVALID_PARAMETER_VALUE, message)


def missing(message: str) -> MlflowError:
    """RESOURCE_DOES_NOT_EXIST (404)."""
    return MlflowError(RESOURCE_DOES_NOT_EXIST, message)


def mlflow_error(exc: BaseException | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, MLflow error body) for any exception a handler raised."""
    if isinstance(exc, MlflowError):
        err = exc
    elif isinstance(exc, UnknownRunError | UnknownModelError):
        err = missing(str(exc))
    elif isinstance(exc, FilterError):
        err = invalid(str(exc))
    elif isinstance(exc, StoreError):
        err = MlflowError(TEMPORARILY_UNAVAILABLE, str(exc))
    else:
        err = MlflowError(
            INTERNAL_ERROR, "internal error in xtrack's MLflow API; see the server log"
        )
    return err.status, {"error_code": err.code, "message": str(err)}
