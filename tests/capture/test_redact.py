"""Redaction of secrets in text, URLs and the environment."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import warnings
import zlib
from pathlib import Path

import pytest

from jupyter_xtrack.capture import redact as redact_module
from jupyter_xtrack.capture.code import read_notebook_snapshot
from jupyter_xtrack.capture.git import git_state
from jupyter_xtrack.capture.params import analyze_cell
from jupyter_xtrack.capture.redact import (
    ENV_ALLOWLIST,
    allowed_env,
    is_secret_name,
    redact,
    redact_mapping,
    redact_notebook_json,
    redact_param,
    redact_text,
    redact_url,
)
from jupyter_xtrack.capture.redact import REDACTED as MARK

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


# ---------------------------------------------------------------------------------------------
# canaries: one per secret format, in every place the capture side hides secrets

PEM_BODY = "MIIEowIBAAKCAQEAcanaryPemBodyLine0123456789abcdefABCDEF"

# (format, a line of code holding it, the secret part that must not survive anywhere)
CANARIES: list[tuple[str, str, str]] = [
    ("github ghp_", 'gh = "ghp_CanaryGhp0123456789abcdefABCDEF012345"',
     "ghp_CanaryGhp0123456789abcdefABCDEF012345"),
    ("github gho_", "tok = gho_CanaryGho0123456789abcdefABCDEF012345",
     "gho_CanaryGho0123456789abcdefABCDEF012345"),
    ("github ghs_", "x-access-token ghs_CanaryGhs0123456789abcdefABCDEF012345",
     "ghs_CanaryGhs0123456789abcdefABCDEF012345"),
    ("github_pat_", "pat = 'github_pat_11CANARY0123456789_abcdefghijklmnopqrstuvwxyz0123'",
     "github_pat_11CANARY0123456789_abcdefghijklmnopqrstuvwxyz0123"),
    ("openai sk-", 'client = OpenAI(api_key="sk-CanaryOpenAi0123456789abcdefXYZ")',
     "sk-CanaryOpenAi0123456789abcdefXYZ"),
    ("openai sk-proj-", "key: sk-proj-CanaryProj0123456789abcdef_XYZ-42",
     "sk-proj-CanaryProj0123456789abcdef_XYZ-42"),
    ("stripe sk_live_", 'stripe.key = "sk_live_CanaryStripe0123456789ab"',
     "sk_live_CanaryStripe0123456789ab"),
    ("stripe rk_live_", "rk_live_CanaryRestricted012345678 used", "rk_live_CanaryRestricted012345678"),
    ("stripe sk_test_", "print('sk_test_CanaryTest0123456789abcd')", "sk_test_CanaryTest0123456789abcd"),
    ("slack xoxb-", 'slack = WebClient("xoxb-1234567890-CanarySlackBot")', "xoxb-1234567890-CanarySlackBot"),
    ("slack xoxp-", "xoxp-1234567890-CanarySlackUser", "xoxp-1234567890-CanarySlackUser"),
    ("google AIza", 'maps = "AIzaSyCanaryGoogle0123456789abcdefghijk"',
     "AIzaSyCanaryGoogle0123456789abcdefghijk"),
    ("hugging face hf_", "login(hf_CanaryHuggingFace0123456789abcdefgh)",
     "hf_CanaryHuggingFace0123456789abcdefgh"),
    ("aws access key id", 'aws_id = "AKIACANARY0123456789"', "AKIACANARY0123456789"),
    ("aws secret access key", "aws_secret_access_key = CanaryAwsSecret/K7MDENG/bPxRfiCYEXAMPLE",
     "CanaryAwsSecret/K7MDENG/bPxRfiCYEXAMPLE"),
    ("jwt", "Authorization = eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOjF9.Q2FuYXJ5Snd0U2lnbmF0dXJl",
     "eyJjYW5hcnkiOjF9.Q2FuYXJ5Snd0U2lnbmF0dXJl"),
    ("pem rsa", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}1\n-----END RSA PRIVATE KEY-----",
     f"{PEM_BODY}1"),
    ("pem ec", f"-----BEGIN EC PRIVATE KEY-----\n{PEM_BODY}2\n-----END EC PRIVATE KEY-----",
     f"{PEM_BODY}2"),
    ("pem openssh",
     f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}3\n-----END OPENSSH PRIVATE KEY-----",
     f"{PEM_BODY}3"),
    ("pem generic", f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}4\n-----END PRIVATE KEY-----",
     f"{PEM_BODY}4"),
    ("pgp private key block",
     f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{PEM_BODY}5\n=AbCd\n"
     "-----END PGP PRIVATE KEY BLOCK-----",
     f"{PEM_BODY}5"),
    ("url password", 'engine = create_engine("postgres://admin:CanaryDbPw42@db.example.com/prod")',
     "CanaryDbPw42"),
    ("url token user", "git clone https://CanaryUrlToken0123456789abc@github.com/org/repo",
     "CanaryUrlToken0123456789abc"),
    ("password assignment", 'password = "CanaryHunter2"', "CanaryHunter2"),
    ("api_key assignment", "api_key='CanaryApiKeyValue'", "CanaryApiKeyValue"),
    ("env file", "DB_PASSWORD=CanaryEnvPw99", "CanaryEnvPw99"),
    ("os.environ", 'os.environ["OPENAI_API_KEY"] = "CanaryEnvironValue"', "CanaryEnvironValue"),
    ("auth pair", 'requests.get(url, auth=("alice", "CanaryS3cretPw"))', "CanaryS3cretPw"),
    ("bearer header", 'headers = {"X": "Bearer CanaryBearer0123456789"}', "CanaryBearer0123456789"),
]
CANARY_IDS = [c[0] for c in CANARIES]
ALL_CODE = "\n".join(code for _, code, _ in CANARIES) + "\n"
SECRETS = [secret for _, _, secret in CANARIES]

# Ordinary text that must come out exactly as it went in.
ORDINARY = [
    "max_tokens = 512\nn_tokens = 7\ntokenizer = AutoTokenizer.from_pretrained('bert-base')",
    'tokenizer = "bert-base-uncased"',
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main)",
    "run id 123e4567-e89b-12d3-a456-426614174000",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    base64.b64encode(bytes(range(256)) * 8).decode(),
    "see https://github.com/org/repo and ssh://git@github.com/org/repo.git",
    "mailto:alice@example.com, alice@example.com",
    "authors = ['Alice', 'Bob']",
    "Epoch 3: loss=0.4312 acc=0.91 lr=0.001",
    'print(f"{name}: {value:.3f}")',
]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize(("fmt", "code", "secret"), CANARIES, ids=CANARY_IDS)
def test_canary_in_code_is_hidden(fmt: str, code: str, secret: str) -> None:
    out = redact_text(code)
    assert secret not in out
    assert "[REDACTED" in out


@pytest.mark.parametrize(("fmt", "code", "secret"), CANARIES, ids=CANARY_IDS)
def test_canary_in_param_value_is_hidden(fmt: str, code: str, secret: str) -> None:
    # a param whose value holds the line (a connection string, a header, a config snippet)
    assert secret not in str(redact_param("setting", code))
    assert secret not in str(redact_param("settings", {"inner": [code]}))


@pytest.mark.parametrize(
    "name",
    ["api_key", "db_password", "token", "OPENAI_API_KEY", "clientSecret", "credentials",
     "access_key", "private_key", "apikey", "passwd", "secret", "aws.secret_access_key",
     "model.auth_key", "token_count"],
)
def test_param_by_name_keeps_name_hides_value(name: str) -> None:
    assert redact_param(name, "CanaryPlainValue") == MARK
    assert redact_param(name, 1234) == MARK
    assert redact_mapping({name: "CanaryPlainValue", "lr": 0.1}) == {name: MARK, "lr": 0.1}


@pytest.mark.parametrize("name", ["max_tokens", "n_tokens", "tokenizer", "learning_rate",
                                  "keyword", "passage", "author", "key", "monkey", "cwd"])
def test_ordinary_param_names_stay_ordinary(name: str) -> None:
    assert not is_secret_name(name)
    assert redact_param(name, 512) == 512
    assert redact_param(name, "bert-base-uncased") == "bert-base-uncased"


def test_secret_name_parts() -> None:
    assert is_secret_name("APIKey") and is_secret_name("awsAccessKeyId")
    assert is_secret_name("password2") and is_secret_name("my-secret")
    assert not is_secret_name("tokens") and not is_secret_name("secretary")
    assert is_secret_name("dbpassword") and is_secret_name("GITHUBTOKEN")
    assert is_secret_name("DB_PWD") and redact_text("DB_PWD=hunter2") == f"DB_PWD={MARK}"
    assert redact_text("dbpassword = 'x1'") == f"dbpassword = '{MARK}'"
    assert not is_secret_name("key_id") and not is_secret_name("api")


def test_param_by_name_leaves_nothing_to_hide_alone() -> None:
    assert redact_param("use_token", True) is True
    assert redact_param("password", None) is None
    assert redact_param("password", "") == ""


def test_nested_param_values_by_name_and_value() -> None:
    value = {"api_key": "abc", "lr": 0.1, "nested": {"password": "x"},
             "urls": ("postgres://a:CanaryNestedPw@h/db",)}
    assert redact_param("config", value) == {
        "api_key": MARK, "lr": 0.1, "nested": {"password": MARK},
        "urls": (f"postgres://a:{MARK}@h/db",),
    }


def test_cell_literal_params_are_redacted_by_name_and_value() -> None:
    # every canary line as a string param, plus the real assignments among them
    cell = "".join(f"line{i} = {code!r}\n" for i, (_, code, _) in enumerate(CANARIES))
    cell += "\n".join(code for _, code, _ in CANARIES[:2] + CANARIES[-6:-4]) + "\n"
    cell += "api_token = 'CanaryX1'\nmax_tokens = 256\nn_tokens = 3\n"
    cell += "tokenizer = 'bert-base-uncased'\nlr = 0.1\nuse_token = True\n"
    analysis = analyze_cell(cell)
    assert "error" not in analysis
    params = analysis["literal_params"]
    assert len(params) == len(CANARIES) + 9  # `tok = gho_...` assigns a name, not a literal
    assert _leaks(json.dumps(params)) == [] and "CanaryX1" not in json.dumps(params)
    assert params["password"] == MARK and params["api_token"] == MARK
    assert params["api_key"] == MARK
    assert params["gh"] == "[REDACTED:github-token]"
    assert params["max_tokens"] == 256 and params["n_tokens"] == 3 and params["lr"] == 0.1
    assert params["tokenizer"] == "bert-base-uncased" and params["use_token"] is True


@pytest.mark.parametrize(("fmt", "code", "secret"), CANARIES, ids=CANARY_IDS)
def test_canary_in_env_value_is_hidden(fmt: str, code: str, secret: str) -> None:
    out = allowed_env({"XTRACK_NOTE": code, "PYTHONPATH": code})
    assert not _leaks(json.dumps(out))


def test_env_url_userinfo_is_hidden() -> None:
    out = allowed_env({"XTRACK_REMOTE_URL": "https://u:CanaryRemoteTok@h.example.com/x"})
    assert out == {"XTRACK_REMOTE_URL": f"https://u:{MARK}@h.example.com/x"}
    assert allowed_env({"XTRACK_SIGNING_KEY": "k"}) == {"XTRACK_SIGNING_KEY": MARK}


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_canaries_in_git_diff_are_hidden(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "train.py").write_text("lr = 0.1\n")
    (tmp_path / "old.py").write_text(ALL_CODE)  # removed lines must be hidden too
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    (tmp_path / "train.py").write_text("lr = 0.2\n" + ALL_CODE)
    (tmp_path / "old.py").unlink()
    diff = git_state(str(tmp_path))["diff"]
    assert "+lr = 0.2" in diff and "-lr = 0.1" in diff
    assert _leaks(diff) == []
    assert diff.count("[REDACTED") >= 2 * len(CANARIES)


def _png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG of pseudo-random pixels (so its base64 looks like any figure's)."""
    rows = b"".join(
        b"\x00" + bytes((x * 7 + y * 13 + (x * y) % 251) % 256 for x in range(width * 3))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# base64 that happens to contain an AWS-key-like run: in an image it must not be touched
PNG_B64 = base64.b64encode(_png()).decode() + "AKIAIOSFODNN7EXAMPLE"


def _notebook(code: str, *, secrets_in_outputs: bool = True) -> dict[str, object]:
    text = code if secrets_in_outputs else "ordinary output\n"
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {},
             "source": ["# Notes\n", "max_tokens and n_tokens are ordinary\n"]},
            {
                "cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                "source": code.splitlines(keepends=True),
                "outputs": [
                    {"name": "stdout", "output_type": "stream",
                     "text": text.splitlines(keepends=True)},
                    {"output_type": "error", "ename": "ValueError", "evalue": text,
                     "traceback": ["Traceback (most recent call last):\n", text]},
                    {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                     "data": {"text/plain": [text], "text/html": [f"<pre>{text}</pre>"]}},
                    {"output_type": "display_data", "metadata": {},
                     "data": {"image/png": PNG_B64, "text/plain": ["<Figure>"]}},
                ],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _nb_bytes(nb: dict[str, object]) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


@pytest.mark.parametrize(("fmt", "code", "secret"), CANARIES, ids=CANARY_IDS)
def test_canary_in_notebook_code_and_outputs_is_hidden(fmt: str, code: str, secret: str) -> None:
    raw = _nb_bytes(_notebook(code))
    out = redact_notebook_json(raw)
    text = out.decode()
    assert secret not in text and secret not in json.dumps(json.loads(out))
    assert json.loads(out)["cells"][1]["outputs"][3]["data"]["image/png"] == PNG_B64


def test_notebook_snapshot_hides_every_canary_and_keeps_the_png(tmp_path: Path) -> None:
    path = tmp_path / "analysis.ipynb"
    path.write_bytes(_nb_bytes(_notebook(ALL_CODE)))
    snap = read_notebook_snapshot(str(path))
    assert snap["size"] == path.stat().st_size
    data = snap["bytes"]
    assert _leaks(data.decode()) == []
    nb = json.loads(data)
    png = nb["cells"][1]["outputs"][3]["data"]["image/png"]
    assert png == PNG_B64
    assert base64.b64decode(png[: -len("AKIAIOSFODNN7EXAMPLE")]) == _png()
    # every part of a cell still reads: the markers sit where the secrets were
    assert "password = \"[REDACTED]\"\n" in nb["cells"][1]["source"]
    assert nb["cells"][0]["source"] == ["# Notes\n", "max_tokens and n_tokens are ordinary\n"]


def test_notebook_without_secrets_is_byte_identical(tmp_path: Path) -> None:
    nb = _notebook("max_tokens = 512\nplt.plot(x)\n", secrets_in_outputs=False)
    raw = json.dumps(nb, indent=2).encode()  # not Jupyter's layout: must still be untouched
    assert redact_notebook_json(raw) is raw
    path = tmp_path / "plain.ipynb"
    path.write_bytes(raw)
    assert read_notebook_snapshot(str(path))["bytes"] == raw


def test_notebook_lists_that_are_not_lines_keep_their_items() -> None:
    nb = _notebook("x = 1\n", secrets_in_outputs=False)
    nb["metadata"]["tags"] = ["parameters", "password=CanaryTag1", "plain"]
    out = json.loads(redact_notebook_json(_nb_bytes(nb)))
    assert out["metadata"]["tags"] == ["parameters", f"password={MARK}", "plain"]


def test_notebook_source_lines_keep_their_breaks() -> None:
    nb = _notebook("x = 1\n", secrets_in_outputs=False)
    nb["cells"][1]["source"] = ["a\r\n", 'password="x"\u2028y\n', "z"]
    out = json.loads(redact_notebook_json(_nb_bytes(nb)))
    assert out["cells"][1]["source"] == ["a\r\n", f'password="{MARK}"\u2028y\n', "z"]


def test_notebook_that_is_not_json_is_redacted_as_text() -> None:
    raw = b'{"cells": [ broken password = "CanaryBroken" \xff'
    out = redact_notebook_json(raw)
    assert b"CanaryBroken" not in out and out.endswith(b'" \xff')
    assert redact_notebook_json(b"not json at all") == b"not json at all"


def test_nbformat3_notebook_is_redacted() -> None:
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["token = 'CanaryV3Tok'\n"], "outputs": [
            {"output_type": "pyout", "text": ["sk-CanaryOpenAi0123456789abcdefXYZ\n"],
             "png": PNG_B64}]}]}]}
    out = json.loads(redact_notebook_json(_nb_bytes(nb)))
    cell = out["worksheets"][0]["cells"][0]
    assert cell["input"] == [f"token = '{MARK}'\n"]
    assert cell["outputs"][0]["text"] == ["[REDACTED:api-key]\n"]
    assert cell["outputs"][0]["png"] == PNG_B64


