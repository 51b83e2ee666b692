"""The run filter language, compiled to parameterised SQL (values are never pasted in).

    metrics.acc > 0.9 and params.optimizer = 'adam'
    status in ('failed', 'crashed') or tags.note ~ 'retry'
    not (params.lr >= 0.01) and started_at > '2026-11-01'
    params.`my-lr` != null and name ~ 'resnet*'

Fields
    params.<key>  metrics.<key>  tags.<key>   a run's params, last metric values, tags.
                  Keys run to the end of the word and may hold dots and slashes
                  (params.optim.lr, metrics.val/loss); quote any other key with
                  backticks: params.`my-lr`.
    status name experiment kind notebook_path cell_id host user id parent_id
    git.commit git.branch git.dirty number started_at ended_at duration_s

Comparisons
    =  !=  <  <=  >  >=     numbers compare numerically, strings as strings; a number
                            never equals a string (params.seed = '1' does not match 1)
    ~ 'text'                contains text, ignoring case; with * or ? in it, a glob
                            matched against the whole value, case-sensitive
    in (v, ...)   not in (v, ...)
    = null   != null        the key is missing (or NaN) / present

    A comparison on params/metrics/tags only matches runs that have that key:
    `params.lr != 0.1` skips runs without lr; `not (params.lr = 0.1)` includes them.

Values
    numbers (3, -1.5, 1e-4), 'single' or "double" quoted strings (backslash escapes
    the quote), true, false (equal to 1 and 0), null. started_at and ended_at also take
    ISO dates and times ('2026-11-01', '2026-11-01T09:30'), read as UTC unless they
    carry an offset.

Combine with `and`, `or`, `not` and parentheses; `not` binds tightest, then `and`,
then `or`. Keywords are case-insensitive.

Plain words
    text ~ 'mlp'            the text of a run contains 'mlp' (ignoring case): its name,
                            experiment, notebook path, kind, a text param's value, or a
                            tag's key or value (`xtrack.*` bookkeeping tags left out).
    mlp   resnet-50 adam    text without operators, quotes or parentheses, none of whose
                            words is a field or a keyword, is short for
                            text ~ 'mlp' and ...: every word must appear. `metrics.acc`
                            alone stays a filter, so its error says what is missing.

Ordering (`order_by`) takes the same fields, each optionally followed by `asc` or
`desc` (default asc): "metrics.acc desc", ["params.lr", "started_at desc"]. Runs
missing the value sort last either way.

Limits (FilterLimitError, a FilterError, past them): a filter is at most
MAX_FILTER_CHARS characters, holds at most MAX_COMPARISONS comparisons, and nests
parentheses and `not`s at most MAX_DEPTH deep; integers lie in the 64-bit signed range
(write 1e30 to compare with a larger number); `order_by` has at most MAX_ORDER_FIELDS
fields. SQLite refuses deeper expressions and wider joins (or worse: ordering by 32+
joined fields crashes SQLite 3.40), so the limits are checked before any SQL runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..facts import STATUSES
from .dialect import glob_to_regex
from .errors import FilterError, FilterLimitError

MAX_FILTER_CHARS = 10_000
MAX_DEPTH = 16
MAX_COMPARISONS = 256
MAX_ORDER_FIELDS = 16
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

RUN_STATUSES = STATUSES  # the schema's list (jupyter_xtrack.facts)

NAMESPACES = ("params", "metrics", "tags")

# Filter name -> (runs column, type, nullable). "text" columns compare as strings,
# "real" as numbers; "time" columns are numbers that also take ISO dates.
BASE_FIELDS: dict[str, tuple[str, str, bool]] = {
    "id": ("id", "text", False),
    "number": ("number", "real", False),
    "name": ("name", "text", True),
    "experiment": ("experiment", "text", False),
    "status": ("status", "text", False),
    "kind": ("kind", "text", False),
    "notebook_path": ("notebook_path", "text", True),
    "cell_id": ("cell_id", "text", True),
    "host": ("host", "text", True),
    "user": ("user_name", "text", True),
    "parent_id": ("parent_id", "text", True),
    "started_at": ("started_at", "time", False),
    "ended_at": ("ended_at", "time", True),
    "duration_s": ("duration_s", "real", True),
    "git.commit": ("git_commit", "text", True),
    "git.branch": ("git_branch", "text", True),
    "git.dirty": ("git_dirty", "real", True),
}

_NS_TABLE = {"params": "params", "metrics": "metrics", "tags": "tags"}
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "asc", "desc"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_./]*(?:`(?:[^`]|``)*`)?)
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<op>==|!=|<>|<=|>=|=|<|>|~)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, word, op, punct, end
    text: str
    pos: int
    value: Any = None


@dataclass(frozen=True)
class FieldRef:
    """A resolved field: a namespace key (params/metrics/tags) or a runs column."""

    name: str
    namespace: str | None = None
    key: str = ""
    column: str = ""
    type: str = "text"
    nullable: bool = True


@dataclass(frozen=True)
class _Expr:
    """A compiled boolean expression: an SQL atom, or and/or/not over parts. Kept as a
    tree so that the SQL comes out flat (SQLite's parser stack is small)."""

    op: str  # atom, and, or, not
    sql: str = ""
    parts: tuple[_Expr, ...] = ()


def _atom(sql: str) -> _Expr:
    return _Expr("atom", sql)


def _combine(op: str, parts: list[_Expr]) -> _Expr:
    flat: list[_Expr] = []
    for part in parts:
        flat.extend(part.parts if part.op == op else (part,))
    return flat[0] if len(flat) == 1 else _Expr(op, parts=tuple(flat))


def _negate(expr: _Expr) -> _Expr:
    # NOT NOT x is x in SQL's three-valued logic too.
    return expr.parts[0] if expr.op == "not" else _Expr("not", parts=(expr,))


def _to_sql(expr: _Expr) -> str:
    """SQL with parentheses only where precedence needs them (NOT > AND > OR)."""
    if expr.op == "atom":
        return expr.sql
    if expr.op == "not":
        inner = expr.parts[0]
        return "NOT " + (_to_sql(inner) if inner.op == "atom" else f"({_to_sql(inner)})")
    if expr.op == "and":
        return " AND ".join(f"({_to_sql(p)})" if p.op == "or" else _to_sql(p) for p in expr.parts)
    return " OR ".join(_to_sql(p) for p in expr.parts)


@dataclass
class Compiled:
    """SQL for a WHERE clause (over runs aliased `r`) and its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


def tokenize(text: str) -> list[Token]:
    """The filter's tokens, ending with an `end` token; FilterError on a stray character,
    FilterLimitError on an integer outside the 64-bit signed range."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = " (strings need a closing quote)" if ch in "'\"`" else ""
            raise FilterError(f"unexpected character {ch!r}{hint}", text=text, position=pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "num":
            tokens.append(Token("num", raw, pos, _number(raw, text, pos)))
        elif kind == "str":
            tokens.append(Token("str", raw, pos, re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind in ("word", "bq"):
            tokens.append(Token("word", raw, pos, _unquote_word(raw)))
        elif kind != "ws":
            tokens.append(Token(kind, raw, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(raw: str, text: str, pos: int) -> int | float:
    if not raw.lstrip("+-").isdigit():
        return float(raw)
    # Leading zeros do not count; checking the length first keeps int() cheap.
    digits = raw.lstrip("+-").lstrip("0") or "0"
    value = int(digits) if len(digits) <= 19 else INT64_MAX + 1
    value = -value if raw.startswith("-") else value
    if not INT64_MIN <= value <= INT64_MAX:
        raise FilterLimitError(
            f"integer {raw[:30]}{'...' if len(raw) > 30 else ''} is outside the 64-bit range "
            f"{INT64_MIN}..{INT64_MAX}; write a larger number as a float (1e30)",
            text=text, position=pos, limit="integer range",
        )
    return value


def _unquote_word(raw: str) -> str:
    if "`" not in raw:
        return raw
    head, _, quoted = raw.partition("`")
    return head + quoted[:-1].replace("``", "`")


def resolve_field(name: str, *, text: str = "", position: int = 0) -> FieldRef:
    """The field called `name` ("params.lr", "status", ...); FilterError if unknown."""
    if name == SEARCH_FIELD:
        return FieldRef(name, type="search", nullable=False)
    base = BASE_FIELDS.get(name)
    if base is not None:
        column, typ, nullable = base
        return FieldRef(name, column=column, type=typ, nullable=nullable)
    ns, dot, key = name.partition(".")
    if ns in NAMESPACES and dot and key:
        return FieldRef(name, namespace=ns, key=key, type="real" if ns == "metrics" else "any")
    if ns in NAMESPACES:
        raise FilterError(
            f"{ns} needs a key, like {ns}.lr (quote odd keys: {ns}.`my-key`)",
            text=text,
            position=position,
        )
    known = ", ".join(["params.<key>", "metrics.<key>", "tags.<key>", *BASE_FIELDS, SEARCH_FIELD])
    raise FilterError(f"unknown field {name!r}; fields are {known}", text=text, position=position)


class _Parser:
    def __init__(self, text: str, *, postgres: bool = False) -> None:
        self.text = text
        self.postgres = postgres
        self.tokens = tokenize(text)
        self.i = 0
        self.params: list[Any] = []
        self.depth = 0
        self.comparisons = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def is_kw(self, word: str, offset: int = 0) -> bool:
        t = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return t.kind == "word" and t.text.lower() == word

    def fail(self, message: str, tok: Token | None = None) -> FilterError:
        t = tok or self.tok
        found = "the end of the filter" if t.kind == "end" else repr(t.text)
        return FilterError(f"{message}, found {found}", text=self.text, position=t.pos)

    def enter(self, t: Token) -> None:
        """Count one more level of '(' or `not` at `t`; FilterLimitError past MAX_DEPTH."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterLimitError(
                f"parentheses and 'not' nest more than {MAX_DEPTH} deep here; filters are "
                f"limited to {MAX_DEPTH} levels (remove redundant ones: 'not not x' is x)",
                text=self.text, position=t.pos, limit="depth",
            )

    def expect_punct(self, ch: str, what: str) -> None:
        if self.tok.kind == "punct" and self.tok.text == ch:
            self.i += 1
            return
        raise self.fail(f"expected {what}")

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> _Expr:
        expr = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail("expected 'and', 'or' or the end of the filter")
        return expr

    def or_expr(self) -> _Expr:
        parts = [self.and_expr()]
        while self.is_kw("or"):
            self.i += 1
            parts.append(self.and_expr())
        return _combine("or", parts)

    def and_expr(self) -> _Expr:
        parts = [self.not_expr()]
        while self.is_kw("and"):
            self.i += 1
            parts.append(self.not_expr())
        return _combine("and", parts)

    def not_expr(self) -> _Expr:
        if self.is_kw("not"):
            self.enter(self.tok)
            self.i += 1
            expr = _negate(self.not_expr())
            self.depth -= 1
            return expr
        return self.primary()

    def primary(self) -> _Expr:
        t = self.tok
        if t.kind == "punct" and t.text == "(":
            self.enter(t)
            self.i += 1
            expr = self.or_expr()
            self.expect_punct(")", f"')' to close the '(' at column {t.pos + 1}")
            self.depth -= 1
            return expr
        if t.kind != "word" or t.text.lower() in _KEYWORDS:
            raise self.fail("expected a field (params.<key>, metrics.<key>, status, ...) or '('")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise FilterLimitError(
                f"this is comparison {self.comparisons}; filters are limited to "
                f"{MAX_COMPARISONS} comparisons (use 'in (...)' for many values of one field)",
                text=self.text, position=t.pos, limit="comparisons",
            )
        self.i += 1
        fld = resolve_field(str(t.value), text=self.text, position=t.pos)
        if fld.type == "search" and self.tok.text != "~":
            raise self.fail(f"{SEARCH_FIELD} is searched with ~, like {SEARCH_FIELD} ~ 'mlp'")
        if self.is_kw("in") or (self.is_kw("not") and self.is_kw("in", 1)):
            negate = self.is_kw("not")
            self.i += 2 if negate else 1
            return _atom(self.in_list(fld, negate))
        op_tok = self.tok
        if op_tok.kind != "op":
            raise self.fail(f"expected an operator (= != < <= > >= ~ in) after {t.text}")
        self.i += 1
        lit = self.literal()
        return _atom(self.comparison(fld, op_tok, lit))

    def literal(self) -> Token:
        t = self.tok
        if t.kind in ("num", "str") or (
            t.kind == "word" and t.text.lower() in ("true", "false", "null")
        ):
            self.i += 1
            return t
        hint = ""
        if t.kind == "word":
            hint = f" (quote text values: '{t.text}')"
        raise self.fail(f"expected a value: a number, 'string', true, false or null{hint}")

    def in_list(self, fld: FieldRef, negate: bool) -> str:
        self.expect_punct("(", "'(' to start the list after 'in'")
        items = [self.literal()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.i += 1
            items.append(self.literal())
        self.expect_punct(")", "',' or ')' in the 'in' list")
        for item in items:
            if item.kind == "word" and item.text.lower() == "null":
                raise self.fail("null cannot appear in an 'in' list; use = null", item)
        values = [self.value_for(fld, item, "=") for item in items]
        marks = ", ".join("?" for _ in values)
        if fld.namespace is None:
            self.params.extend(values)
            col = f"r.{fld.column}"
            sql = f"{col} {'NOT IN' if negate else 'IN'} ({marks})"
            if fld.nullable:
                sql = f"coalesce({sql}, FALSE)" if not negate else f"({col} IS NOT NULL AND {sql})"
            return sql
        self.params.append(fld.key)
        table = _NS_TABLE[fld.namespace]
        if self.postgres and fld.namespace == "params":
            cond = self.pg_params_in(values, negate)
        else:
            self.params.extend(values)
            cond = (f"value NOT IN ({marks}) AND value IS NOT NULL" if negate
                    else f"value IN ({marks})")
        return f"r.number IN (SELECT run FROM {table} WHERE key = ? AND {cond})"

    def pg_params_in(self, values: list[Any], negate: bool) -> str:
        """`in` on PostgreSQL's params, whose numbers (num) and text (value) are apart."""
        tests = []
        for column, kind in (("num", _is_number), ("value", _is_text)):
            picked = [v for v in values if kind(v)]
            if picked:
                self.params.extend(picked)
                tests.append(f"coalesce({column} IN ({', '.join('?' * len(picked))}), FALSE)")
        found = " OR ".join(tests)
        if negate:
            return f"NOT ({found}) AND {_PG_PARAM_PRESENT}"
        return f"({found})"

    # -- comparisons ---------------------------------------------------------------------
    def value_for(self, fld: FieldRef, lit: Token, op: str) -> Any:
        """The SQL parameter for literal `lit` compared with `fld`, type-checked."""
        word = lit.text.lower() if lit.kind == "word" else ""
        if word in ("true", "false"):
            value: Any = 1 if word == "true" else 0
        else:
            value = lit.value
        if fld.namespace == "tags" or (fld.namespace is None and fld.type == "text"):
            if lit.kind == "num":
                return lit.text  # tags and text columns hold text: compare the number's text
            if word in ("true", "false"):
                return word
            if fld.name == "status" and op in ("=", "!=") and value not in RUN_STATUSES:
                raise FilterError(
                    f"unknown status {value!r}; statuses are {', '.join(RUN_STATUSES)}",
                    text=self.text,
                    position=lit.pos,
                )
            return value
        if fld.type == "time" and lit.kind == "str":
            return _parse_time(str(value), self.text, lit.pos)
        if fld.type in ("real", "time") and lit.kind == "str":
            raise FilterError(
                f"{fld.name} holds numbers; compare it with a number, not a string",
                text=self.text,
                position=lit.pos,
            )
        return value

    def comparison(self, fld: FieldRef, op_tok: Token, lit: Token) -> str:
        op = op_tok.text
        is_null = lit.kind == "word" and lit.text.lower() == "null"
        if op == "~":
            return self.match(fld, lit)
        sql_op = _OPS[op]
        if is_null:
            if sql_op not in ("=", "!="):
                raise self.fail("null can only be compared with = or !=", lit)
            return self.null_check(fld, present=sql_op == "!=")
        value = self.value_for(fld, lit, sql_op)
        if fld.namespace is None:
            self.params.append(value)
            sql = f"r.{fld.column} {sql_op} ?"
            # A NULL column makes the comparison NULL, which `not` would keep excluding.
            return f"coalesce({sql}, FALSE)" if fld.nullable else sql
        table = _NS_TABLE[fld.namespace]
        self.params.extend([fld.key, value])
        cond = f"value {sql_op} ?"
        if fld.namespace == "params" and self.postgres:
            # Numbers are in num, text in value: a number never matches a string.
            cond = f"num {sql_op} ?" if _is_number(value) else cond
        elif fld.namespace == "params":
            # Numbers sort before all text in SQLite: bound the range to one type so that
            # numbers never match strings (and the (key, value) index bounds the scan).
            cond += " AND value < ''" if isinstance(value, (int, float)) else " AND value >= ''"
        return f"r.number IN (SELECT run FROM {table} WHERE key = ? AND {cond})"

    def null_check(self, fld: FieldRef, *, present: bool) -> str:
        if fld.namespace is None:
            return f"r.{fld.column} IS {'NOT ' if present else ''}NULL"
        self.params.append(fld.key)
        table = _NS_TABLE[fld.namespace]
        found = _PG_PARAM_PRESENT if self.postgres and table == "params" else "value IS NOT NULL"
        return (
            f"r.number {'' if present else 'NOT '}IN "
            f"(SELECT run FROM {table} WHERE key = ? AND {found})"
        )

    def match(self, fld: FieldRef, lit: Token) -> str:
        if lit.kind != "str":
            raise self.fail("'~' needs a quoted pattern, like ~ 'adam' or ~ 'res*'", lit)
        if fld.type in ("real", "time"):
            raise FilterError(
                f"'~' matches text, and {fld.name} holds numbers; use < > = instead",
                text=self.text,
                position=lit.pos,
            )
        pattern = str(lit.value)
        if fld.type == "search":
            self.params.extend([pattern.lower()] * _SEARCH_SQL.count("?"))
            return _SEARCH_SQL
        if "*" in pattern or "?" in pattern:
            cond, arg = "value GLOB ?", glob_to_regex(pattern) if self.postgres else pattern
        else:
            cond, arg = "instr(lower(value), ?) > 0", pattern.lower()
        if fld.namespace is None:
            self.params.append(arg)
            sql = cond.replace("value", f"r.{fld.column}")
            return f"coalesce({sql}, FALSE)" if fld.nullable else sql
        self.params.extend([fld.key, arg])
        table = _NS_TABLE[fld.namespace]
        return (
            f"r.number IN (SELECT run FROM {table} WHERE key = ? "
            f"AND typeof(value) = 'text' AND {cond})"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


# A param that is present and not NaN/None, on PostgreSQL (numbers in num, text in value).
_PG_PARAM_PRESENT = "(num IS NOT NULL OR value IS NOT NULL)"


def _parse_time(value: str, text: str, position: int) -> float:
    raw = value.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise FilterError(
            f"{value!r} is not an ISO date or time; write '2026-11-01' or '2026-11-01T09:30:00'",
            text=text,
            position=position,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# Characters that only the filter language uses: text holding none is a plain-word search
# (unless one of its words is a field or keyword).
_FILTER_CHARS = frozenset("=<>~!(),'\"`")
SEARCH_FIELD = "text"
# Where `text ~ 'word'` looks; each `?` takes the lower-cased word.
_SEARCH_SQL = (
    "(instr(lower(coalesce(r.name, '')), ?) > 0"
    " OR instr(lower(r.experiment), ?) > 0"
    " OR instr(lower(coalesce(r.notebook_path, '')), ?) > 0"
    " OR instr(lower(r.kind), ?) > 0"
    " OR r.number IN (SELECT run FROM params WHERE typeof(value) = 'text'"
    " AND instr(lower(value), ?) > 0)"
    " OR r.number IN (SELECT run FROM tags WHERE key NOT LIKE 'xtrack.%'"
    " AND instr(lower(key || char(10) || value), ?) > 0))"
)


def search_words(text: str) -> list[str] | None:
    """The words of `text` when it is a plain-word search (see the module docstring),
    else None: it is then a filter."""
    if _FILTER_CHARS & set(text):
        return None
    words = text.split()
    for word in words:
        lowered = word.lower()
        if (
            lowered in _KEYWORDS
            or word in BASE_FIELDS
            or word == SEARCH_FIELD
            or lowered.split(".", 1)[0] in NAMESPACES
        ):
            return None
    return words or None


def as_filter(text: str) -> str:
    """`text` in the filter language: plain words become `text ~ 'word'` conditions."""
    words = search_words(text)
    if words is None:
        return text
    return " and ".join(f"{SEARCH_FIELD} ~ '{_escape(w)}'" for w in words)


def combine_filters(texts: Sequence[str | None]) -> str | None:
    """One filter matching the runs every one of `texts` (filters or plain words) matches;
    a single one is kept as written, so its errors point into what the user typed."""
    parts = [t for t in texts if t and t.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else None
    return " and ".join(f"({as_filter(p)})" for p in parts)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def compile_filter(text: str | None, *, postgres: bool = False) -> Compiled:
    """The WHERE-clause SQL (over `runs AS r`) and parameters for filter `text`; an empty
    or None filter matches every run; plain words search (see the module docstring).
    `postgres` writes it for PostgreSQL's params table (see dialect.py). FilterError (with
    a caret) if it cannot be parsed."""
    if text is None or not text.strip():
        return Compiled("TRUE")
    _check_text(text, "filter")
    parser = _Parser(as_filter(text), postgres=postgres)
    expr = parser.parse()
    sql = _to_sql(expr)
    # The caller ANDs more conditions on: keep an OR together.
    return Compiled(f"({sql})" if expr.op == "or" else sql, parser.params)


def _check_text(text: str, what: str) -> None:
    """FilterLimitError for a filter or order_by item over MAX_FILTER_CHARS; FilterError
    for text a store cannot take (lone surrogates; NUL, which PostgreSQL text cannot
    hold, refused on every backend so that a filter means the same everywhere)."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterLimitError(
            f"the {what} is {len(text):,} characters long; the limit is {MAX_FILTER_CHARS:,}",
            text=text, position=MAX_FILTER_CHARS, limit="length",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FilterError(
            f"the {what} holds a character that is not valid Unicode "
            f"({text[exc.start]!r})", text=text, position=exc.start,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise FilterError(f"the {what} holds a NUL character ('\\x00')", text=text, position=nul)


@dataclass
class Ordering:
    """LEFT JOINs and the ORDER BY clause for an ordering."""

    joins: list[str]
    join_params: list[Any]
    order_sql: str


def compile_order(order_by: str | Sequence[str] | None, *, postgres: bool = False) -> Ordering:
    """Joins and ORDER BY for `order_by` (fields with optional asc/desc); newest first when
    None. Missing values sort last; ties go newest first."""
    if order_by is None or (isinstance(order_by, str) and not order_by.strip()):
        return Ordering([], [], "r.number DESC")
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    if isinstance(order_by, str) and "," in order_by:
        items = [part for part in order_by.split(",")]
    if len(items) > MAX_ORDER_FIELDS:
        raise FilterLimitError(
            f"order_by has {len(items)} fields; the limit is {MAX_ORDER_FIELDS}",
            text=str(items[MAX_ORDER_FIELDS]), position=0, limit="order_by fields",
        )
    joins: list[str] = []
    params: list[Any] = []
    terms: list[str] = []
    for item in items:
        _check_text(item, "order_by field")
        tokens = tokenize(item)
        if tokens[0].kind != "word":
            raise FilterError(
                "expected a field to order by, like metrics.acc desc", text=item, position=0
            )
        fld = resolve_field(str(tokens[0].value), text=item, position=tokens[0].pos)
        if fld.type == "search":
            raise FilterError(
                f"{SEARCH_FIELD} is searched, not sorted", text=item, position=tokens[0].pos
            )
        direction = "ASC"
        rest = tokens[1:-1]
        if rest:
            word = rest[0].text.lower()
            if len(rest) > 1 or word not in ("asc", "desc"):
                bad = rest[0] if word not in ("asc", "desc") else rest[1]
                raise FilterError(
                    "expected 'asc' or 'desc' after the field", text=item, position=bad.pos
                )
            direction = word.upper()
        if fld.namespace is None:
            expr = f"r.{fld.column}"
        else:
            alias = f"o{len(joins)}"
            joins.append(
                f"LEFT JOIN {_NS_TABLE[fld.namespace]} AS {alias} "
                f"ON {alias}.run = r.number AND {alias}.key = ?"
            )
            params.append(fld.key)
            expr = f"{alias}.value"
            if postgres and fld.namespace == "params":
                # SQLite sorts numbers before text: num first, then value.
                num = f"{alias}.num"
                terms.append(f"({expr} IS NULL AND {num} IS NULL), ({num} IS NULL) {direction}, "
                             f"{num} {direction}, {expr} {direction}")
                continue
        terms.append(f"({expr} IS NULL), {expr} {direction}")
    terms.append("r.number DESC")
    return Ordering(joins, params, ", ".join(terms))
