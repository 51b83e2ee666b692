"""Stored JSON keeps what orjson alone would lose: NaN, infinities, integers beyond 64 bits."""

from __future__ import annotations

import math

import numpy as np

from jupyter_xtrack.store.codec import dumps, loads


def test_non_finite_floats_come_back_and_nulls_stay_nulls() -> None:
    doc = {"auc": math.nan, "curve": [0.1, math.inf, -math.inf], "note": None, "text": "null"}
    back = loads(dumps(doc))
    assert math.isnan(back["auc"])
    assert back["curve"][1:] == [math.inf, -math.inf]
    assert back["note"] is None and back["text"] == "null"


def test_a_finite_document_is_orjson_and_round_trips() -> None:
    doc = {"fpr": [i / 10_000 for i in range(10_000)], "n": np.int64(3), "big": 2**70}
    back = loads(dumps(doc))
    assert back["fpr"] == doc["fpr"] and back["n"] == 3 and back["big"] == 2**70
    assert dumps({"a": None, "b": [1.5]}) == b'{"a":null,"b":[1.5]}'