def test_redacting_twice_changes_nothing() -> None:
    once = redact_text(ALL_CODE)
    assert redact_text(once) == once
    assert redact_notebook_json(redact_notebook_json(_nb_bytes(_notebook(ALL_CODE)))) == (
        redact_notebook_json(_nb_bytes(_notebook(ALL_CODE)))
    )


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://admin:pw@host/db", f"postgres://admin:{MARK}@host/db"),
        ("mysql+pymysql://root:@localhost/x", "mysql+pymysql://root:@localhost/x"),
        ("https://x-access-token:ghs_" + "a" * 36 + "@github.com/o/r",
         "https://x-access-token:[REDACTED]@github.com/o/r"),
        ("https://user@host/x", "https://user@host/x"),
        ("stripe.api_key = 'sk_live_" + "b" * 24 + "'", "stripe.api_key = '[REDACTED:stripe-key]'"),
        ("AIza" + "c" * 35, "[REDACTED:google-api-key]"),
        ("hf_" + "d" * 34, "[REDACTED:huggingface-token]"),
        ("HTTPBasicAuth('alice', 'pw12345')", f"HTTPBasicAuth('alice', '{MARK}')"),
        ("os.environ['HF_TOKEN'] = 'abc'", f"os.environ['HF_TOKEN'] = '{MARK}'"),
        ('password = f"{user}-x1"', f'password = f"{MARK}"'),
        ('password = """one\ntwo"""\nx = 1', f'password = """{MARK}"""\nx = 1'),
        ("token = 'abc", f"token = '{MARK}"),  # unterminated: to the end of the line
    ],
)
def test_new_formats(text: str, expected: str) -> None:
    assert redact_text(text) == expected


