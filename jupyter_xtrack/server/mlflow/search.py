"""MLflow's `search_runs` filter and order_by strings translated into xtrack's filter
language (store/query.py), so the store does the searching in SQL.

MLflow's grammar: comparisons joined by AND, each `<entity>.<key> <op> <value>` where the
entity is metrics, params, tags or attributes (and their short forms), the key bare or
quoted with backticks or double quotes, the op one of = != < <= > >= LIKE ILIKE IN NOT IN,
the value a number, a quoted string, or a parenthesised list of strings. Params are text in
MLflow; xtrack keeps a numeric-looking one as a number (mapping.param_to_store), so a
param compared with text matches either form.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import invalid
from .mapping import PARENT_TAG, RUN_NAME_TAG, TO_MLFLOW_STATUS, USER_TAG, param_to_store

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_ATTRIBUTES = {
    "status": "status",
    "run_name": "name",
    "start_time": "started_at",
    "end_time": "ended_at",
    "run_id": "id",
    "created": "started_at",
    "Created": "started_at",
}
_TIME_FIELDS = ("started_at", "ended_at")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<field>[A-Za-z_]+\.(?:`[^`]*`|"[^"]*"|[^\s=!<>()]+)|[A-Za-z_]+(?=\s*(?:[=!<>]|
                 (?i:not\s+)?(?i:like|ilike|in)\b)))
    | (?P<op>!=|>=|<=|=|<|>|(?i:not\s+in|in|not\s+like|like|not\s+ilike|ilike)\b)
    | (?P<and>(?i:and)\b)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Cmp:
    entity: str
    key: str
    op: str
    value: str | float | list[str]


def translate_filter(text: str | None) -> str | None:
    """The xtrack filter for MLflow filter string `text` (None for none);
    INVALID_PARAMETER_VALUE, naming the problem, when it cannot be read."""
    if not text or not text.strip():
        return None
    return " and ".join(f"({_translate(cmp)})" for cmp in parse_filter(text))


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise invalid(f"Invalid filter '{text}': cannot read it at position {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_filter(text: str) -> list[Cmp]:
    """MLflow filter `text` as comparisons joined by AND (the registry endpoints match
    them themselves)."""
    tokens = _tokens(text)
    comparisons: list[Cmp] = []
    i = 0
    while i < len(tokens):
        if len(tokens) < i + 3 or tokens[i][0] != "field" or tokens[i + 1][0] != "op":
            raise invalid(f"Invalid filter '{text}': expected <entity>.<key> <op> <value>")
        entity, key = _field(tokens[i][1])
        op = " ".join(tokens[i + 1][1].upper().split())
        value, i = _value(tokens, i + 2, text)
        comparisons.append(Cmp(entity, key, op, value))
        if i < len(tokens):
            if tokens[i][0] != "and":
                raise invalid(f"Invalid filter '{text}': comparisons are joined by AND only")
            i += 1
    return comparisons


def _field(text: str) -> tuple[str, str]:
    head, _, key = text.partition(".")
    if not key:
        head, key = "attributes", head
    entity = _ENTITIES.get(head.lower())
    if entity is None:
        raise invalid(f"Invalid entity type '{head}': use metrics, params, tags or attributes")
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = key[1:-1]
    return entity, key


def _value(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[str | float | list[str], int]:
    kind, raw = tokens[i]
    if kind == "str":
        return _unquote(raw), i + 1
    if kind == "num":
        return float(raw), i + 1
    if raw == "(":
        items: list[str] = []
        i += 1
        while i < len(tokens) and tokens[i][1] != ")":
            if tokens[i][0] == "str":
                items.append(_unquote(tokens[i][1]))
            elif tokens[i][1] != ",":
                raise invalid(f"Invalid filter '{text}': IN takes a list of quoted strings")
            i += 1
        return items, i + 1
    raise invalid(f"Invalid filter '{text}': expected a value, found {raw!r}")


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _translate(cmp: Cmp) -> str:
    if cmp.entity == "metrics":
        if not isinstance(cmp.value, float) or cmp.op not in ("=", "!=", "<", "<=", ">", ">="):
            raise invalid(f"metrics.{cmp.key}: metrics compare with numbers (= != < <= > >=)")
        return f"metrics.{_key(cmp.key)} {cmp.op} {cmp.value!r}"
    if cmp.entity == "params":
        return _text_cmp(f"params.{_key(cmp.key)}", cmp, numeric_too=True)
    if cmp.entity == "tags":
        special = {RUN_NAME_TAG: "name", PARENT_TAG: "parent_id"}.get(cmp.key)
        return _text_cmp(special or f"tags.{_key(cmp.key)}", cmp)
    return _attribute(cmp)


def _attribute(cmp: Cmp) -> str:
    if cmp.key == "user_id":
        return _text_cmp(f"tags.{_key(USER_TAG)}", cmp)
    column = _ATTRIBUTES.get(cmp.key)
    if column is None:
        raise invalid(
            f"Invalid attribute key '{cmp.key}': use one of "
            f"{', '.join(sorted(set(_ATTRIBUTES) | {'user_id'}))}"
        )
    if column in _TIME_FIELDS:
        if not isinstance(cmp.value, float):
            raise invalid(f"attributes.{cmp.key} compares with milliseconds since the epoch")
        return f"{column} {cmp.op} {cmp.value / 1000.0!r}"
    if column == "status":
        return _status(cmp)
    return _text_cmp(column, cmp)


def _status(cmp: Cmp) -> str:
    wanted = cmp.value if isinstance(cmp.value, list) else [str(cmp.value)]
    mapped = [s for s, m in TO_MLFLOW_STATUS.items() if m in {w.upper() for w in wanted}]
    if cmp.op in ("=", "IN"):
        return f"status in ({_literals(mapped)})" if mapped else "number < 0"
    if cmp.op in ("!=", "NOT IN"):
        return f"status not in ({_literals(mapped)})" if mapped else "number > 0"
    raise invalid("attributes.status compares with =, !=, IN or NOT IN")


def _text_cmp(field: str, cmp: Cmp, *, numeric_too: bool = False) -> str:
    op, value = cmp.op, cmp.value
    if isinstance(value, list):
        if op not in ("IN", "NOT IN"):
            raise invalid(f"{field}: a list of values goes with IN or NOT IN")
        return f"{field} {op.lower()} ({_literals(value)})"
    if isinstance(value, float):
        raise invalid(f"{field}: compare it with a quoted string")
    if op in ("=", "!="):
        forms = [_literal(value)]
        stored = param_to_store(value) if numeric_too else value
        if not isinstance(stored, str):
            forms.append(json.dumps(stored))
        joined = (" or " if op == "=" else " and ").join(f"{field} {op} {f}" for f in forms)
        return joined
    if op in ("LIKE", "NOT LIKE"):
        glob = value.replace("%", "*").replace("_", "?")
        if not set(glob) & set("*?"):
            base = f"{field} = {_literal(value)}"
        else:
            base = f"{field} ~ {_literal(glob)}"
        return base if op == "LIKE" else f"{field} != null and not ({base})"
    if op in ("ILIKE", "NOT ILIKE"):
        inner = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "%" else None
        if inner is None or set(inner) & set("%_*?"):
            raise invalid(
                f"{field}: ILIKE takes '%text%' here (contains, ignoring case); "
                "use LIKE for other patterns"
            )
        base = f"{field} ~ {_literal(inner)}"
        return base if op == "ILIKE" else f"{field} != null and not ({base})"
    raise invalid(f"{field}: text compares with = != LIKE ILIKE IN NOT IN, not {op}")


def _key(key: str) -> str:
    return "`" + key.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literals(values: Sequence[str]) -> str:
    return ", ".join(_literal(v) for v in values)


def translate_order(clauses: Sequence[str]) -> list[str]:
    """MLflow order_by clauses ("metrics.acc DESC", "attributes.start_time") in xtrack's
    order language; the newest run first when none is given, as MLflow does."""
    out: list[str] = []
    for clause in clauses:
        parts = clause.strip().rsplit(None, 1)
        direction = "asc"
        if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
            direction = parts[1].lower()
            clause = parts[0]
        entity, key = _field(clause.strip())
        if entity == "attributes":
            column = _ATTRIBUTES.get(key)
            if column is None:
                raise invalid(f"Invalid order_by attribute '{key}'")
            out.append(f"{column} {direction}")
        else:
            out.append(f"{entity}.{_key(key)} {direction}")
    return out or ["started_at desc"]


def page_offset(token: str | None) -> int:
    """The offset a page token (from `page_token`) stands for; 0 for none."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid(f"Invalid page token {token!r:.60}") from None
    if not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token {token!r:.60}")
    return offset


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
