"""Secret redaction for captured text, params, URLs, notebooks and environment variables.

Everything the tracker stores (code, diffs, stdout, tracebacks, params, notebook snapshots,
environment) passes through here first, so a token pasted into a notebook does not end up in
``.xtrack/`` or in a shared store.

One pass, linear time: every built-in rule is a branch of one compiled regex (``_PASS``)
applied with a single ``re.sub``. Python's ``re`` backtracks, so each branch is written so that
a failed attempt costs a bounded number of steps: quantifiers over unbounded runs are
possessive (``++``, ``{n,}+``) and either always lead to a match (which consumes the text they
scanned) or start only where a lookbehind says no earlier start covered the same run; the
remaining quantifiers are bounded (``{0,64}``). Branches whose literal lead (``sk-``, ``eyJ``,
``password``...) is nowhere in the text are left out of the regex used for it (a few substring
searches; the reduced regexes are cached). ``bench/bench_redact.py`` checks 1 MB of
adversarial text.

Markers: a known token format becomes ``[REDACTED:<kind>]``; a value found by its name
(``password = "x"``, ``PASSWORD=x``, ``"api_key": "x"``) keeps the name and becomes
``[REDACTED]``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import threading
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ENV_ALLOWLIST",
    "REDACTED",
    "allowed_env",
    "is_secret_name",
    "redact",
    "redact_mapping",
    "redact_notebook_json",
    "redact_param",
    "redact_text",
    "redact_url",
    "user_patterns",
]

REDACTED = "[REDACTED]"

# ---------------------------------------------------------------------------------------------
# names

# Whole lower-case parts of a name that make it secret, and adjacent pairs that do.
_SECRET_PARTS = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "credential",
        "credentials", "authorization", "accesskey", "privatekey", "secretkey", "authkey",
    }
)
# A part that runs a word into one of these is secret too: dbpassword, githubtoken.
_SECRET_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "credential", "credentials")
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("auth", "key")})
# Parts: runs of upper-case (an acronym), a capitalised or lower-case word, or digits; any
# other character separates. So camelCase and acronyms split: APIKey -> API, Key.
_NAME_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret_name(name: str) -> bool:
    """Whether a param, key or variable called ``name`` holds a secret.

    The name is split into parts at ``_``, ``-``, ``.``, any other non-alphanumeric character,
    camelCase humps and digit runs, and lower-cased. It is secret when a whole part is one of
    password, passwd, passphrase, pwd, secret, token, apikey, credential(s), authorization,
    accesskey, privatekey, secretkey, authkey, or ends in password, passwd, secret, token,
    apikey or credential(s) (``dbpassword``, ``githubtoken``), or two adjacent parts are
    api+key, access+key, private+key or auth+key. Parts, not substrings: ``max_tokens``,
    ``n_tokens``, ``tokenizer`` and ``secretary`` are ordinary names, while ``token_count``,
    ``db_password``, ``OPENAI_API_KEY``, ``apiKey`` and ``clientSecret`` are secret.
    """
    return isinstance(name, str) and _secret_name(name)


@functools.lru_cache(maxsize=4096)  # the same keys recur in code, logs and params
def _secret_name(name: str) -> bool:
    parts = [p.lower() for p in _NAME_PART.findall(name)]
    if any(p in _SECRET_PARTS or p.endswith(_SECRET_ENDINGS) for p in parts):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(parts, parts[1:], strict=False))


# ---------------------------------------------------------------------------------------------
# the built-in pass

# Every branch of the pass starts with literal characters, so re scans ahead in C to the next
# character that can start one and drops a branch after one compare; lookbehinds and groups
# come after the literal lead for the same reason.

# Token formats: (literal lead, group name, marker kind, rest of the regex). Unless the lead
# is distinctive enough alone, a lookbehind (``_NOT_AFTER``) stops a format starting inside a
# longer word (``task-...`` is not an ``sk-`` key). An underscore before a token does not
# count as a word: ``loss_ghp_...`` (a metric name, a dict key) holds a GitHub token.
_WORD = "[A-Za-z0-9]"
_TOKEN_FORMATS: tuple[tuple[str, str, str, str], ...] = (
    (
        "-----BEGIN",
        "pem",
        "private-key",
        # RSA/EC/DSA/OPENSSH/ENCRYPTED/plain PEM keys and PGP key blocks; an unterminated
        # block is hidden to the end of the text
        r"[ A-Z0-9]{0,40}?PRIVATE[ ]KEY(?:[ ]BLOCK)?-----"
        r"(?s:.*?)(?:-----END[ A-Z0-9]{0,40}?PRIVATE[ ]KEY(?:[ ]BLOCK)?-----|\Z)",
    ),
    (
        "A",
        "aws",
        "aws-key",
        r"(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|3T[A-Z0-9])(?<!" + _WORD + r"....)[A-Z0-9]{16}\b",
    ),
    ("gh", "github", "github-token", r"[pousr]_(?<!" + _WORD + r"....)[A-Za-z0-9]{30,}+\b"),
    ("github_pat_", "github_pat", "github-token", r"@[A-Za-z0-9_]{22,}+\b"),
    ("glpat-", "gitlab", "gitlab-token", r"@[A-Za-z0-9_\-]{20,}+"),
    ("sk_", "stripe_s", "stripe-key", r"@(?:live|test)_[A-Za-z0-9]{16,}+"),
    ("rk_", "stripe_r", "stripe-key", r"@(?:live|test)_[A-Za-z0-9]{16,}+"),
    ("sk-", "openai", "api-key", r"@(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}+"),
    ("xox", "slack", "slack-token", r"@[abposre]-[A-Za-z0-9\-]{10,}+"),
    ("AIza", "google", "google-api-key", r"(?<![A-Za-z0-9]AIza)[A-Za-z0-9_\-]{30,}+"),
    ("hf_", "hf", "huggingface-token", r"@[A-Za-z0-9]{30,}+"),
    (
        "eyJ",
        "jwt",
        "jwt",
        # the lookbehind covers the first segment's characters: one start per run
        r"(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{5,}+\.[A-Za-z0-9_\-]{5,}+\.[A-Za-z0-9_\-]*+",
    ),
)
_MARKER = {group: f"[REDACTED:{kind}]" for _, group, kind, _ in _TOKEN_FORMATS}


def _token_branch(lead: str, group: str, rest: str) -> str:
    # "@" at the start of rest stands for "not after a word character"
    if rest.startswith("@"):
        rest = f"(?<!{_WORD}{re.escape(lead)})" + rest[1:]
    return f"{re.escape(lead)}(?P<{group}>{rest})"


# A secret-looking word inside a key, by its first two letters (either case); the match starts
# at the word and the rest of the key before it is found by looking back.
_KEY_WORDS: tuple[tuple[str, str], ...] = (
    ("pa", r"ss(?:word|wd|phrase)"),
    ("pw", r"d"),
    ("pr", r"ivate[_-]?key"),
    ("se", r"cret"),
    ("to", r"ken"),
    ("ap", r"i[_-]?key"),
    ("ac", r"cess[_-]?key"),
    ("au", r"th(?:[_-]?key|orization)"),
    ("cr", r"edential"),
)
_KEY_WORD = "(?i:" + "|".join(lead + rest for lead, rest in _KEY_WORDS) + ")"
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_KEY_LOOKBACK = 64


def _assignment_tail(n: str) -> str:
    """The rest of the key, a separator and the value; group names end in ``n``."""
    return (
        r"[\w.\-]{0,64}+"  # the rest of the key
        + r"""["']?\]?["']?"""  # "key": / ['key'] = / os.environ["KEY"] =
        # = == := : or an annotation `: str =`
        + r"[ \t]*+(?::[ \t]*+[A-Za-z_][\w.\[\]|, ]{0,40}?[ \t]*+=|:=|==?|:)[ \t]*+"
        + rf"(?P<av{n}>"
        + rf"""[rRbBuUfF]{{0,2}}(?P<q3{n}>\"\"\"|\'\'\')(?s:.*?)(?:(?P=q3{n})|\Z)"""
        + rf"""|[rRbBuUfF]{{0,2}}(?P<qd{n}>")[^"\n]*+"?"""
        + rf"""|[rRbBuUfF]{{0,2}}(?P<qs{n}>')[^'\n]*+'?"""
        + r"""|(?:(?i:bearer|basic|token|digest)[ \t]++)?[^\s'"`,;(){}\[\]<>&]++"""
        + r")"
    )


