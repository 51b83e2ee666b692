"""Preprocessing inside every AutoML pipeline: missing values, categoricals (one-hot or
ordinal by cardinality), dates to parts, scaling where a model needs it.

It is a scikit-learn transformer that is part of each candidate's Pipeline, so it is fitted
on the training folds only: nothing leaks from a validation fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.base import TransformerMixin

ONE_HOT_MAX_CATEGORIES = 12  # more distinct values than this: ordinal codes instead


@dataclass(frozen=True)
class ColumnKinds:
    """The columns of a frame by how they are prepared."""

    numeric: tuple[str, ...]
    low_card: tuple[str, ...]
    high_card: tuple[str, ...]
    dates: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return len(self.numeric) + len(self.low_card) + len(self.high_card) + len(self.dates)


def column_kinds(X: pd.DataFrame) -> ColumnKinds:  # noqa: N803 - scikit-learn's name
    """Split the columns of `X`: numbers, dates, and categoricals by cardinality."""
    import pandas as pd

    numeric, low, high, dates = [], [], [], []
    for col in X.columns:
        s = X[col]
        if pd.api.types.is_bool_dtype(s):
            low.append(col)
        elif pd.api.types.is_datetime64_any_dtype(s):
            dates.append(col)
        elif pd.api.types.is_numeric_dtype(s):
            numeric.append(col)
        elif s.nunique(dropna=True) <= ONE_HOT_MAX_CATEGORIES:
            low.append(col)
        else:
            high.append(col)
    return ColumnKinds(tuple(numeric), tuple(low), tuple(high), tuple(dates))


def build_preprocessor(kinds: ColumnKinds, *, scale: bool) -> TransformerMixin:
    """A ColumnTransformer for `kinds`: median imputation (with missing-value indicators) and
    optional scaling for numbers, one-hot or ordinal codes for categories, parts for dates."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    parts: list[tuple[str, Any, list[str]]] = []

    def numbers() -> list[Any]:
        steps: list[Any] = [SimpleImputer(strategy="median", add_indicator=True,
                                          keep_empty_features=True)]
        if scale:
            steps.append(StandardScaler())
        return steps

    if kinds.numeric:
        parts.append(("num", make_pipeline(*numbers()), list(kinds.numeric)))
    if kinds.dates:
        parts.append(("date", make_pipeline(FunctionTransformer(date_parts), *numbers()),
                      list(kinds.dates)))
    as_text = FunctionTransformer(_as_text)
    if kinds.low_card:
        parts.append((
            "onehot",
            make_pipeline(as_text, OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            list(kinds.low_card),
        ))
    if kinds.high_card:
        ordinal: list[Any] = [
            as_text,
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                           encoded_missing_value=-1),
        ]
        if scale:
            ordinal.append(StandardScaler())
        parts.append(("ordinal", make_pipeline(*ordinal), list(kinds.high_card)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def date_parts(frame: Any) -> Any:
    """Year, month, day, weekday and hour (as numbers) of each datetime column."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(frame)
    cols = []
    for name in frame.columns:
        s = pd.to_datetime(frame[name], errors="coerce")
        cols += [s.dt.year, s.dt.month, s.dt.day, s.dt.day_of_week, s.dt.hour]
    return np.column_stack([c.to_numpy(dtype="float64", na_value=np.nan) for c in cols])


def _as_text(frame: Any) -> Any:
    """Categories as strings, missing as one category of their own."""
    import pandas as pd

    return pd.DataFrame(frame).astype("object").where(pd.DataFrame(frame).notna(), "<missing>").astype(str)
