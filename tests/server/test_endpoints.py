"""Every endpoint against a real server and a real store, responses checked against the
OpenAPI schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import API, Populated


async def error_of(jp_fetch: Any, *path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API.split("/"), *path, **kw)
    resp = info.value.response
    assert resp is not None
    return info.value.code, json.loads(resp.body)


async def test_status_names_the_store(api: Any, populated: Populated) -> None:
    status = await api("status", "Status")
    assert status == {"store": str(populated.root), "state": "ok", "runs": 4}


async def test_runs_page_has_total_and_requested_columns(api: Any, populated: Populated) -> None:
    page = await api("runs", "RunPage", limit="2", offset="1", order_by="number")
    assert page["total"] == 4
    assert [r["name"] for r in page["runs"]] == ["run-b", "run-c"]
    assert {"params.lr", "metrics.loss", "tags.team"} <= set(page["columns"])
    # Metric columns hold the last value, never the history.
    assert page["runs"][0]["metrics.loss"] == pytest.approx(1 / 50)
    only = await api("runs", "RunPage", columns="metrics.acc")
    assert [c for c in only["columns"] if "." in c and not c.startswith("git.")] == ["metrics.acc"]
    none = await api("runs", "RunPage", columns="")
    assert not any(c.startswith(("params.", "metrics.", "tags.")) for c in none["columns"])


async def test_runs_filter_and_sort_use_the_store_language(api: Any) -> None:
    page = await api("runs", "RunPage", filter="params.model = 'rf' and metrics.acc > 0.84",
                     order_by="metrics.acc desc")
    assert [r["name"] for r in page["runs"]] == ["run-c", "run-b"]
    grouped = await api("runs", "RunPage", order_by="experiment, number desc")
    assert [r["name"] for r in grouped["runs"]] == ["run-b", "run-a", "live", "run-c"]
    exp = await api("runs", "RunPage", experiment="exp2")
    assert exp["total"] == 2


async def test_runs_nonfinite_metrics_are_named(api: Any, populated: Populated) -> None:
    page = await api("runs", "RunPage", filter="status = 'running'")
    assert page["runs"][0]["metrics.loss"] == "Infinity"


async def test_bad_filter_is_400_with_caret(jp_fetch: Any) -> None:
    code, body = await error_of(jp_fetch, "runs", params={"filter": "metrics.acc >> 1"})
    assert code == 400
    assert body["reason"] == "filter"
    assert body["filter"] == "metrics.acc >> 1"
    assert body["message"].splitlines()[-1].strip() == "^"
    assert isinstance(body["position"], int) and body["position"] > 0


@pytest.mark.parametrize("arg", ["limit=-1", "offset=x", "limit=1.5"])
async def test_bad_paging_is_400(jp_fetch: Any, arg: str) -> None:
    name, value = arg.split("=")
    code, body = await error_of(jp_fetch, "runs", params={name: value})
    assert code == 400 and name in body["message"]


async def test_run_detail_has_everything(api: Any, populated: Populated) -> None:
    run = await api(f"runs/{populated.ids['a']}", "RunDetail")
    assert run["name"] == "run-a"
    assert run["params"] == {"lr": 0.1, "model": "svm", "seed": 1}
    assert run["code_text"] == "x = 0\nprint(x)\n"
    assert run["git"]["diff"].startswith("--- a/x.py")
    assert run["env_full"]["python"]["version"] == "3.11.0"
    assert run["metric_keys"] == ["acc", "loss"]
    assert run["has_notebook"] and run["has_lineage"]
    assert [a["name"] for a in run["artifacts"]][:2] == ["figure-1.png", "plots/roc.png"]


async def test_run_detail_links_inputs_to_their_producer(api: Any, populated: Populated) -> None:
    run = await api(f"runs/{populated.ids['c']}", "RunDetail")
    by_path = {f["path"]: f for f in run["inputs"]}
    assert by_path["out/model0.bin"]["producer"]["id"] == populated.ids["a"]
    assert by_path["data/train.csv"]["producer"] is None


async def test_run_by_number_and_prefix(api: Any, populated: Populated) -> None:
    by_number = await api("runs/2", "RunDetail")
    assert by_number["id"] == populated.ids["b"]
    by_prefix = await api(f"runs/{populated.ids['b'][:12]}", "RunDetail")
    assert by_prefix["number"] == 2


async def test_unknown_run_is_404_naming_the_range(jp_fetch: Any) -> None:
    code, body = await error_of(jp_fetch, "runs", "99")
    assert code == 404 and body["reason"] == "unknown_run"
    assert "#1..#4" in body["message"]


async def test_metric_history_full_and_downsampled(api: Any, populated: Populated) -> None:
    rid = populated.ids["a"]
    full = await api(f"runs/{rid}/metrics/loss", "MetricHistory")
    assert full["count"] == 5000 and len(full["value"]) == 5000 and not full["downsampled"]
    small = await api(f"runs/{rid}/metrics/loss", "MetricHistory", max_points="200")
    assert small["downsampled"] and small["count"] == 5000
    assert len(small["value"]) <= 200
    # The spike at step 1234 and the overall minimum survive.
    assert max(small["value"]) == max(full["value"])
    assert min(small["value"]) == min(full["value"])
    assert 1234 in small["step"]
    assert small["step"] == sorted(small["step"])


async def test_metric_history_keeps_nonfinite_values(api: Any, populated: Populated) -> None:
    hist = await api(f"runs/{populated.ids['running']}/metrics/loss", "MetricHistory")
    assert hist["value"] == ["NaN", "Infinity"]


async def test_metric_names_may_hold_slashes(jp_fetch: Any, api: Any, populated: Populated) -> None:
    from jupyter_xtrack.store import open_store

    with open_store(populated.root) as store:
        store.log_metrics([(populated.ids["b"], "val/loss", 0.5, 1, 0.0)])
    hist = await api(f"runs/{populated.ids['b']}/metrics/val/loss", "MetricHistory")
    assert hist["value"] == [0.5]


async def test_unknown_metric_is_404_listing_metrics(jp_fetch: Any, populated: Populated) -> None:
    code, body = await error_of(jp_fetch, "runs", populated.ids["a"], "metrics", "nope")
    assert code == 404 and "acc, loss" in body["message"]


async def test_artifact_bytes(jp_fetch: Any, populated: Populated) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", populated.ids["a"], "artifacts", "plots",
                          "roc.png")
    assert resp.body.startswith(b"\x89PNG")
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"].startswith("inline")
    text = await jp_fetch(*API.split("/"), "runs", populated.ids["a"], "artifacts", "notes.txt")
    assert text.body.decode() == "héllo"
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_unknown_artifact_is_404_listing_names(jp_fetch: Any, populated: Populated) -> None:
    code, body = await error_of(jp_fetch, "runs", populated.ids["a"], "artifacts", "nope.png")
    assert code == 404 and "figure-1.png" in body["message"]


async def test_blob_of_the_run_is_served(jp_fetch: Any, api: Any, populated: Populated) -> None:
    run = await api(f"runs/{populated.ids['a']}")
    code_hash = run["code"]["hash"]
    resp = await jp_fetch(*API.split("/"), "runs", populated.ids["a"], "blobs", code_hash)
    assert resp.body == b"x = 0\nprint(x)\n"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    # Run b does not refer to run a's code blob.
    code, body = await error_of(jp_fetch, "runs", populated.ids["b"], "blobs", code_hash)
    assert code == 404 and body["reason"] == "unknown_blob"


async def test_compare_sections_and_histories(api: Any, populated: Populated) -> None:
    ids = ",".join(populated.ids[k] for k in ("a", "b", "c"))
    comp = await api("compare", "Comparison", ids=ids, metrics="loss", max_points="100")
    assert comp["labels"] == ["#1 run-a", "#2 run-b", "#3 run-c"]
    params = comp["sections"]["params"]
    assert params["model"] == {"values": ["svm", "rf", "rf"], "differs": True}
    assert params["seed"] == {"values": [1, 1, 1], "differs": False}
    assert comp["sections"]["env"]["python"]["values"] == ["3.11.0", "3.11.1", "3.11.2"]
    assert comp["sections"]["git"]["dirty"]["differs"] is True
    assert comp["sections"]["data"]["in:out/model0.bin"]["values"][2].startswith("xxh3_128:")
    assert "-x = 0" in comp["code_diffs"]["#2 run-b"]
    loss = comp["histories"]["loss"]
    assert set(loss) == {populated.ids[k] for k in ("a", "b", "c")}
    assert len(loss[populated.ids["a"]]["value"]) <= 100


async def test_compare_auto_metric_picks_first_metric_with_a_history(
    api: Any, populated: Populated
) -> None:
    ids = ",".join(populated.ids[k] for k in ("a", "b"))
    # "acc" sorts first but each run logged it once: "loss" is the first with a line to draw.
    comp = await api("compare", "Comparison", ids=ids, auto_metric="1", max_points="50")
    assert list(comp["histories"]) == ["loss"]
    assert set(comp["histories"]["loss"]) == {populated.ids["a"], populated.ids["b"]}
    plain = await api("compare", "Comparison", ids=ids)
    assert plain["histories"] == {}
    chosen = await api("compare", "Comparison", ids=ids, metrics="acc", auto_metric="1")
    assert list(chosen["histories"]) == ["acc"]


@pytest.mark.parametrize("ids", ["", "1"])
async def test_compare_needs_two_runs(jp_fetch: Any, ids: str) -> None:
    code, body = await error_of(jp_fetch, "compare", params={"ids": ids})
    assert code == 400 and "2 to 500" in body["message"]


async def test_compare_unknown_run_is_404(jp_fetch: Any) -> None:
    code, _ = await error_of(jp_fetch, "compare", params={"ids": "1,77"})
    assert code == 404


@pytest.mark.parametrize("kind", ["notebook", "lineage"])
async def test_notebook_diff_in_nbdime_form(api: Any, populated: Populated, kind: str) -> None:
    diff = await api("diff", "NotebookDiff", a=populated.ids["a"], b=populated.ids["b"], kind=kind)
    assert diff["changed"] is True
    assert diff["a"]["number"] == 1 and diff["b"]["number"] == 2
    assert diff["base"]["nbformat"] == 4
    # nbdime's diff entries: a patch of "cells" somewhere in the list.
    assert any(entry.get("key") == "cells" for entry in diff["diff"])
    same = await api("diff", "NotebookDiff", a="1", b="1", kind=kind)
    assert same["changed"] is False and same["diff"] == []


async def test_diff_without_snapshot_is_404_with_hint(jp_fetch: Any, populated: Populated) -> None:
    code, body = await error_of(jp_fetch, "diff", params={"a": "1", "b": "4"})
    assert code == 404 and body["reason"] == "no_notebook" and "kind=lineage" in body["message"]
    code, body = await error_of(jp_fetch, "diff", params={"a": "1", "b": "2", "kind": "html"})
    assert code == 400 and "kind=notebook" in body["message"]


async def test_patch_renames_and_tags(jp_fetch: Any, api: Any, check_schema: Any) -> None:
    resp = await jp_fetch(*API.split("/"), "runs", "2", method="PATCH",
                          body=json.dumps({"name": "best", "tags": {"note": "<b>x</b>"}}),
                          headers={"Content-Type": "application/json"})
    check_schema("RunBrief", json.loads(resp.body))
    run = await api("runs/2", "RunDetail")
    assert run["name"] == "best" and run["tags"]["note"] == "<b>x</b>"


@pytest.mark.parametrize(
    "body, message",
    [('{"color": 1}', "unknown field"), ('{"name": 3}', "name must"),
     ('{"tags": {"a": 1}}', "tags must"), ("[1]", "JSON object"), ("{", "Invalid JSON")],
)
async def test_patch_refuses_bad_bodies(jp_fetch: Any, body: str, message: str) -> None:
    code, reply = await error_of(jp_fetch, "runs", "2", method="PATCH", body=body,
                                 headers={"Content-Type": "application/json"})
    assert code == 400 and message in reply["message"]
