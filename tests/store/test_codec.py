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


def test_non_finite_values_are_found_in_lists_of_every_shape() -> None:
    doc = {
        "nested": [[0.5, 0.25], [0.5, math.nan]],
        "mixed": [1, "a", None, -math.inf],
        "ints": [2**70, 1.5, math.inf],
        "numpy": [np.float32("nan"), np.float64(1.0)],
    }
    back = loads(dumps(doc))
    assert math.isnan(back["nested"][1][1]) and back["nested"][0] == [0.5, 0.25]
    assert back["mixed"] == [1, "a", None, -math.inf]
    assert back["ints"] == [2**70, 1.5, math.inf]
    assert math.isnan(back["numpy"][0]) and back["numpy"][1] == 1.0


def test_finite_values_whose_sum_overflows_come_back_exact() -> None:
    doc = {"big": [1e308, 1e308, -1e308], "none": [None, 1e308, 1e308]}
    assert loads(dumps(doc)) == doc


def test_integers_beyond_64_bits_come_back_exact_wherever_they_stand() -> None:
    for value in (2**70 + 1, -(2**63) - 1, 10**40, [1, 2**64, "x"], {"a": {"b": -(10**25)}}):
        assert loads(dumps(value)) == value
        assert loads(dumps(value).decode()) == value  # as text too
    assert loads(b"18446744073709551616") == 2**64  # at the document's start


def test_long_float_fractions_and_64_bit_integers_keep_orjsons_path() -> None:
    from jupyter_xtrack.store.codec import may_hold_big_ints

    # A learning rate's 19 digits after its point, and 18-digit integers (the 19- and
    # 20-digit ones that orjson still reads exactly are false alarms: the exact parser).
    for value in (0.00031622776601683794, 10**18 - 1, -(10**17), [1.5e300, 123456789]):
        assert not may_hold_big_ints(dumps(value))
    assert may_hold_big_ints(dumps(2**64)) and may_hold_big_ints(dumps(-(2**63) - 1))