# ---------------------------------------------------------------------------------------------
# linear time: checked on the regex's structure and on adversarial input (no clock involved)


def _repeats(items: object, after: list | None = None):  # noqa: ANN202
    """(op, max, what follows it in the pattern) for every repeat in a parsed regex."""
    from re import _constants as c
    from re import _parser as p

    after = after or []
    seq = list(items.data if isinstance(items, p.SubPattern) else items)  # type: ignore[attr-defined]
    for i, (op, av) in enumerate(seq):
        following = seq[i + 1 :] + after
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            yield op, av[1], following
            yield from _repeats(av[2])  # a repeated body: what follows is not known
        elif op is c.BRANCH:
            for alt in av[1]:
                yield from _repeats(alt, following)
        elif op is c.SUBPATTERN:
            yield from _repeats(av[3], following)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            yield from _repeats(av[1])
        elif op is c.ATOMIC_GROUP:
            yield from _repeats(av)


def _always_matches(following: list) -> bool:
    """Whether what follows a lazy repeat is an alternation with an alternative that matches
    at the end of the text: then the repeat never fails after scanning, it ends the match."""
    from re import _constants as c

    if not following or following[0][0] not in (c.BRANCH, c.SUBPATTERN):
        return False
    return "AT_END_STRING" in repr(following[0])