# `requests.get(url, auth=("alice", "pw"))`, `HTTPBasicAuth("alice", "pw")`: the second string
def _auth_pair(n: str) -> str:
    return (
        r"(?i:th)(?![a-z])[A-Za-z0-9_]{0,24}+[\"']?[ \t]*+(?:[=:][ \t]*+)?[(\[][ \t]*+"
        r"(?:\"[^\"\n]{0,256}+\"|'[^'\n]{0,256}+')[ \t]*+,[ \t]*+"
        rf"(?:\"(?P<apd{n}>[^\"\n]{{1,512}}+)\"|'(?P<aps{n}>[^'\n]{{1,512}}+)')"
    )


# scheme://user:password@host (the scheme is whatever precedes; the match starts at ://)
_URL_USERINFO = (
    r"(?P<uu>[^\s/?#@:'\"<>\[\]]{0,256}+)(?::(?P<up>[^\s/?#@'\"<>]{0,512}+))?@(?=[\w\[])"
)


def _bearer(n: str) -> str:
    return rf"(?i:arer)[ \t]++(?P<bv{n}>[A-Za-z0-9._~+/\-]{{12,}}+=*+)"


def _both_cases(first: str) -> tuple[str, ...]:
    return (first.lower(), first.upper()) if first.lower() != first.upper() else (first,)


