"""Secret redaction for captured text, URLs and environment variables.

Everything the tracker stores that a user did not type as a parameter (diffs, code, remotes,
environment) passes through here first, so a token pasted into a notebook does not end up in
``.xtrack/`` or in a shared store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ENV_ALLOWLIST", "allowed_env", "redact", "redact_url"]

# Words that make a key secret-like, lower case. Matched anywhere inside the key
# (``db_password``, ``GITHUB_TOKEN``, ``clientSecret``): over-redacting a harmless value is the
# cheaper mistake. Factored by hand because Python's re is several times faster on it.
_SECRET_KEY_WORDS = (
    r"pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|auth(?:[_-]?key|orization)|credential"
)
_KEY_WORD = re.compile(_SECRET_KEY_WORDS)
_KEY_WORD_ANY_CASE = re.compile(_SECRET_KEY_WORDS, re.IGNORECASE)

# Anchored at the start of a secret-looking key: the key (maybe quoted, as in JSON, YAML and
# dict literals), a separator (= : := == or an annotation `: str =`) and the value.
_ASSIGNMENT = re.compile(
    r"""
    (?P<key>["']?[\w.\-]+["']?)
    [ \t]*(?::[ \t]*[A-Za-z_][\w.\[\]|, ]*?[ \t]*=|:=|==?|:)[ \t]*
    (?P<value>"[^"\n]*"|'[^'\n]*'
        |(?:(?i:bearer|basic|token|digest)[ \t]+)?[^\s'"`,;(){}\[\]<>&]+)
    """,
    re.VERBOSE,
)
_KEY_CHAR = re.compile(r"[\w.\-]")

# Unquoted values that are code, not secrets: numbers, booleans, None.
_NOT_SECRET_VALUE = re.compile(
    r"[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|True|False|None|true|false|null|none"
)

# Token formats, each with a literal prefix (so re can skip ahead quickly; a leading \b would
# defeat that, so the word boundary is checked in code) and a cheap substring trigger.
_TOKENS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "private-key",
        ("-----BEGIN",),
        re.compile(
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY-----"
            r"(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY-----|\Z)"
        ),
    ),
    (
        "aws-key",
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T"),
        re.compile(r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    ),
    (
        "github-token",
        ("gh", "github_pat_"),
        re.compile(r"gh[pousr]_[A-Za-z0-9]{30,255}\b|github_pat_[A-Za-z0-9_]{22,255}\b"),
    ),
    ("gitlab-token", ("glpat-",), re.compile(r"glpat-[A-Za-z0-9_\-]{20,}")),
    (
        "api-key",
        ("sk-",),
        re.compile(r"sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}"),
    ),
    ("slack-token", ("xox",), re.compile(r"xox[abposre]-[A-Za-z0-9\-]{10,}")),
    (
        "jwt",
        ("eyJ",),
        re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
    ),
)
_BEARER = re.compile(r"(?i:bearer)[ \t]+([A-Za-z0-9._~+/\-]{12,}=*)")


def _token_spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for label, triggers, pattern in _TOKENS:
        if not any(t in text for t in triggers):
            continue
        for m in pattern.finditer(text):
            start = m.start()
            if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue  # inside a longer word: not this token format
            spans.append((start, m.end(), f"[REDACTED:{label}]"))
    return spans


def _assignment_spans(text: str) -> list[tuple[int, int, str]]:
    lowered = text.lower()
    # lower() may change the length of rare characters, which would shift positions
    words = _KEY_WORD if len(lowered) == len(text) else _KEY_WORD_ANY_CASE
    haystack = lowered if len(lowered) == len(text) else text
    spans: list[tuple[int, int, str]] = []
    seen_key_starts: set[int] = set()
    for hit in words.finditer(haystack):
        start = hit.start()
        limit = max(0, start - 200)
        while start > limit and _KEY_CHAR.match(text, start - 1):
            start -= 1
        if start and text[start - 1] in "\"'":
            start -= 1
        if start in seen_key_starts:
            continue
        seen_key_starts.add(start)
        m = _ASSIGNMENT.match(text, start)
        if m is None or m.end("key") < hit.end():
            continue
        value = m.group("value")
        if value[0] in "\"'":
            if len(value) > 2:  # an empty string hides nothing
                spans.append((m.start("value") + 1, m.end("value") - 1, "[REDACTED]"))
            continue
        # `token = tokenizer(x)` or `key = cfg["k"]` is a call or lookup, not a literal secret
        if text[m.end() : m.end() + 1] in ("(", "[") or _NOT_SECRET_VALUE.fullmatch(value):
            continue
        spans.append((m.start("value"), m.end("value"), "[REDACTED]"))
    return spans


def redact(text: str) -> str:
    """Return ``text`` with known secret formats replaced by ``[REDACTED...]`` markers.

    Covers AWS key ids, GitHub/GitLab/Slack/OpenAI-style tokens, JWTs, PEM private keys
    (``[REDACTED:<kind>]``), ``Bearer`` credentials and secret-looking assignments in code,
    config and env formats (``password = "x"``, ``PASSWORD=x``, ``"api_key": "x"``), where the
    key is kept and only the value becomes ``[REDACTED]``. Calls, lookups and numbers assigned
    to such keys (``token = tokenize(s)``, ``max_tokens = 512``) are left alone. Never raises;
    non-str input is returned unchanged.
    """
    if not isinstance(text, str) or not text:
        return text
    spans = _token_spans(text) + _assignment_spans(text)
    if "earer" in text or "EARER" in text:
        spans.extend((m.start(1), m.end(1), "[REDACTED]") for m in _BEARER.finditer(text))
    if not spans:
        return text
    # earliest first, the longest of spans starting together; overlapping later spans drop
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    pos = 0
    for start, end, marker in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(marker)
        pos = end
    out.append(text[pos:])
    return "".join(out)


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
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if parts.scheme in ("ssh", "git+ssh", "ssh+git") and ":" not in userinfo:
            netloc = f"{userinfo}@{hostport}"
        elif parts.scheme in ("ssh", "git+ssh", "ssh+git"):
            netloc = f"{userinfo.partition(':')[0]}@{hostport}"
        else:
            netloc = hostport
    return redact(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


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
_SECRET_NAME = re.compile(_SECRET_KEY_WORDS + r"|key\b|_key", re.IGNORECASE)


def allowed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables of ``environ`` named by ``ENV_ALLOWLIST``, values redacted.

    A variable allowed by prefix whose name looks secret (``XTRACK_TOKEN``) keeps its name with
    the value ``[REDACTED]``. Sorted by name so the result is stable.
    """
    out: dict[str, str] = {}
    try:
        items = list(environ.items())
    except Exception:  # an odd mapping must not break capture
        return out
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        if name in _ALLOW_EXACT:
            out[name] = redact(value)
        elif name.startswith(_ALLOW_PREFIXES):
            out[name] = "[REDACTED]" if _SECRET_NAME.search(name) else redact(value)
    return dict(sorted(out.items()))