def test_every_unbounded_repeat_is_possessive_or_ends_the_match() -> None:
    from re import _constants as c
    from re import _parser as p

    tree = p.parse(redact_module._PASS.pattern)
    unbounded = [(op, rest) for op, mx, rest in _repeats(tree) if mx == c.MAXREPEAT]
    assert unbounded
    for op, rest in unbounded:
        assert op is c.POSSESSIVE_REPEAT or (op is c.MIN_REPEAT and _always_matches(rest))


def test_every_branch_starts_with_a_literal() -> None:
    from re import _constants as c
    from re import _parser as p

    tree = p.parse(redact_module._PASS.pattern)
    (op, av), = tree.data
    assert op is c.BRANCH
    assert all(alt.data[0][0] is c.LITERAL for alt in av[1])


ADVERSARIAL = {
    "token_____": "token_____",
    "a": "a",
    "sk- prefixes": " sk-ab",
    ":// without @": "://",
    "://user without @": "://" + "u" * 40,
    "-eyJ": "-eyJ",
    "eyJ first segments": "eyJabcdef.",
    'password="': 'password="',
    "-----BEGIN": "-----BEGIN ",
    "auth=(": 'auth=("',
    "AKIA": "AKIA",
    "bearer": "bearer ",
    "base64ish": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/",
}