# One branch of the pass: its regex, the substrings of which one must be in the text for the
# branch to match at all (in the lower-cased text when ``folded``), its outer group, its kind
# and the suffix of its inner groups.
_Branch = tuple[str, tuple[str, ...], bool, str, str, str]
_AWS_LEADS = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T")


def _branches() -> list[_Branch]:
    out: list[_Branch] = []
    for lead, group, _, rest in _TOKEN_FORMATS:
        triggers = _AWS_LEADS if group == "aws" else (lead,)
        out.append((_token_branch(lead, group, rest), triggers, False, group, "token", ""))
    i = 0
    for lead, rest in _KEY_WORDS:
        second = f"[{lead[1]}{lead[1].upper()}]"
        word = (lead + rest.partition("(")[0].partition("[")[0])  # "pass", "secret", "api"...
        for first in _both_cases(lead[0]):
            n = str(i)
            body = f"(?i:{rest}){_assignment_tail(n)}"
            out.append((f"{first}{second}(?P<as{n}>{body})", (word,), True, f"as{n}", "assign", n))
            i += 1
    for first in _both_cases("a"):
        out.append((f"{first}[uU](?P<ap{first}>{_auth_pair(first)})", ("auth",), True,
                    f"ap{first}", "authpair", first))
    out.append((f"://(?P<url>{_URL_USERINFO})", ("://",), False, "url", "url", ""))
    for first in _both_cases("b"):
        out.append((f"{first}[eE](?P<be{first}>{_bearer(first)})", ("bearer",), True,
                    f"be{first}", "bearer", first))
    return out


_BRANCHES = _branches()
_BRANCH_KINDS = {group: (kind, n) for _, _, _, group, kind, n in _BRANCHES}
# All branches: what the tests inspect. A text is redacted with the branches whose trigger it
# contains (a few substring searches, far cheaper than trying every branch at every letter).
_PASS = re.compile("|".join(b[0] for b in _BRANCHES))


