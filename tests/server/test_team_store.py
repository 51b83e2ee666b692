"""A server pointed at a team store by URL: every member's runs with who ran each (GET users,
the `user` column and filter), sweeps whose trials ran on other machines (GET jobs' hosts),
the change feed over the store's change signature, and a database URL whose password never
shows.

`store_location` names the store as a user writes it in `c.XTrack.store`; add a param for
another backend (`"pg": the pg_url fixture`) and every test here runs against it too."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.server import facets
from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.liveness import this_host
from jupyter_xtrack.store.location import redact, store_root

from .conftest import API
from .team_scenario import on_host, populate_team
from .test_events import events_until

LOCAL = this_host()


@pytest.fixture(params=["sqlite", "pg_url"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The team store's location as configured: a URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/team"
    return str(request.getfixturevalue(request.param))


@pytest.fixture
def team(store_location: str) -> dict[str, str]:
    return populate_team(store_location)


@pytest.fixture
def jp_server_config(store_location: str, team: dict[str, str]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": store_location, "events_poll_s": 0.05},
    }


async def test_status_shows_the_configured_store(api: Any, store_location: str) -> None:
    status = await api("status", "Status")
    assert status["state"] == "ok" and status["runs"] == 7
    # A database URL as given (credentials masked); a sqlite:/// URL as the folder it names.
    assert status["store"] in (redact(store_location), str(store_root(store_location)))


async def test_users_lists_who_ran_the_runs_with_counts(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_USER", "alice")
    users = await api("users", "UserList")
    assert users["users"] == [
        {"user": "carol", "runs": 4},
        {"user": "alice", "runs": 2},
        {"user": "bob", "runs": 1},
    ]
    assert users["me"] == "alice" and users["truncated"] is False
    # Counted among the runs a filter matches (every filter given must match).
    narrowed = await api("users", "UserList", filter="experiment = 'main'")
    assert narrowed["users"] == [{"user": "carol", "runs": 4}, {"user": "alice", "runs": 2}]
    top = await api("users", "UserList", filter="parent_id = null")
    assert {u["user"]: u["runs"] for u in top["users"]} == {"carol": 1, "alice": 2, "bob": 1}


async def test_users_hears_of_a_new_person(api: Any, store_location: str) -> None:
    """An answer is kept only while nothing is committed: a newcomer's first run shows."""
    before = await api("users", "UserList")
    assert "dave" not in {u["user"] for u in before["users"]}
    with open_store(store_location) as store:
        store.create_run(name="first", user="dave")
    after = await api("users", "UserList")
    assert {"user": "dave", "runs": 1} in after["users"]


def test_user_counts_most_runs_first_and_truncated(
    team: dict[str, str], store_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users counted by the store's grouped count, most runs first, under a filter and an
    experiment, and cut at MAX_VALUES saying so."""
    with open_store(store_location) as store:
        with pytest.raises(ValueError, match="cannot count runs by 'params.lr'"):
            store.count_runs_by("params.lr")
        assert facets.user_counts(store, None, None) == (
            [("carol", 4), ("alice", 2), ("bob", 1)],
            False,
        )
        assert facets.user_counts(store, "kind = 'trial'", "main") == ([("carol", 3)], False)
        monkeypatch.setattr(facets, "MAX_VALUES", 2)
        listed, truncated = facets.user_counts(store, None, None)
        assert truncated and len(listed) == 2
        assert set(listed) <= {("carol", 4), ("alice", 2), ("bob", 1)}


async def test_users_refuses_a_bad_filter(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*API.split("/"), "users", params={"filter": "user = "})
    assert err.value.code == 400
    assert json.loads(err.value.response.body)["reason"] == "filter"


async def test_runs_carry_their_user_and_filter_by_it(api: Any, team: dict[str, str]) -> None:
    page = await api("runs", "RunPage", filter="user in ('alice', 'bob')", limit="50", columns="")
    assert {r["id"]: r["user"] for r in page["runs"]} == {
        team["a1"]: "alice",
        team["a2"]: "alice",
        team["b1"]: "bob",
    }
    detail = await api(f"runs/{team['b1']}", "RunDetail")
    assert detail["user"] == "bob" and detail["host"] == LOCAL


async def test_jobs_show_who_started_them_and_where_trials_ran(
    api: Any, team: dict[str, str]
) -> None:
    (job,) = (await api("jobs", "JobList"))["jobs"]
    assert job["run_id"] == team["sweep"] and job["user"] == "carol"
    assert job["trials"] == 3
    assert job["hosts"] == [{"host": "gpu-1", "runs": 2}, {"host": "gpu-2", "runs": 1}]


async def test_jobs_hosts_follow_a_running_sweep(
    api: Any, team: dict[str, str], store_location: str
) -> None:
    """A trial a third machine adds while the sweep runs shows on the next listing (a
    running job's hosts are read again, an ended job's are kept)."""
    await api("jobs", "JobList")
    with open_store(store_location) as store, on_host("cpu-9"):
        store.create_run(name="t3", kind="trial", parent_id=team["sweep"], user="carol")
    (job,) = (await api("jobs", "JobList"))["jobs"]
    assert {h["host"]: h["runs"] for h in job["hosts"]} == {"gpu-1": 2, "gpu-2": 1, "cpu-9": 1}


async def test_change_feed_hears_a_run_committed_to_the_store(
    api: Any, store_location: str
) -> None:
    cursor = (await api("events", "Events"))["cursor"]

    def write() -> str:
        with open_store(store_location) as store:
            rid, _ = store.create_run(name="late", user="dave")
            store.finish_run(rid, status="finished")
            return rid

    rid = await asyncio.get_running_loop().run_in_executor(None, write)
    heard = await events_until(api, cursor, lambda h: rid in h["changed"] or h["reset"])
    assert heard["cursor"] > cursor


class TestUnreachableDatabase:
    """A store on a database server that does not answer: the sidebar says so, and the URL's
    password appears in no answer."""

    URL = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/team"

    @pytest.fixture
    def jp_server_config(self) -> dict[str, Any]:
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
            "XTrack": {"store": self.URL, "events_poll_s": 0.05},
        }

    async def test_status_is_an_error_without_the_password(self, api: Any) -> None:
        status = await api("status", "Status")
        assert status["state"] == "error" and status["runs"] == 0
        assert "127.0.0.1:1/team" in status["store"]
        assert "s3cr3t" not in json.dumps(status)

    async def test_reads_answer_503_without_the_password(self, jp_fetch: Any) -> None:
        for path in ("runs", "users", "jobs", "events"):
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch(*API.split("/"), path)
            body = err.value.response.body.decode()
            assert err.value.code == 503, (path, body)
            assert json.loads(body)["reason"] == "store" and "s3cr3t" not in body
