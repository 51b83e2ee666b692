"""fingerprint() of DataFrames, Series, arrays and tensors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jupyter_xtrack.capture.data import fingerprint


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 1000
    return pd.DataFrame(
        {
            "x": rng.random(n),
            "k": rng.integers(0, 9, n),
            "s": [f"v{i % 13}" for i in range(n)],
            "c": pd.Categorical(rng.choice(["a", "b"], n)),
            "t": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "m": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
            "o": np.array([i if i % 2 else str(i) for i in range(n)], dtype=object),
        }
    )


def h(obj) -> str:
    out = fingerprint(obj, "v")
    assert out is not None and out["hash"] is not None, out
    return out["hash"]


def test_dataframe_fields() -> None:
    out = fingerprint(frame(), "train")
    assert out is not None
    assert out["name"] == "train" and out["kind"] == "pandas.DataFrame"
    assert out["shape"] == [1000, 7] and out["columns"]["x"] == "float64"
    assert out["columns"]["c"] == "category" and out["hash"].startswith("xxh3_128:")
    assert len(out["hash"]) == len("xxh3_128:") + 32 and out["bytes"] > 8 * 1000


def test_same_content_same_hash_even_when_built_differently() -> None:
    df = frame()
    assert h(df) == h(frame()) == h(df.copy())
    # chunked Arrow strings after a concat hash like the contiguous original
    assert h(pd.concat([df.iloc[:300], df.iloc[300:]])) == h(df)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("x", d["x"].where(d.index != 500, 0.5)),
        lambda d: d.__setitem__("k", d["k"].where(d.index != 3, 99)),
        lambda d: d.__setitem__("s", d["s"].where(d.index != 999, "changed")),
        lambda d: d.__setitem__("s", d["s"].where(d.index != 0, None)),
        lambda d: d.__setitem__("c", d["c"].cat.rename_categories(["A", "b"])),
        lambda d: d.__setitem__("t", d["t"].dt.tz_convert("Europe/Paris")),
        lambda d: d.__setitem__("m", d["m"].fillna(0)),
        lambda d: d.__setitem__("x", d["x"].where(d.index != 7, np.nan)),  # NaN vs a number
        lambda d: d.__setitem__("o", d["o"].where(d.index != 1, "1")),  # 1 vs "1"
        lambda d: setattr(d, "columns", ["y", *d.columns[1:]]),
    ],
)
def test_one_change_changes_the_hash(mutate) -> None:
    df = frame()
    before = h(df)
    mutate(df)
    assert h(df) != before


def test_numpy_backed_columns_hash_their_buffer_with_nan_as_nan() -> None:
    with_nan = pd.DataFrame({"x": [1.0, np.nan, 3.0]})
    assert h(with_nan) != h(pd.DataFrame({"x": [1.0, 0.0, 3.0]}))
    assert h(with_nan) == h(pd.DataFrame({"x": np.array([1.0, np.nan, 3.0])}))
    assert h(with_nan["x"]) != h(pd.Series([1.0, 0.0, 3.0], name="x"))


def test_index_and_column_order_are_part_of_the_content() -> None:
    df = frame()
    assert h(df.set_axis(range(1, 1001), axis=0)) != h(df)
    assert h(df[list(reversed(df.columns))]) != h(df)
    assert h(df.set_index(["k", "s"])) != h(df.set_index(["s", "k"]))


def test_series_and_empty_frame() -> None:
    s = pd.Series([1.0, 2.0], name="a")
    out = fingerprint(s, "s")
    assert out is not None and out["kind"] == "pandas.Series" and out["dtype"] == "float64"
    assert h(s) != h(s.rename("b")) and h(s) == h(pd.Series([1.0, 2.0], name="a"))
    assert fingerprint(pd.DataFrame(), "e")["hash"] is not None  # type: ignore[index]


def test_ndarray() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = fingerprint(a, "a")
    assert out == {
        "name": "a",
        "kind": "numpy.ndarray",
        "shape": [3, 4],
        "dtype": "float32",
        "hash": out["hash"],  # type: ignore[index]
        "bytes": 48,
    }
    assert h(a) == h(a.copy()) and h(a) == h(np.asfortranarray(a))
    assert h(a) != h(a.reshape(4, 3)) and h(a) != h(a.astype(np.float64))
    b = a.copy()
    b[2, 3] = -1
    assert h(b) != h(a)
    assert h(np.array(["a", None, 1], dtype=object)) != h(np.array(["a", None, "1"], dtype=object))
    assert h(np.arange(3).astype("M8[D]")) != h(np.arange(3))


def test_tensor() -> None:
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_()
    out = fingerprint(t, "w")
    assert out is not None and out["kind"] == "torch.Tensor" and out["device"] == "cpu"
    assert out["shape"] == [2, 3] and out["dtype"] == "torch.float32" and out["bytes"] == 24
    assert h(t) == h(t.detach().clone()) and h(t.t()) != h(t)
    u = t.detach().clone()
    u[1, 2] = 0
    assert h(u) != h(t)
    assert h(t.to(torch.bfloat16)) != h(t)  # dtypes numpy lacks work too


@pytest.mark.gpu
def test_cuda_tensor_notes_device() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    t = torch.arange(6, dtype=torch.float32)
    out = fingerprint(t.cuda(), "w")
    assert out is not None and out["device"].startswith("cuda") and out["hash"] == h(t)


@pytest.mark.parametrize("obj", [3, "text", [1, 2], {"a": 1}, None, object()])
def test_other_objects_give_none(obj) -> None:
    assert fingerprint(obj, "x") is None


def test_never_imports_heavy_libraries() -> None:
    code = (
        "import sys\nfrom jupyter_xtrack.capture.data import fingerprint\n"
        "fingerprint([1], 'x'); fingerprint(3.0, 'y')\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'torch', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_object_arrays_of_plot_axes_or_other_objects_are_not_datasets() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2)
    try:
        assert axes.dtype == object and fingerprint(axes, "axes") is None
    finally:
        plt.close(fig)
    assert fingerprint(np.array([object(), object()]), "things") is None
    assert fingerprint(np.array([1, "a", object()], dtype=object), "mixed") is None
    assert fingerprint(pd.Series([object(), object()]), "things") is None
    assert fingerprint(pd.Series(["a", None, 1], dtype=object), "values") is not None


def test_object_arrays_of_values_are_datasets() -> None:
    import datetime
    import decimal

    values = np.array(
        [
            "a",
            None,
            1,
            2.5,
            True,
            b"x",
            decimal.Decimal("1.1"),
            datetime.date(2024, 1, 1),
            pd.Timestamp("2024-01-01"),
            pd.NaT,
            np.float32(1),
            [1, 2],
            (3,),
            {"k": 1},
        ],
        dtype=object,
    )
    out = fingerprint(values, "values")
    assert out is not None and out["hash"] is not None
    assert h(values) == h(values.copy())  # values, not addresses: stable


def test_estimated_bytes_reads_sizes_only() -> None:
    from jupyter_xtrack.capture.fingerprint import estimated_bytes

    assert estimated_bytes(np.zeros((100, 10))) == 8000
    assert estimated_bytes(np.array(["a", "b"], dtype=object)) == 2 * 64
    assert estimated_bytes(pd.DataFrame({"a": range(10), "b": range(10)})) == (20 + 10) * 8
    assert estimated_bytes(pd.Series(range(10))) == (10 + 10) * 8
    assert estimated_bytes([1, 2]) == 0 and estimated_bytes(None) == 0
    torch = pytest.importorskip("torch")
    assert estimated_bytes(torch.zeros(4, 5, dtype=torch.float16)) == 40
