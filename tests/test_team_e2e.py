"""A team on one PostgreSQL store and one bucket, end to end: two people's real kernels
(nbclient) track into the same database with their blobs in an S3-protocol bucket (moto's
server), and each sees everyone's runs, with who ran each, from any client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook
from tests.store.s3server import ACCESS_KEY, SECRET_KEY, bucket_keys, make_bucket, moto_server

pytestmark = pytest.mark.slow

BUCKET = "team-e2e"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        make_bucket(endpoint, BUCKET)
        yield endpoint


def _team_env(pg_url: str, endpoint: str, user: str, home: Path) -> dict[str, str]:
    """What each member sets: the two URLs and their credentials (never stored)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XTRACK_"))}
    env.update({
        "XTRACK_STORE": pg_url,
        "XTRACK_ARTIFACTS": f"s3://{BUCKET}/xtrack",
        "XTRACK_USER": user,
        "XTRACK_SYSTEM_METRICS": "off",
        "XTRACK_AUTO_EVAL": "0",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "XDG_CACHE_HOME": str(home / "cache"),
    })
    return env


def _run_notebook(folder: Path, env: dict[str, str], *cells: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nb = python_notebook("%load_ext jupyter_xtrack", *cells)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits the member's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_two_members_track_into_one_postgresql_store_and_bucket(
    pg_url: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _team_env(pg_url, s3_endpoint, "alice", tmp_path / "alice")
    bob = _team_env(pg_url, s3_endpoint, "bob", tmp_path / "bob")
    _run_notebook(
        tmp_path / "alice" / "work", alice,
        "%%track --name a-baseline\nimport pandas as pd\n"
        "df = pd.DataFrame({'x': range(100)})\nlr = 0.1\nacc = 0.81\n"
        "xt.log_artifact(b'alice model', 'model.bin')",
    )
    _run_notebook(
        tmp_path / "bob" / "work", bob,
        "%%track --name b-tuned\nlr = 0.01\nacc = 0.86",
        "xt.runs()[['name', 'user']].to_csv('seen.csv', index=False)",
    )
    # bob's kernel saw alice's run too: one store for the team
    seen = (tmp_path / "bob" / "work" / "seen.csv").read_text().splitlines()
    assert sorted(seen[1:]) == ["a-baseline,alice", "b-tuned,bob"]
    # nothing was kept in a local .xtrack/: both kernels reached the team store
    assert not (tmp_path / "alice" / "work" / ".xtrack").exists()
    assert not (tmp_path / "bob" / "work" / ".xtrack").exists()

    for key, value in alice.items():
        if key.startswith(("AWS_", "XDG_")):
            monkeypatch.setenv(key, value)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    with open_store(pg_url, artifacts=f"s3://{BUCKET}/xtrack") as store:
        table = store.query_runs("user = 'alice'")
        assert table.columns["name"] == ["a-baseline"]
        run = store.get_run(table.ids[0])
        assert run["status"] == "finished" and run["params"]["lr"] == 0.1
        assert run["metrics"]["acc"] == 0.81
        (artifact,) = [a for a in run["artifacts"] if a["name"] == "model.bin"]
        assert store.get_blob(artifact["hash"]) == b"alice model"
        digest = artifact["hash"].split(":")[1]
        assert f"xtrack/{digest[:2]}/{digest[2:]}" in bucket_keys(s3_endpoint, BUCKET)
        (frame,) = [d for d in run["datasets"] if d["name"] == "df"]
        assert frame["hash"]
        assert store.query_runs("user = 'bob'").columns["name"] == ["b-tuned"]
