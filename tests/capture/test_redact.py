"""Redaction of secrets in text, URLs and the environment."""

from __future__ import annotations

import pytest

from jupyter_xtrack.capture.redact import ENV_ALLOWLIST, allowed_env, redact, redact_url

GH = "ghp_" + "a1B2" * 9
FAKE_JWT = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)

REDACTED = [
    # (input, expected output)
    ('key = "AKIAIOSFODNN7EXAMPLE"', 'key = "[REDACTED:aws-key]"'),
    ("ASIAY34FZKBOKMUTVV7A in a log", "[REDACTED:aws-key] in a log"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key = [REDACTED]",
    ),
    (f'tok = "{GH}"', 'tok = "[REDACTED:github-token]"'),
    ("gho_" + "x" * 36, "[REDACTED:github-token]"),
    ("github_pat_11ABCDEFG0123456789_" + "q" * 59, "[REDACTED:github-token]"),
    ("glpat-abcdefghij1234567890", "[REDACTED:gitlab-token]"),
    ("OpenAI(api_key=sk-abcdefghijklmnopqrstuvwxyz)", "OpenAI(api_key=[REDACTED:api-key])"),
    ("sk-proj-abcdefghijklmnopqrstuvwxyz123456", "[REDACTED:api-key]"),
    ("xoxb-1234567890-abcdefghij", "[REDACTED:slack-token]"),
    (FAKE_JWT, "[REDACTED:jwt]"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter",
        "[REDACTED:private-key]\nafter",
    ),
    ("+-----BEGIN OPENSSH PRIVATE KEY-----\n+b3Blbn\n", "+[REDACTED:private-key]"),
    ('password = "hunter2"', 'password = "[REDACTED]"'),
    ("PASSWORD=hunter2", "PASSWORD=[REDACTED]"),
    ("export GITHUB_TOKEN=abc123def", "export GITHUB_TOKEN=[REDACTED]"),
    ('{"api_key": "abc123", "n": 1}', '{"api_key": "[REDACTED]", "n": 1}'),
    ("password: str = 'x1'", "password: str = '[REDACTED]'"),
    ("db:\n  password: s3cret\n", "db:\n  password: [REDACTED]\n"),
    ("connect(user='a', passwd='b')", "connect(user='a', passwd='[REDACTED]')"),
    ("clientSecret: abc", "clientSecret: [REDACTED]"),
    ('if password == "letmein":', 'if password == "[REDACTED]":'),
    ("Authorization: Bearer abcdef0123456789xyz", "Authorization: [REDACTED]"),
    ('h = {"X": "bearer abcdefghijklmnop123"}', 'h = {"X": "bearer [REDACTED]"}'),
    ("https://x.com/?access_token=abcd1234&x=1", "https://x.com/?access_token=[REDACTED]&x=1"),
]

UNCHANGED = [
    "token = tokenizer(x)",
    "max_tokens = 512",
    "n_tokens: int = 5",
    'author = "Jane"',
    'secret_key = os.environ["K"]',
    'password = ""',
    "use_token = True",
    "task-abcdefghijklmnopqrstuvwxyz",  # 'sk-' inside a word is not an API key
    "df = pd.read_csv('data.csv')\nacc = 0.93\n",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redact_hides_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_redact_leaves_ordinary_code_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_non_str_is_returned_unchanged() -> None:
    assert redact(None) is None  # type: ignore[arg-type]


def test_redact_in_large_text_finds_every_secret() -> None:
    filler = "x = compute(a, b)  # some ordinary code\n" * 20_000
    text = filler + f'token = "{GH}"\n' + filler + "PASSWORD=abc\n"
    out = redact(text)
    assert GH not in out and "abc\n" not in out[-20:]
    assert out.count("[REDACTED") == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@github.com/a/b.git", "https://github.com/a/b.git"),
        (f"https://{GH}@github.com/a/b", "https://github.com/a/b"),
        ("http://u:p@host:8080/x", "http://host:8080/x"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("ssh://git@host/x.git", "ssh://git@host/x.git"),
        ("ssh://git:pw@host/x.git", "ssh://git@host/x.git"),
        ("/srv/repos/x.git", "/srv/repos/x.git"),
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("https://h/x?token=abc123", "https://h/x?token=[REDACTED]"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_allowed_env_keeps_only_allowlisted_and_redacts() -> None:
    environ = {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "OMP_NUM_THREADS": "4",
        "SLURM_JOB_ID": "123",
        "XTRACK_METRIC_PATTERN": "acc",
        "XTRACK_TOKEN": "plain-value",
        "AWS_SECRET_ACCESS_KEY": "abc",
        "HOME": "/root",
        "PYTHONPATH": f"/x?token={GH}",
    }
    out = allowed_env(environ)
    assert out == {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "OMP_NUM_THREADS": "4",
        "PYTHONPATH": "/x?token=[REDACTED:github-token]",
        "SLURM_JOB_ID": "123",
        "XTRACK_METRIC_PATTERN": "acc",
        "XTRACK_TOKEN": "[REDACTED]",
    }
    assert list(out) == sorted(out)


def test_env_allowlist_is_names_and_prefixes() -> None:
    assert "CUDA_VISIBLE_DEVICES" in ENV_ALLOWLIST
    assert "XTRACK_*" in ENV_ALLOWLIST
    assert all(e.isupper() or e.endswith("*") for e in ENV_ALLOWLIST)