@functools.lru_cache(maxsize=64)
def _pass_for(active: tuple[int, ...]) -> re.Pattern[str]:
    return re.compile("|".join(_BRANCHES[i][0] for i in active))


_TRIGGERS = tuple(sorted({(t, b[2]) for b in _BRANCHES for t in b[1]}))


def _active_branches(text: str) -> tuple[int, ...]:
    folded = text.lower()
    found = {(t, fold) for t, fold in _TRIGGERS if t in (folded if fold else text)}
    return tuple(
        i for i, b in enumerate(_BRANCHES) if any((t, b[2]) in found for t in b[1])
    )


# Only the token formats, for values found inside an assignment, URL or auth pair.
_TOKENS_ONLY = re.compile("|".join(_token_branch(*f[:2], f[3]) for f in _TOKEN_FORMATS))

# Unquoted values that are code, not secrets: numbers, booleans, None.
_NOT_SECRET_VALUE = re.compile(
    r"[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|True|False|None|true|false|null|none"
)


def _token_marker(m: re.Match[str]) -> str:
    return _MARKER[m.lastgroup or ""]


# No token format is shorter than this: shorter values skip the token regex.
_SHORTEST_TOKEN = 15


def _tokens(text: str) -> str:
    if len(text) < _SHORTEST_TOKEN:
        return text
    return _TOKENS_ONLY.sub(_token_marker, text)


def _key_start(text: str, start: int) -> int:
    limit = max(0, start - _KEY_LOOKBACK)
    while start > limit and text[start - 1] in _KEY_CHARS:
        start -= 1
    return start


@functools.cache
def _assign_groups(n: str) -> tuple[str, tuple[str, str, str]]:
    return f"av{n}", (f"qd{n}", f"qs{n}", f"q3{n}")


def _assignment(m: re.Match[str], n: str) -> str:
    value_group, quote_groups = _assign_groups(n)
    text = m.string
    start, end = m.span()
    vstart = m.start(value_group)
    secret = is_secret_name(text[_key_start(text, start) : vstart])
    for group in quote_groups:
        qstart, opened = m.span(group)
        if qstart < 0:
            continue
        closing = text[qstart:opened]
        closed = end - opened >= len(closing) and text.endswith(closing, opened, end)
        close_at = end - len(closing) if closed else end
        if close_at == opened:  # an empty string hides nothing
            return text[start:end]
        inner = text[opened:close_at]
        hidden = _tokens(inner)
        # a marker from an earlier pass stays as it is, so redacting twice changes nothing
        if hidden == inner and secret and not (inner.startswith("[REDACTED") and inner[-1] == "]"):
            hidden = REDACTED
        return text[start:opened] + hidden + text[close_at:end]
    value = text[vstart:end]
    head = text[start:vstart]
    hidden = _tokens(value)
    if hidden != value or not secret:
        return head + hidden
    # `token = tokenizer(x)` or `key = cfg["k"]` is a call or lookup, not a literal secret
    if text[end : end + 1] in ("(", "[") or _NOT_SECRET_VALUE.fullmatch(value):
        return text[start:end]
    return head + REDACTED


def _replace_group(m: re.Match[str], group: str) -> str:
    """The match with one group's text replaced by a token marker or ``[REDACTED]``."""
    secret = m.group(group)
    hidden = _tokens(secret)
    start = m.start()
    whole = m.group()
    return (
        whole[: m.start(group) - start]
        + (REDACTED if hidden == secret else hidden)
        + whole[m.end(group) - start :]
    )


