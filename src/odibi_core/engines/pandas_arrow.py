"""Arrow ↔ pandas: to pandas with the types DuckDB's ``.df()`` gives, at Arrow's speed.

DuckDB's ``.df()`` turns every string into a Python object that pandas 3 then rebuilds into
Arrow strings: most of a SQL step's time on string-heavy data. Going through Arrow is several
times faster, but Arrow's own conversion picks other types for some columns; those are mapped
here so a pandas frame from SQL looks exactly as before: integers and booleans with nulls
become pandas' nullable types, dates become ``datetime64[us]``, decimals ``float64``,
intervals ``timedelta64[us]``, maps dicts, and repeated column names get ``_1``, ``_2``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` as the pandas frame DuckDB's ``.df()`` would have made of it."""
    import pyarrow as pa

    columns: list[Any] = []
    nullable: dict[int, Any] = {}
    intervals: list[int] = []
    for i, (field, column) in enumerate(zip(table.schema, table.columns, strict=True)):
        kind = field.type
        if pa.types.is_string_view(kind) or pa.types.is_binary_view(kind):
            # polars' layout; pandas takes Arrow's classic one.
            kind = pa.large_string() if pa.types.is_string_view(kind) else pa.large_binary()
            column = column.cast(kind)
        if pa.types.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        elif column.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
            nullable[i] = _nullable_dtype(kind)
        elif pa.types.is_interval(kind):
            intervals.append(i)
        columns.append(column)
    names = _unique(table.column_names)
    frame = pa.Table.from_arrays(columns, names=names).to_pandas(maps_as_pydicts="strict")
    for i, dtype in nullable.items():
        frame.isetitem(i, columns[i].to_pandas(types_mapper={columns[i].type: dtype}.get))
    for i in intervals:
        frame.isetitem(i, _timedeltas(columns[i]))
    return frame


def pandas_types(schema: pa.Schema) -> pa.Schema:
    """The Arrow types a table with ``schema`` has after :func:`to_pandas` and back: dates
    become times, decimals floats (what writing an SQL result through pandas gave)."""
    import pyarrow as pa

    fields = []
    for field in schema:
        if pa.types.is_date(field.type):
            field = field.with_type(pa.timestamp("us"))
        elif pa.types.is_decimal(field.type):
            field = field.with_type(pa.float64())
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def read_as_pandas(table: pa.Table) -> pd.DataFrame:
    """What a format read becomes on the pandas engine: Arrow's own conversion, which keeps
    decimals as ``Decimal`` and dates as dates and restores a pandas frame's dtypes from the
    metadata it was written with (as ``pandas.read_parquet`` does). SQL results use
    :func:`to_pandas` instead, the types DuckDB's ``.df()`` gives."""
    from odibi_core.io.format import classic

    return classic(table).to_pandas()


def from_pandas(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, without its index. A column of mixed Python objects (text and
    numbers, as a CSV column can be) becomes text, as it would be written."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        fixed = frame.copy(deep=False)
        for name in fixed.columns:
            if fixed[name].dtype == object:
                try:
                    pa.array(fixed[name], from_pandas=True)
                except (pa.ArrowTypeError, pa.ArrowInvalid):
                    fixed[name] = fixed[name].map(_text, na_action="ignore")
        return pa.Table.from_pandas(fixed, preserve_index=False)


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def _nullable_dtype(kind: pa.DataType) -> Any:
    import pandas as pd
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    name = str(kind).replace("int", "Int").replace("uInt", "UInt")
    return pd.api.types.pandas_dtype(name)


def _timedeltas(column: pa.ChunkedArray) -> pd.Series:
    """DuckDB's reading of an interval: a month is 30 days."""
    import pandas as pd

    values = [
        None
        if v is None
        else timedelta(days=v.months * 30 + v.days, microseconds=v.nanoseconds // 1000)
        for v in column.to_pylist()
    ]
    return pd.Series(pd.to_timedelta(values), dtype="timedelta64[us]")


def _unique(names: list[str]) -> list[str]:
    """Repeated names numbered as DuckDB's ``.df()`` numbers them (``a``, ``a_1``)."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 0
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out
