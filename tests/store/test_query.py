"""query_runs: the filter language (table-driven), ordering, paging, columns, frames."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from jupyter_xtrack.store import FilterError, Store
from jupyter_xtrack.store.query import compile_filter

NOV = datetime(2026, 11, 15, tzinfo=timezone.utc).timestamp()
JUN = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def runs(store: Store) -> dict[str, str]:
    """Five runs with varied params/metrics/tags/status; returns label -> id."""
    ids: dict[str, str] = {}

    def make(
        label: str,
        *,
        started: float,
        status: str | None,
        ended: float | None = None,
        params: dict | None = None,
        metrics: dict | None = None,
        **kw: object,
    ) -> None:
        run_id, _ = store.create_run(started_at=started, **kw)  # type: ignore[arg-type]
        if params:
            store.set_params(run_id, params)
        if metrics:
            store.log_metrics([(run_id, k, v, 0, started) for k, v in metrics.items()])
        if status:
            store.finish_run(run_id, status=status, ended_at=ended or started + 10)
        ids[label] = run_id

    make(
        "r1",
        name="resnet-a",
        experiment="exp1",
        started=NOV,
        status="finished",
        params={"lr": 0.1, "optimizer": "adam", "layers": 3, "flag": True},
        metrics={"acc": 0.9, "loss": 0.3},
        tags={"team": "vision"},
    )
    make(
        "r2",
        name="resnet-b",
        experiment="exp1",
        started=NOV + 1,
        status="failed",
        params={"lr": 0.01, "optimizer": "sgd", "layers": 5},
        metrics={"acc": 0.95, "loss": math.nan},
        tags={"team": "nlp", "note": "retry later"},
    )
    make(
        "r3",
        name="bert",
        experiment="exp2",
        started=NOV + 2,
        status=None,
        params={"lr": 0.001, "optimizer": "adamw", "my-lr": 7, "seed": "1"},
        metrics={"acc": 0.5},
    )
    make("r4", started=NOV + 3, status="crashed")
    make(
        "r5",
        name="vit",
        kind="script",
        started=JUN,
        status="finished",
        params={"lr": 1, "optim.lr": 0.5, "optimizer": "Adam"},
        metrics={"acc": math.inf},
    )
    store.set_facts(ids["r4"], git={"commit": "abc123", "branch": "main", "dirty": True})
    return ids


VALID = [
    ("", "r1 r2 r3 r4 r5"),
    ("params.lr > 0.01", "r1 r5"),
    ("params.lr >= 0.01", "r1 r2 r5"),
    ("params.lr = 1", "r5"),
    ("params.lr != 0.1", "r2 r3 r5"),
    ("not (params.lr = 0.1)", "r2 r3 r4 r5"),
    ("params.lr = null", "r4"),
    ("params.lr != null", "r1 r2 r3 r5"),
    ("params.optimizer = 'adam'", "r1"),
    ('params.optimizer = "adam"', "r1"),
    ("params.optimizer ~ 'ADAM'", "r1 r3 r5"),
    ("params.optimizer ~ 'adam*'", "r1 r3"),
    ("params.optimizer ~ '?gd'", "r2"),
    ("params.optimizer in ('sgd', 'adamw')", "r2 r3"),
    ("params.optimizer not in ('sgd', 'adamw')", "r1 r5"),
    ("not params.optimizer in ('sgd', 'adamw')", "r1 r4 r5"),
    ("params.optimizer > 'b'", "r2"),
    ("params.`my-lr` = 7", "r3"),
    ("params.optim.lr = 0.5", "r5"),
    ("params.seed = 1", ""),
    ("params.seed = '1'", "r3"),
    ("params.flag = true", "r1"),
    ("params.layers in (3, 5)", "r1 r2"),
    ("metrics.acc > 0.9", "r2 r5"),
    ("metrics.acc >= 0.9 and metrics.acc < 1", "r1 r2"),
    ("metrics.acc > 0.9 and params.optimizer = 'sgd'", "r2"),
    ("metrics.acc > 0.9 or status = 'crashed'", "r2 r4 r5"),
    ("metrics.loss = null", "r2 r3 r4 r5"),
    ("metrics.acc > -1e3", "r1 r2 r3 r5"),
    ("tags.team = 'vision'", "r1"),
    ("tags.note ~ 'RETRY'", "r2"),
    ("tags.team != 'vision'", "r2"),
    ("status in ('failed', 'crashed')", "r2 r4"),
    ("status != 'finished'", "r2 r3 r4"),
    ("status = 'running'", "r3"),
    ("name ~ 'resnet'", "r1 r2"),
    ("name ~ 'res*'", "r1 r2"),
    ("name = null", "r4"),
    ("not name ~ 'resnet'", "r3 r4 r5"),
    ("experiment = 'exp2'", "r3"),
    ("kind = 'script'", "r5"),
    ("git.commit = 'abc123' and git.dirty = true", "r4"),
    ("git.branch = 'main'", "r4"),
    ("git.dirty = false", ""),
    ("started_at < '2026-01-01'", "r5"),
    ("started_at > '2026-11-01T00:00:00Z'", "r1 r2 r3 r4"),
    ("started_at >= '2026-11-15T00:00:01+00:00'", "r2 r3 r4"),
    ("number = 3", "r3"),
    ("number >= 4", "r4 r5"),
    ("duration_s > 0", "r1 r2 r4 r5"),
    ("ended_at = null", "r3"),
    ("(params.lr > 0.01 or params.lr < 0.005) and not status = 'running'", "r1 r5"),
    ("params.lr > 0.01 AND NOT name = 'vit'", "r1"),
    ("((metrics.acc > 0.9))", "r2 r5"),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_filter_selects_expected_runs(
    store: Store, runs: dict[str, str], text: str, expected: str
) -> None:
    got = set(store.query_runs(text).ids)
    assert got == {runs[label] for label in expected.split()}, text


def test_filter_by_id(store: Store, runs: dict[str, str]) -> None:
    assert store.query_runs(f"id = '{runs['r2']}'").ids == [runs["r2"]]
    assert store.query_runs(f"parent_id = '{runs['r2']}'").ids == []


INVALID = [
    ("metrics.acc >", 13, "expected a value"),
    ("metrics.acc > > 1", 14, "expected a value"),
    ("foo = 1", 0, "unknown field 'foo'"),
    ("params.lr = adam", 12, "quote text values: 'adam'"),
    ("(params.lr = 1", 14, "expected ')'"),
    ("params.lr = 1 params.x = 2", 14, "expected 'and', 'or' or the end"),
    ("metrics.acc = 'high'", 14, "holds numbers"),
    ("status = 'finised'", 9, "unknown status 'finised'"),
    ("params.lr = 'abc", 12, "closing quote"),
    ("started_at > 'yesterday'", 13, "not an ISO date"),
    ("params.lr > null", 12, "null can only be compared with = or !="),
    ("params = 1", 0, "params needs a key"),
    ("metrics.acc ~ 'x'", 14, "'~' matches text"),
    ("params.x in 1", 12, "expected '('"),
    ("params.x in (1, null)", 16, "null cannot appear"),
    ("params.x 1", 9, "expected an operator"),
    ("and x = 1", 0, "expected a field"),
    ("params.x = 1 and", 16, "expected a field"),
    ("params.x = 1 &", 13, "unexpected character '&'"),
    ("params.x ~ 3", 11, "needs a quoted pattern"),
]


@pytest.mark.parametrize(("text", "position", "message"), INVALID)
def test_malformed_filter_points_at_the_bad_token(
    store: Store, text: str, position: int, message: str
) -> None:
    with pytest.raises(FilterError) as info:
        store.query_runs(text)
    err = info.value
    assert err.position == position, str(err)
    assert message in str(err)
    lines = str(err).splitlines()
    assert lines[-2] == "  " + text
    assert lines[-1] == "  " + " " * position + "^"


def test_values_are_parameters_never_pasted(store: Store, runs: dict[str, str]) -> None:
    evil = "x'); DROP TABLE runs; --"
    compiled = compile_filter(f'name = "{evil}" or params.`a\'b` = 1')
    assert evil not in compiled.sql and "a'b" not in compiled.sql
    assert evil in compiled.params
    assert store.query_runs(f'name = "{evil}"').ids == []
    assert len(store.query_runs()) == 5


def test_order_limit_offset_total(store: Store, runs: dict[str, str]) -> None:
    everything = store.query_runs()
    assert everything.ids == [runs[k] for k in ("r5", "r4", "r3", "r2", "r1")], "newest first"
    assert everything.total == 5
    by_acc = store.query_runs(order_by="metrics.acc desc")
    assert by_acc.ids == [runs[k] for k in ("r5", "r2", "r1", "r3", "r4")], "missing last"
    by_acc_asc = store.query_runs(order_by="metrics.acc")
    assert by_acc_asc.ids == [runs[k] for k in ("r3", "r1", "r2", "r5", "r4")], "missing last"
    two = store.query_runs(order_by=["params.optimizer", "started_at desc"], limit=2, offset=1)
    # optimizer text order: Adam (r5) < adam (r1) < adamw (r3) < sgd (r2), r4 missing
    assert two.ids == [runs["r1"], runs["r3"]]
    assert two.total == 5
    page = store.query_runs("metrics.acc > 0", order_by="name desc", limit=1)
    assert page.ids == [runs["r5"]] and page.total == 4
    assert store.query_runs(limit=0).ids == [] and store.query_runs(limit=0).total == 5
    assert store.query_runs(experiment="exp1", order_by="number").ids == [runs["r1"], runs["r2"]]
    with pytest.raises(FilterError, match="asc' or 'desc"):
        store.query_runs(order_by="metrics.acc sideways")
    with pytest.raises(FilterError, match="unknown field"):
        store.query_runs(order_by="bogus")


def test_children_of_a_parent(store: Store) -> None:
    parent, _ = store.create_run(kind="sweep")
    kids = [store.create_run(parent_id=parent, kind="trial")[0] for _ in range(3)]
    store.create_run()
    assert store.query_runs(parent_id=parent, order_by="number").ids == kids
    assert len(store.query_runs("parent_id = null")) == 2


def test_columns_are_in_contract_order_and_restrictable(store: Store, runs: dict[str, str]) -> None:
    table = store.query_runs()
    names = list(table.columns)
    assert names[:15] == [
        "id",
        "number",
        "name",
        "experiment",
        "status",
        "started_at",
        "ended_at",
        "duration_s",
        "parent_id",
        "kind",
        "notebook_path",
        "user",
        "git.commit",
        "git.branch",
        "git.dirty",
    ]
    dynamic = names[15:]
    assert dynamic == (
        sorted(n for n in dynamic if n.startswith("params."))
        + sorted(n for n in dynamic if n.startswith("metrics."))
        + sorted(n for n in dynamic if n.startswith("tags."))
    )
    assert "params.my-lr" in dynamic and "tags.note" in dynamic
    assert all(len(col) == 5 for col in table.columns.values())
    only = store.query_runs(columns=["params.lr", "metrics.*", "params.absent"])
    assert list(only.columns)[15:] == ["params.absent", "params.lr", "metrics.acc", "metrics.loss"]
    assert only.columns["params.absent"] == [None] * 5
    assert list(store.query_runs(columns=[]).columns) == names[:15]
    row = store.query_runs(f"id = '{runs['r1']}'").rows()[0]
    assert row["params.lr"] == 0.1 and row["tags.team"] == "vision"
    assert "tags.note" not in row, "keys no selected run has are not columns"


def test_to_frame_dtypes(store: Store, runs: dict[str, str]) -> None:
    import pandas as pd

    frame = store.query_runs().to_frame()
    assert list(frame.columns) == list(store.query_runs().columns)
    assert len(frame) == 5
    assert isinstance(frame["started_at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["started_at"].dtype.tz) == "UTC"
    assert frame["ended_at"].isna().sum() == 1
    assert frame["number"].dtype == "int64"
    assert frame["duration_s"].dtype == "float64"
    assert frame["metrics.acc"].dtype == "float64"
    assert frame["metrics.acc"].isna().sum() == 1  # r4 has none
    assert str(frame["git.dirty"].dtype) == "boolean"
    assert frame["params.lr"].dtype == "float64"
    assert pd.api.types.is_string_dtype(frame["name"])
    r1 = frame.set_index("id").loc[runs["r1"]]
    assert r1["started_at"] == pd.Timestamp(NOV, unit="s", tz="UTC")
    empty = store.query_runs("number > 100").to_frame()
    assert len(empty) == 0 and list(empty.columns)[:2] == ["id", "number"]


def test_metrics_columns_across_key_sets_keep_none_nan_and_order(store: Store) -> None:
    """Runs with different metric key sets: a missing key is None in columns (NaN in the
    frame), a stored NaN stays NaN and counts as present, and values land on their run."""
    import pandas as pd

    a, _ = store.create_run(started_at=NOV)
    b, _ = store.create_run(started_at=NOV + 1)
    c, _ = store.create_run(started_at=NOV + 2)
    store.log_metrics([(a, "acc", 0.5, 0, NOV), (a, "loss", math.nan, 0, NOV)])
    store.log_metrics([(b, "acc", 0.7, 0, NOV), (b, "f1", -math.inf, 0, NOV)])
    store.log_metrics([(c, "acc", 0.9, 0, NOV), (c, "loss", 1.5, 0, NOV)])
    table = store.query_runs(order_by="started_at")
    frame = table.to_frame()
    cols = table.columns
    assert cols["metrics.acc"] == [0.5, 0.7, 0.9]
    assert cols["metrics.f1"] == [None, -math.inf, None]
    loss = cols["metrics.loss"]
    assert math.isnan(loss[0]) and loss[1] is None and loss[2] == 1.5
    assert table.columns is cols, "columns is one dict, built once"
    assert frame["metrics.f1"].tolist()[1] == -math.inf and frame["metrics.f1"].isna().sum() == 2
    assert frame["metrics.loss"].isna().tolist() == [True, True, False]
    assert all(frame[f"metrics.{k}"].dtype == "float64" for k in ("acc", "f1", "loss"))
    assert table.rows()[1]["metrics.loss"] is None
    assert isinstance(frame, pd.DataFrame)


def test_to_frame_params_dtypes_match_pandas_inference(store: Store) -> None:
    """Typed params columns get the dtype pandas itself would infer from the values."""
    import pandas as pd

    values = {
        "f": [0.5, 1.5, 2.5],
        "f_none": [0.5, None, 2.5],
        "i": [1, 2, 3],
        "i_none": [1, None, 3],
        "mixed_num": [1, 2.5, 3],
        "b": [True, False, True],
        "s": ["a", "b", "c"],
        "obj": ["a", 1, None],
    }
    for n in range(3):
        run_id, _ = store.create_run(started_at=NOV + n)
        store.set_params(run_id, {k: v[n] for k, v in values.items() if v[n] is not None})
    frame = store.query_runs(order_by="started_at").to_frame()
    for key, column in values.items():
        expected = pd.Series(column)
        got = frame[f"params.{key}"]
        assert got.dtype == expected.dtype, key
        assert got.tolist() == expected.tolist() or key in ("f_none", "i_none"), key
    assert frame["params.f_none"].isna().tolist() == [False, True, False]


def test_params_integers_beyond_64_bits_read_back_exactly(store: Store) -> None:
    run_id, _ = store.create_run(started_at=NOV)
    store.set_params(run_id, {"big": 2**70 + 1, "low": -(2**63) - 1, "lr": 0.00031622776601683794})
    other, _ = store.create_run(started_at=NOV + 1)
    store.set_params(other, {"big": 7, "low": 2**64 - 1, "lr": 0.5})
    table = store.query_runs(order_by="started_at")
    assert table.columns["params.big"] == [2**70 + 1, 7]
    assert table.columns["params.low"] == [-(2**63) - 1, 2**64 - 1]
    assert table.columns["params.lr"] == [0.00031622776601683794, 0.5]
    assert store.get_run(run_id)["params"]["big"] == 2**70 + 1


def test_wide_reads_span_decode_chunks_in_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs are decoded a chunk at a time; values stay on their runs across chunk edges,
    including a chunk whose params hold NaN (which orjson cannot parse)."""
    from jupyter_xtrack.store import summary

    monkeypatch.setattr(summary, "_CHUNK", 2)
    for n in range(5):
        run_id, _ = store.create_run(started_at=NOV + n)
        store.set_params(run_id, {"n": n, "x": math.nan if n == 3 else n / 2, "s": f"r{n}"})
        store.log_metrics([(run_id, "m", float(n), 0, NOV)])
    table = store.query_runs(order_by="started_at")
    assert table.columns["params.n"] == [0, 1, 2, 3, 4]
    assert table.columns["params.s"] == ["r0", "r1", "r2", "r3", "r4"]
    xs = table.columns["params.x"]
    assert math.isnan(xs[3]) and xs[:3] + xs[4:] == [0.0, 0.5, 1.0, 2.0]
    assert table.columns["metrics.m"] == [0.0, 1.0, 2.0, 3.0, 4.0]