def _replace(m: re.Match[str]) -> str:
    kind, n = _BRANCH_KINDS[m.lastgroup or ""]
    if kind == "token":
        return _MARKER[m.lastgroup or ""]
    if kind == "assign":
        return _assignment(m, n)
    if kind == "authpair":
        return _replace_group(m, "apd" + n if m.start("apd" + n) >= 0 else "aps" + n)
    if kind == "bearer":
        return m.group()[: m.start("bv" + n) - m.start()] + REDACTED
    # url userinfo
    user, password = m.group("uu"), m.group("up")
    if password:
        return f"://{_tokens(user)}:{REDACTED}@"
    hidden = _tokens(user)
    # a long user without a password is an access token (https://<token>@github.com)
    if hidden == user and len(user) >= 20 and any(c.isdigit() for c in user):
        hidden = REDACTED
    return f"://{hidden}" + m.group()[m.end("uu") - m.start() :]


def redact_text(text: str) -> str:
    """Return ``text`` with secrets replaced by ``[REDACTED...]`` markers.

    Token formats become ``[REDACTED:<kind>]``: AWS access key ids, GitHub (``ghp_``,
    ``gho_``, ``ghs_``, ``ghu_``, ``ghr_``, ``github_pat_``), GitLab, Stripe (``sk_live_``,
    ``rk_live_``, ``sk_test_``...), OpenAI-style ``sk-``/``sk-proj-``, Slack ``xox?-``, Google
    ``AIza``, Hugging Face ``hf_``, JWTs, and PEM/OpenSSH/PGP private key blocks. Values found
    by their name keep the name and become ``[REDACTED]``: assignments in code, config and env
    formats whose key is secret by ``is_secret_name`` (``password = "x"``, ``PASSWORD=x``,
    ``"api_key": "x"``, ``os.environ["OPENAI_API_KEY"] = "x"``), the password of
    ``auth=("alice", "pw")``, ``Bearer`` credentials, and the password in URL userinfo
    (``postgres://admin:[REDACTED]@host``; the user is kept unless it is itself a token, or,
    with no password, a long user with digits, as in ``https://<token>@github.com``). Calls,
    lookups and numbers assigned to such keys (``token = tokenize(s)``, ``max_tokens = 512``)
    are left alone. Patterns from ``XTRACK_REDACT`` (see ``user_patterns``) apply after.
    Linear in the length of the text; never raises; non-str input is returned unchanged.
    """
    if not isinstance(text, str) or not text:
        return text
    active = _active_branches(text)
    out = _pass_for(active).sub(_replace, text) if active else text
    extra = user_patterns()
    return _apply_user_patterns(out, extra) if extra else out


redact = redact_text  # the name the rest of the package has always used


# ---------------------------------------------------------------------------------------------
# user patterns (XTRACK_REDACT, git config xtrack.redact)

USER_PATTERN_WINDOW = 4096
_USER_OVERLAP = 256
_user_lock = threading.Lock()
_user_cache: tuple[str, tuple[re.Pattern[str], ...]] = ("", ())


def _parse_user_patterns(spec: str) -> tuple[re.Pattern[str], ...]:
    compiled: list[re.Pattern[str]] = []
    for line in spec.splitlines():
        for source in line.split(";;"):
            if not source.strip():
                continue
            try:
                compiled.append(re.compile(source))
            except (re.error, RecursionError, OverflowError) as exc:
                warnings.warn(
                    f"XTRACK_REDACT / git config xtrack.redact: {source!r} is not a valid "
                    f"regular expression ({exc}); it is ignored",
                    RuntimeWarning,
                    stacklevel=4,
                )
    return tuple(compiled)


