"""An MLflow request's fields, whether they came as a JSON body (POST, PATCH) or as query
arguments (GET: the client sends the same message's fields there)."""

from __future__ import annotations

from typing import Any

from .errors import invalid
from .validation import whole


class Req:
    """The fields of one request, with MLflow's messages for missing or mistyped ones."""

    def __init__(self, fields: dict[str, Any], size: int = 0, user: str | None = None) -> None:
        self.fields = fields
        self.size = size  # bytes of the body, for log-batch's limit
        self.user = user  # the Jupyter user who sent it (the registry's alias history)

    def text(self, name: str, *alternatives: str) -> str:
        """A required text field (the first of `name`, `alternatives` present)."""
        for key in (name, *alternatives):
            value = self.fields.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value not in (None, ""):
                return str(value)
        raise invalid(
            f"Missing value for required parameter '{name}'. See the API docs for "
            "more information about request parameters."
        )

    def opt(self, name: str) -> str | None:
        value = self.fields.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return None if value is None else str(value)

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.fields.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return whole(value, name, default)

    def items(self, name: str) -> list[Any]:
        """A repeated field: a list in JSON, repeated query arguments in a GET."""
        value = self.fields.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        return value

    def objects(self, name: str) -> list[dict[str, Any]]:
        """A repeated message field: every item must be a JSON object."""
        items = self.items(name)
        if not all(isinstance(item, dict) for item in items):
            raise invalid(f"Invalid value for parameter '{name}': expected a list of objects")
        return items

    def pairs(self, name: str) -> dict[str, str]:
        """A repeated {key, value} field as a mapping."""
        out: dict[str, str] = {}
        for item in self.items(name):
            if not isinstance(item, dict) or "key" not in item:
                raise invalid(
                    f"Invalid value for parameter '{name}': expected a list of "
                    "{key, value} objects"
                )
            out[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
        return out
