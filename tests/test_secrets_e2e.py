"""Canaries in every token format, through a real kernel: none reaches the store, the REST API
or the Python API.

One notebook, saved with earlier outputs that hold every canary, runs under nbclient in a
git repository whose diff holds canaries, with a canary in an allowlisted environment
variable. Its tracked cells assign, print, write to stderr and raise the canaries and hand them
to log_params, set_tags, --tag, artifact names and metric names. Then the whole store (the
database, its WAL and every blob), every REST response about the runs, and `xt.runs()` /
`xt.get_run` are searched for each canary, one table row per format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the real server fixtures

from .conftest import git

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Canary:
    """One token format. `line` is the cell's assignment (binding `name`); `text` is how it is
    printed, raised and saved in old outputs: the bare value when the format is recognisable
    alone, else with the context that makes it a secret; `in_names` when the value may also go
    into a tag, an artifact name and a metric name (a one-line token). `secret` is the random
    core that must be nowhere."""

    format: str
    name: str
    line: str
    text: str
    secret: str
    in_names: bool = False


def _canaries() -> tuple[Canary, ...]:
    gh = "ghp_" + "Qm7Zx2Lr9Kc4Vb8Nt1Hy6Pw3Jd5Fs0Ga2Ek4"
    oa = "sk-proj-" + "Vn3Kq8Rt1Lm6Zx9Wc2Bd7Hf4Jp"
    jwt_sig = "Tk9wR3xLm8Qz2Vb5Nc1Hy7Pd4Jf"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnk3UTJ6In0." + jwt_sig
    slack = "xoxb-" + "271828182845-314159265358-Rg5Tn8Wq2Kz7Lm4Xc9Vb1Hd"
    google = "AIza" + "SyQ7mK2xL9rT4vW8nB3cZ6hJ1pD5fG0kE2y"
    hf = "hf_" + "Zq8Lm3Xk7Rt2Vn9Wc4Bp6Hd1Jf5Gs0Ty"
    stripe = "sk_live_" + "Wq4Zn8Kt3Lm7Xc2Vb9Hp5Rd"
    rsa_body = "MIIEowIBAAKCAQEAv7Rq2Lm9Xz4Kt8Wn3Pc6Hb1Jd5Fs0Gy2Ek7Qm"
    rsa = f"-----BEGIN RSA PRIVATE KEY-----\n{rsa_body}\n-----END RSA PRIVATE KEY-----"
    pgp_body = "lQOYBGXq7Rk2Lm9Xz4Kt8Wn3Pc6Hb1Jd5FsQw8Zr"
    pgp = (f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{pgp_body}\n"
           "-----END PGP PRIVATE KEY BLOCK-----")
    pw = "Hx4Tq9Wm2Zp7Kd"
    env_key = "Ek6Wr2Zq9Lm4Xt8Nb"
    auth_pw = "Au8Rt3Zq6Wm1Xk9Lp"
    return (
        Canary("github", "token", f"token = {gh!r}", gh, gh[4:], True),
        Canary("password", "password", f"password = {pw!r}", f"password = {pw!r}", pw),
        Canary("openai", "api_key", f"api_key = {oa!r}", oa, oa[8:], True),
        Canary("jwt", "session", f"session = {jwt!r}", jwt, jwt_sig),
        Canary("slack", "hook", f"hook = {slack!r}", slack, slack[-24:], True),
        Canary("google", "gkey", f"gkey = {google!r}", google, google[4:], True),
        Canary("huggingface", "hf", f"hf = {hf!r}", hf, hf[3:], True),
        Canary("stripe", "stripe", f"stripe = {stripe!r}", stripe, stripe[8:], True),
        Canary("rsa-pem", "pem", f"pem = {rsa!r}", rsa, rsa_body),
        Canary("pgp", "pgp", f"pgp = {pgp!r}", pgp, pgp_body),
        Canary("os.environ", "env_line",
               f"os.environ['OPENAI_API_KEY'] = {env_key!r}",
               f"os.environ['OPENAI_API_KEY'] = {env_key!r}", env_key),
        Canary("auth-pair", "auth", f"auth = ('alice', {auth_pw!r})",
               f"requests.get(url, auth=('alice', {auth_pw!r}))", auth_pw),
    )


CANARIES = _canaries()
# Secrets that do not come from a cell: the git diff and an allowlisted environment variable.
DB_OLD = "Dq2Wm8Zt4Lk7Xr"
DB_NEW = "Ur5Lq8Zt2Wm7Kx"
REMOTE = "Ev3Tk9Zq4Wm8LxRb"
OUTSIDE = {"git-diff-old": DB_OLD, "git-diff-new": DB_NEW, "env-url": REMOTE}
ALL_SECRETS = {**{c.format: c.secret for c in CANARIES}, **OUTSIDE}


def _old_outputs() -> list[Any]:
    """Outputs of an earlier execution, as the saved notebook holds them."""
    printed = "\n".join(c.text for c in CANARIES) + f"\npostgres://admin:{DB_NEW}@db/prod\n"
    return [
        nbformat.v4.new_output("stream", name="stdout", text=printed),
        nbformat.v4.new_output("stream", name="stderr", text=printed),
        nbformat.v4.new_output("error", ename="ValueError", evalue=CANARIES[0].text,
                               traceback=printed.splitlines()),
    ]


def _cells() -> list[str]:
    texts = "[" + ", ".join(repr(c.text) for c in CANARIES) + "]"
    in_names = [c for c in CANARIES if c.in_names]
    tags = ", ".join(f"tag_{c.format}={c.name}" for c in in_names)
    metrics = ", ".join(f"'m_{c.text}': 0.5" for c in in_names)
    first = in_names[0].text
    track = (
        "%%track --name secrets --tag stage=dev "
        + " ".join(f"--tag t_{c.format}={c.text}" for c in in_names)
        + "\n"
    )
    lines = [
        "import os, sys",
        "import config",
        *(c.line for c in CANARIES),
        f"texts = {texts}",
        "for t in texts:",
        "    print(t)",
        "    print(t, file=sys.stderr)",
        "print(config.DB_URL)",
        "print(os.environ['XTRACK_REMOTE_URL'])",
        f"xt.log_params(api_key={first!r}, db_password={CANARIES[1].secret!r}, max_tokens=512,"
        " tokenizer='bpe')",
        f"xt.set_tags({tags}, team='ml')",
        f"for c in {[c.text for c in in_names]!r}:",
        "    xt.log_artifact('notes.txt', name=f'notes-{c}.txt')",
        "xt.log(tokens_per_s=1200.0)",
        "xt.log(**{" + metrics + "})",
    ]
    body = "\n".join(lines) + "\n"
    raiser = (
        "%%track --name raiser\n"
        "message = " + texts + "\n"
        "raise ValueError('\\n'.join(message))\n"
    )
    return ["%load_ext jupyter_xtrack", track + body, raiser]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the notebook in a real kernel; returns the store folder."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("canary")
    repo = tmp / "repo"
    repo.mkdir()
    store = tmp / "store"
    git(repo, "init", "-q", "-b", "main")
    (repo / "config.py").write_text(f'DB_URL = "postgres://admin:{DB_OLD}@db/prod"\n')
    (repo / "notes.txt").write_text("plain text\n")
    git(repo, "add", "config.py", "notes.txt")
    git(repo, "commit", "-q", "-m", "init")
    (repo / "config.py").write_text(f'DB_URL = "postgres://admin:{DB_NEW}@db/prod"\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _cells()]
    nb.cells[1].outputs = _old_outputs()
    nb.cells[1].execution_count = 2
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = repo / "secrets.ipynb"
    nbformat.write(nb, path)
    mp.setenv("XTRACK_STORE", str(store))
    mp.setenv("JPY_SESSION_NAME", str(path))
    mp.setenv("XTRACK_REMOTE_URL", f"https://u:{REMOTE}@h.example/x")
    try:
        ran = nbformat.read(path, as_version=4)
        NotebookClient(ran, timeout=180, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(repo)}}).execute()
        # what the tracker itself wrote into the notebook: the run cards
        cards = [o for cell in ran.cells for o in cell.get("outputs", [])
                 if "jupyter_xtrack" in o.get("metadata", {})]
        (tmp / "cards.json").write_text(json.dumps(cards))
    finally:
        mp.undo()
    return store


def _store_text(root: Path) -> str:
    """The database, its WAL and every blob (stored as written: blobs are not compressed)."""
    raw = b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
    return raw.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def api_text(executed: Path) -> str:
    """Everything `xt.runs()` and `xt.get_run` show about the runs, in this process."""
    import jupyter_xtrack as xt
    from jupyter_xtrack.tracking.session import CONTEXT

    xt.open_store(executed)
    try:
        frame = xt.runs()
        parts = [frame.to_csv()]
        for ref in frame["id"]:
            run = xt.get_run(str(ref))
            parts += [repr(run), str(run), run.summary_line(), repr(run.record)]
            views = (run.code, run.lineage, run.notebook, run.env, run.git, run.error,
                     run.stdout, run.stderr, run.params, run.tags, run.metrics,
                     run.artifacts, run.summary_fields())
            parts += [json.dumps(v, default=repr) for v in views]
            parts += [run.history(m).to_csv() for m in run.metrics]
        text = "\n".join(parts)
        assert "xt.log_params(" in text and "tokens_per_s" in text  # the code came back
        return text
    finally:
        CONTEXT.reset()


def test_the_tracked_cells_ran(executed: Path) -> None:
    from jupyter_xtrack.store import open_store

    store = open_store(executed)
    try:
        runs = {store.get_run(n)["name"]: store.get_run(n) for n in (1, 2)}
    finally:
        store.close()
    assert runs["secrets"]["status"] == "finished", runs["secrets"].get("facts")
    assert runs["raiser"]["status"] == "failed"
    # Ordinary names that merely mention tokens are kept as given.
    params = runs["secrets"]["params"]
    assert params["max_tokens"] == 512 and params["tokenizer"] == "bpe"
    assert "api_key" in params and "db_password" in params and "password" in params
    assert runs["secrets"]["tags"]["team"] == "ml"
    # The secrets from outside the cells were captured, hidden: the git diff (old and new
    # line), the allowlisted environment variable, the printed URLs.
    stored = _store_text(executed)
    assert stored.count("postgres://admin:[REDACTED]@db/prod") >= 3
    assert "XTRACK_REMOTE_URL" in stored and "https://u:[REDACTED]@h.example/x" in stored


@pytest.mark.parametrize("where", ["store", "python api", "run card"])
@pytest.mark.parametrize("fmt", list(ALL_SECRETS))
def test_no_canary_is_stored_or_returned(fmt: str, where: str, executed: Path,
                                         api_text: str) -> None:
    if where == "store":
        haystack = _store_text(executed)
    elif where == "python api":
        haystack = api_text
    else:
        haystack = (executed.parent / "cards.json").read_text()
        assert "xtrack #1 secrets" in haystack
    assert ALL_SECRETS[fmt] not in haystack


def test_ordinary_metric_names_are_kept(executed: Path) -> None:
    from jupyter_xtrack.store import open_store

    store = open_store(executed)
    try:
        run_id = store.get_run(1)["id"]
        names = store.metric_keys(run_id)
        history = store.metric_history(run_id, "tokens_per_s")
    finally:
        store.close()
    assert history["value"] == [1200.0]
    # every metric named after a secret is still there, under a redacted name
    assert "tokens_per_s" in names
    assert len([n for n in names if n.startswith("m_")]) == len(
        [c for c in CANARIES if c.in_names]
    )


# ---------------------------------------------------------------------------------------------
# the REST API


@pytest.fixture
def jp_server_config(executed: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": str(executed), "events_poll_s": 0.05},
    }


_HASH = re.compile(r"xxh3_128:[0-9a-f]{32}")


def test_no_canary_in_any_rest_response(jp_fetch: Any, jp_asyncio_loop: Any,
                                        executed: Path) -> None:
    # pytest-jupyter runs async tests only under tests/server; this one drives its loop
    bodies = jp_asyncio_loop.run_until_complete(_rest_bodies(jp_fetch))
    assert any(k.startswith("runs/") and "/blobs/" in k for k in bodies)
    leaks = {
        fmt: [route for route, body in bodies.items() if secret in body]
        for fmt, secret in ALL_SECRETS.items()
    }
    assert {fmt: routes for fmt, routes in leaks.items() if routes} == {}


async def _rest_bodies(jp_fetch: Any) -> dict[str, str]:
    """Every response about the runs: route -> body."""
    bodies: dict[str, str] = {}

    async def get(*path: str, **params: Any) -> str:
        resp = await jp_fetch("xtrack", "api", *path, params=params, raise_error=False)
        text: str = resp.body.decode("utf-8", "replace")
        assert resp.code == 200, f"{'/'.join(path)}: {resp.code} {text[:300]}"
        bodies["/".join(path) + (f"?{params}" if params else "")] = text
        return text

    page = json.loads(await get("runs", limit="100"))
    ids = [r["id"] for r in page["runs"]]
    assert len(ids) == 2
    await get("status")
    await get("runs", filter="status = 'finished'", order_by="number")
    for rid in ids:
        detail = json.loads(await get("runs", rid))
        for name in detail.get("metrics", {}) or {}:
            await get("runs", rid, "metrics", name)
        for art in detail.get("artifacts", []) or []:
            await get("runs", rid, "artifacts", art["name"])
        for h in sorted(set(_HASH.findall(json.dumps(detail)))):
            resp = await jp_fetch("xtrack", "api", "runs", rid, "blobs", h, raise_error=False)
            if resp.code == 200:  # a file hash (input/output data) is not a stored blob
                bodies[f"runs/{rid}/blobs/{h}"] = resp.body.decode("utf-8", "replace")
    await get("compare", ids=",".join(ids))
    await get("diff", a=ids[0], b=ids[1], kind="notebook")
    resp = await jp_fetch("xtrack", "api", "diff", params={"a": ids[0], "b": ids[1],
                          "kind": "lineage"}, raise_error=False)
    bodies["diff?kind=lineage"] = resp.body.decode("utf-8", "replace")
    await get("events", timeout="0")
    await get("jobs")
    return bodies