def user_patterns(environ: Mapping[str, str] | None = None) -> tuple[re.Pattern[str], ...]:
    """The compiled extra patterns named by the ``XTRACK_REDACT`` environment variable and,
    unless `environ` is given, by the ``xtrack.redact`` git config key seen from the current
    folder (``git config --add xtrack.redact 'corp-[0-9]{8}'``: one pattern a value, in the
    repository's config, or ``--global`` for all of a user's projects; read once per folder
    per process), so a team's patterns need no environment set in every kernel.

    Python regular expressions, separated by newlines or by ``;;``. A match is replaced by
    ``[REDACTED]``; when the pattern has groups, only group 1 is (``mycorp_id=(\\w+)`` keeps
    ``mycorp_id=``). A pattern that does not compile gives one ``RuntimeWarning`` naming it and
    is ignored. Patterns apply line by line, in windows of ``USER_PATTERN_WINDOW`` characters
    (overlapping by 256), so a pattern cannot match across lines, and one that backtracks badly
    (``(a+)+b``, a leading ``.*``) costs at most its worst case on one window per window, not
    on the whole text: keep them anchored on a literal and bounded (``{,64}``) all the same.
    """
    global _user_cache
    env = os.environ if environ is None else environ
    spec = env.get("XTRACK_REDACT") or ""
    if environ is None:
        spec = "\n".join(filter(None, (spec, _git_config_patterns(_cwd()))))
    cached_spec, cached = _user_cache
    if spec == cached_spec:
        return cached
    with _user_lock:
        if _user_cache[0] != spec:
            _user_cache = (spec, _parse_user_patterns(spec))
        return _user_cache[1]


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the folder was deleted under the process
        return None