@pytest.mark.parametrize("unit", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_adversarial_text_is_handled(unit: str) -> None:
    # 256 KB each: the old redactor needed minutes for this (see bench/bench_redact.py)
    text = unit * (256_000 // len(unit))
    out = redact_text(text)
    assert isinstance(out, str) and out.count("[REDACTED") <= len(text) // len(unit)


# ---------------------------------------------------------------------------------------------
# XTRACK_REDACT


@pytest.fixture
def user_env(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def set_patterns(value: str) -> None:
        monkeypatch.setenv("XTRACK_REDACT", value)

    yield set_patterns
    monkeypatch.delenv("XTRACK_REDACT", raising=False)
    redact_module.user_patterns()  # forget the cached patterns


def test_user_patterns_add_to_the_pass(user_env) -> None:  # noqa: ANN001
    user_env("corp-[0-9]{6};;internal_id=(\\w{4,32})\nZZ[A-Z]{3}")
    text = "id corp-123456, internal_id=abcd1234 and ZZTOP; corp-12 stays"
    assert redact_text(text) == f"id {MARK}, internal_id={MARK} and {MARK}; corp-12 stays"


def test_user_patterns_never_span_lines_and_reach_past_the_window(user_env) -> None:  # noqa: ANN001
    user_env("corp-[0-9]{6}")
    long_line = "x" * (3 * redact_module.USER_PATTERN_WINDOW + 17) + " corp-654321 end"
    assert redact_text(long_line).endswith(f" {MARK} end")
    straddle = "y" * (redact_module.USER_PATTERN_WINDOW - 5) + "corp-777777" + "y" * 10
    assert "corp-777777" not in redact_text(straddle)


def test_bad_user_pattern_warns_once_and_is_ignored(user_env) -> None:  # noqa: ANN001
    user_env("corp-[0-9]{6};;(unclosed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert redact_text("corp-123456") == MARK
        assert redact_text('password = "x1"') == f'password = "{MARK}"'
        assert redact_text("plain") == "plain"
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "XTRACK_REDACT" in messages[0] and "(unclosed" in messages[0]


def test_no_user_patterns_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XTRACK_REDACT", raising=False)
    assert redact_module.user_patterns() == ()
    assert redact_module.user_patterns({"XTRACK_REDACT": "a;;b"}) != ()
    assert re.compile("a") in redact_module.user_patterns({"XTRACK_REDACT": "a;;b"})


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "Qm7Zx2Lr9Kc4Vb8Nt1Hy6Pw3Jd5Fs0Ga2Ek4",
        "sk-proj-" + "Vn3Kq8Rt1Lm6Zx9Wc2Bd7Hf4Jp",
        "AIza" + "SyQ7mK2xL9rT4vW8nB3cZ6hJ1pD5fG0kE2y",
        "hf_" + "Zq8Lm3Xk7Rt2Vn9Wc4Bp6Hd1Jf5Gs0Ty",
        "sk_live_" + "Wq4Zn8Kt3Lm7Xc2Vb9Hp5Rd",
        "xoxb-" + "271828182845-314159265358-Rg5Tn8Wq2Kz7Lm4Xc9Vb1Hd",
    ],
)
def test_token_after_an_underscore_or_dash_is_hidden(token: str) -> None:
    # a metric name `loss_ghp_...`, an artifact name `notes-AIza...`
    for text in (f"loss_{token}", f"notes-{token}.txt", f"xt.log(**{{'m_{token}': 1}})"):
        assert token[-12:] not in redact_text(text), text
    # still not inside a longer word
    assert redact_text("task-" + "a" * 30) == "task-" + "a" * 30


def test_traceback_lines_holding_a_key_block_are_hidden() -> None:
    body = "MIIEowIBAAKCAQEAv7Rq2Lm9Xz4Kt8Wn3Pc6Hb1Jd5Fs0Gy2Ek7Qm"
    nb = _notebook("x = 1\n", secrets_in_outputs=False)
    nb["cells"][1]["outputs"] = [{
        "output_type": "error", "ename": "ValueError", "evalue": "bad",
        "traceback": ["ValueError: bad", "-----BEGIN RSA PRIVATE KEY-----", body,
                      "-----END RSA PRIVATE KEY-----", "after"],
    }]
    out = redact_notebook_json(_nb_bytes(nb)).decode()
    assert body not in out and "after" in out and "ValueError: bad" in out


@pytest.mark.parametrize("name", ["auth", "basic_auth", "httpAuth"])
def test_auth_pair_param_keeps_the_user_and_hides_the_password(name: str) -> None:
    assert redact_param(name, ("alice", "Au8Rt3Zq6Wm1Xk9Lp")) == ("alice", MARK)
    assert redact_mapping({name: ["alice", "Au8Rt3Zq6Wm1Xk9Lp"]}) == {name: ["alice", MARK]}
    # not a pair, or not under an auth name: as it was
    assert redact_param("author", ["alice", "bob"]) == ["alice", "bob"]
    assert redact_param(name, ["a", "b", "c"]) == ["a", "b", "c"]


def test_allowed_env_redacts_again_when_the_patterns_change(monkeypatch) -> None:
    # the result is kept between runs while the environment is the same: a new redaction
    # pattern (here from the environment) still applies to the next run's variables
    env = {"XTRACK_NOTE": "ticket corp-12345678"}
    first = allowed_env(env)
    assert first == {"XTRACK_NOTE": "ticket corp-12345678"}
    first["XTRACK_NOTE"] = "changed by the caller"
    assert allowed_env(env) == {"XTRACK_NOTE": "ticket corp-12345678"}
    monkeypatch.setenv("XTRACK_REDACT", "corp-[0-9]{8}")
    assert allowed_env(env) == {"XTRACK_NOTE": "ticket [REDACTED]"}
