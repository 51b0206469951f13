"""High-water marks for the engines that compute in this process: the largest value of a
column, and the rows past a mark, by one set of rules (times compared as times, across time
zones; text that is no time drops out). The column is looked at through pandas, whose time
parsing those rules follow; the rows are picked on Arrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.engines.base import looks_like_time
from odibi_core.errors import NodeError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def column(table: pa.Table, name: str) -> pd.Series:
    """``name`` of ``table`` as a pandas series (dates as times)."""
    from odibi_core.engines.pandas_arrow import to_pandas

    if name not in table.column_names:
        raise NodeError(f"incremental column '{name}' is not in the data")
    return to_pandas(table.select([name])).iloc[:, 0]


def max_value(series: pd.Series) -> Any:
    """The JSON-safe maximum (ISO text for times), or None when there is none."""
    value = series.max()
    if value is None or value != value:  # NaN
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def newer(series: pd.Series, value: Any, inclusive: bool) -> Any:
    """A boolean mask (numpy) of the values greater than (or equal to) ``value``."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series) or looks_like_time(value):
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, utc=True, errors="coerce")
        bound = pd.Timestamp(value)
        tz = getattr(series.dt, "tz", None)
        if tz is not None and bound.tzinfo is None:
            bound = bound.tz_localize("UTC").tz_convert(tz)
        elif tz is None and bound.tzinfo is not None:
            bound = bound.tz_convert("UTC").tz_localize(None)
    else:
        bound = value
    mask = series >= bound if inclusive else series > bound
    return mask.fillna(False).to_numpy(dtype=bool)