@functools.lru_cache(maxsize=16)
def _git_config_patterns(folder: str | None) -> str:
    """The values of ``xtrack.redact`` in git config seen from `folder`, one a line ("" when
    there are none, no git, or no folder)."""
    if folder is None:
        return ""
    try:
        res = subprocess.run(["git", "config", "--get-all", "xtrack.redact"], cwd=folder,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return res.stdout if res.returncode == 0 else ""


def _user_spans(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for m in pattern.finditer(text, start, end):
        if m.end() == m.start():
            continue
        if pattern.groups and m.start(1) >= 0:
            if m.end(1) > m.start(1):
                spans.append((m.start(1), m.end(1)))
        else:
            spans.append((m.start(), m.end()))
    return spans


def _apply_user_patterns(text: str, patterns: tuple[re.Pattern[str], ...]) -> str:
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        eol = text.find("\n", pos)
        eol = n if eol < 0 else eol
        start = pos
        while True:
            end = min(eol, start + USER_PATTERN_WINDOW)
            for pattern in patterns:
                try:
                    spans.extend(_user_spans(pattern, text, start, end))
                except RecursionError:
                    continue
            if end >= eol:
                break
            start = end - _USER_OVERLAP
        pos = eol + 1
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    last = 0
    for s, e in spans:
        if e <= last:
            continue
        if s < last:  # overlaps a span already hidden (windows overlap): extend it
            s = last
        else:
            out.append(text[last:s])
            out.append(REDACTED)
        last = e
    out.append(text[last:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# params, mappings, notebooks


def redact_param(name: str, value: Any) -> Any:
    """The value to store for a param called ``name``.

    ``[REDACTED]`` when ``is_secret_name(name)``, whatever the value's type, except None,
    booleans and the empty string, which hide nothing (``use_token = True``). Otherwise
    strings go through ``redact_text``, lists and tuples item by item (tuples become tuples),
    dicts through ``redact_mapping`` (so ``{"api_key": ...}`` inside a param is hidden too);
    numbers, booleans and None are returned as they are. Never raises.
    """
    if _hides_nothing(value):
        return value
    if is_secret_name(name):
        return REDACTED
    return _redact_value(_hide_auth_pair(name, value), 0)


def _hide_auth_pair(name: str, value: Any) -> Any:
    """``auth = ("alice", "pw")``, ``basic_auth=[user, pw]``: a (user, password) pair under a
    name whose last part is auth keeps the user and hides the password."""
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
        and value[1]
        and [p.lower() for p in _NAME_PART.findall(name)][-1:] == ["auth"]
    ):
        pair = [value[0], REDACTED]
        return tuple(pair) if isinstance(value, tuple) else pair
    return value


def _hides_nothing(value: Any) -> bool:
    return value is None or isinstance(value, bool) or (isinstance(value, str) and not value)


def _redact_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth > 20:
        return value
    if isinstance(value, Mapping):
        return redact_mapping(value, _depth=depth + 1)
    if isinstance(value, (list, tuple)):
        items = [_redact_value(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def redact_mapping(mapping: Mapping[Any, Any], *, _depth: int = 0) -> dict[Any, Any]:
    """A copy of ``mapping`` with every value passed through ``redact_param`` under its key:
    params, tags or any name-to-value record. Keys are kept; non-str keys are judged by their
    ``str``."""
    out: dict[Any, Any] = {}
    for key, value in mapping.items():
        name = key if isinstance(key, str) else str(key)
        if _hides_nothing(value):
            out[key] = value
        elif is_secret_name(name):
            out[key] = REDACTED
        else:
            out[key] = _redact_value(_hide_auth_pair(name, value), _depth)
    return out


# Output data that is binary (base64): never scanned, so an image cannot be corrupted.
_BINARY_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
                "application/pdf", "application/octet-stream", "png", "jpeg")


def _redact_lines(lines: list[Any]) -> list[Any]:
    """A multi-line string as nbformat stores it (a list of lines): redacted as one text, so
    a key block spread over lines is found, and split again only when something changed."""
    is_text = all(isinstance(line, str) for line in lines) and all(
        line.endswith("\n") for line in lines[:-1]
    )
    if not is_text:  # a list of values (tags, widget state...), not a text split in lines
        if lines and all(isinstance(line, str) for line in lines):
            return _redact_string_list(lines)
        return [_redact_json(v) for v in lines]
    text = "".join(lines)
    hidden = redact_text(text)
    if hidden == text:
        return lines
    parts = hidden.split("\n")  # only at \n, as Jupyter splits (not at \r or \u2028)
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _redact_string_list(items: list[str]) -> list[str]:
    """Strings that may be the lines of one text without their newlines (an error's
    traceback): redacted joined, so a key block spread over items is found whole."""
    joined = "\n".join(items)
    hidden = redact_text(joined)
    if hidden == joined:
        return items
    # split where the items were when no newline was inside one (the count may change
    # where a key block spanning items became one marker)
    return hidden.split("\n")


def _redact_json(node: Any) -> Any:
    if isinstance(node, str):
        return redact_text(node)
    if isinstance(node, list):
        return _redact_lines(node)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _BINARY_MIME or key == "attachments" or (
                isinstance(key, str) and key.startswith("image/") and not key.endswith("xml")
            ):
                out[key] = value
            else:
                out[key] = _redact_json(value)
        return out
    return node


def _parse_json(data: bytes) -> Any:
    try:
        import orjson  # several times faster on a notebook of tens of MB

        return orjson.loads(data)
    except (ImportError, ValueError):
        return json.loads(data)  # lone surrogates, or no orjson: the slower, laxer parser


def redact_notebook_json(data: bytes) -> bytes:
    """A notebook (``.ipynb`` bytes, any nbformat) with secrets hidden in every cell's source,
    every output's text (stream text, ``text/*`` and JSON data, error values and tracebacks of
    earlier executions) and the metadata.

    Binary outputs and attachments (``image/png``, ``image/jpeg``, ``application/pdf``...) are
    left untouched. When nothing is hidden, the very same bytes are returned; otherwise the
    notebook is written the way Jupyter writes it (1-space indent, sorted keys, UTF-8). Bytes
    that are not JSON are redacted as text (undecodable bytes kept). Never raises.
    """
    try:
        nb = _parse_json(data)
    except (ValueError, RecursionError):
        try:
            text = data.decode("utf-8", "surrogateescape")
            hidden = redact_text(text)
            return data if hidden == text else hidden.encode("utf-8", "surrogateescape")
        except Exception:
            return data
    try:
        hidden_nb = _redact_json(nb)
    except RecursionError:
        return data
    if hidden_nb == nb:
        return data
    return (json.dumps(hidden_nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode(
        "utf-8", "surrogatepass"
    )


# ---------------------------------------------------------------------------------------------
# URLs and the environment


def redact_url(url: str) -> str:
    """Return ``url`` without embedded credentials.

    ``https://user:token@host/x`` and ``https://token@host/x`` become ``https://host/x``;
    for ``ssh://`` URLs only a password is dropped (``ssh://git@host`` names an account, not a
    secret). scp-like ``git@host:org/repo`` and local paths are returned as they are. Secrets in
    the query string (``?access_token=...``) are redacted too.
    """
    if not isinstance(url, str) or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if parts.scheme in ("ssh", "git+ssh", "ssh+git") and ":" not in userinfo:
            netloc = f"{userinfo}@{hostport}"
        elif parts.scheme in ("ssh", "git+ssh", "ssh+git"):
            netloc = f"{userinfo.partition(':')[0]}@{hostport}"
        else:
            netloc = hostport
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


# Environment variables worth recording with a run: they change results or locate the run.
# Entries ending in "*" are prefixes; the rest are exact names. Everything else in the
# environment is dropped, because environments routinely hold credentials.
ENV_ALLOWLIST: tuple[str, ...] = (
    # devices and threading
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUBLAS_WORKSPACE_CONFIG",
    "NVIDIA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
    "XLA_FLAGS",
    "PYTORCH_CUDA_ALLOC_CONF",
    # determinism and interpreter
    "PYTHONHASHSEED",
    "PYTHONPATH",
    "PYTHONOPTIMIZE",
    # environment identity
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
    "VIRTUAL_ENV",
    "JPY_SESSION_NAME",
    "JUPYTER_SERVER_ROOT",
    "LANG",
    "LC_ALL",
    "TZ",
    "HOSTNAME",
    # schedulers and CI: which job produced the run
    "SLURM_*",
    "PBS_JOBID",
    "LSB_JOBID",
    "KUBERNETES_SERVICE_HOST",
    "GITHUB_ACTIONS",
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "CI",
    # our own settings
    "XTRACK_*",
)

_ALLOW_EXACT = frozenset(e for e in ENV_ALLOWLIST if not e.endswith("*"))
_ALLOW_PREFIXES = tuple(e[:-1] for e in ENV_ALLOWLIST if e.endswith("*"))
# Env names are judged more broadly than params: any KEY part (XTRACK_SIGNING_KEY) counts.
_SECRET_ENV_NAME = re.compile(_KEY_WORD + r"|key\b|_key", re.IGNORECASE)


def allowed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables of ``environ`` named by ``ENV_ALLOWLIST``, values redacted.

    Every value goes through ``redact_text`` (so URL passwords are hidden:
    ``XTRACK_REMOTE_URL=https://u:[REDACTED]@h``). A variable allowed by prefix whose name
    looks secret (``XTRACK_TOKEN``, ``XTRACK_SIGNING_KEY``) keeps its name with the value
    ``[REDACTED]``. Sorted by name so the result is stable.
    """
    global _allowed_last
    out: dict[str, str] = {}
    try:
        items = tuple(environ.items())
    except Exception:  # an odd mapping must not break capture
        return out
    # Every run asks with the same environment: redacted again only when a variable or the
    # redaction patterns changed (5 redactions, ~0.4 ms a cell on the tracker's thread)
    key = (items, user_patterns())  # the patterns redact_text applies
    last = _allowed_last
    if last is not None and last[0] == key:
        return dict(last[1])
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        if name in _ALLOW_EXACT:
            out[name] = redact_text(value)
        elif name.startswith(_ALLOW_PREFIXES):
            secret = _SECRET_ENV_NAME.search(name) or is_secret_name(name)
            out[name] = REDACTED if secret else redact_text(value)
    result = dict(sorted(out.items()))
    _allowed_last = (key, result)
    return dict(result)


_allowed_last: tuple[Any, dict[str, str]] | None = None
