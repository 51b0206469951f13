"""SQL results reach pandas through Arrow with exactly the frame DuckDB's ``.df()`` gives."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from odibi_core.engines.pandas_arrow import to_pandas

COLUMNS = {
    "int": "1::INT",
    "int_null": "NULL::INT",
    "tiny_null": "NULL::TINYINT",
    "ubig_null": "NULL::UBIGINT",
    "big": "9007199254740993::BIGINT",  # above 2**53: must not pass through float
    "double": "2.5::DOUBLE",
    "float": "1.5::FLOAT",
    "nan": "'nan'::DOUBLE",
    "text": "'x'",
    "text_null": "NULL::VARCHAR",
    "date": "DATE '2026-01-01'",
    "date_null": "NULL::DATE",
    "ts": "TIMESTAMP '2026-01-01 10:00:00'",
    "ts_ns": "TIMESTAMP_NS '2026-01-01 10:00:00.123456789'",
    "ts_tz": "TIMESTAMPTZ '2026-01-01 10:00:00+00'",
    "bool": "true",
    "bool_null": "NULL::BOOLEAN",
    "decimal": "1.25::DECIMAL(10,2)",
    "huge": "12::HUGEINT",
    "interval": "INTERVAL '1 month 2 days 3 seconds'",
    "list": "[1, 2]",
    "struct": "{'a': 1}",
    "map": "MAP {'k': 1}",
    "time": "TIME '10:00:00'",
    "nothing": "NULL",
}
FILLED = {
    "NULL::INT": "7::INT",
    "NULL::TINYINT": "7::TINYINT",
    "NULL::UBIGINT": "7::UBIGINT",
    "NULL::VARCHAR": "'y'",
    "NULL::DATE": "DATE '2026-02-03'",
    "NULL::BOOLEAN": "false",
}


@pytest.mark.parametrize("rows", [2, 0])
def test_every_column_type_matches_duckdbs_df(rows):
    # Second row: non-null values where the first has nulls, so both sides of each type show.
    first = ", ".join(f"{v} AS {k}" for k, v in COLUMNS.items())
    second = ", ".join(FILLED.get(v, v) for v in COLUMNS.values())
    query = f"SELECT {first} UNION ALL SELECT {second}"
    if rows == 0:
        query = f"SELECT * FROM ({query}) WHERE false"
    con = duckdb.connect()
    expected = con.execute(query).df()
    got = to_pandas(con.sql(query).to_arrow_table())
    assert list(got.columns) == list(expected.columns)
    for name in expected.columns:
        if rows == 0 and name in ("text", "text_null"):
            continue  # an empty text column: object from .df(), str through Arrow
        assert got[name].dtype == expected[name].dtype, name
    if rows:
        for name in expected.columns:
            assert [_plain(v) for v in got[name]] == [_plain(v) for v in expected[name]], name


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value


def test_repeated_names_are_numbered_as_df_numbers_them():
    con = duckdb.connect()
    query = "SELECT 1 AS a, 2 AS a, 3 AS a_1"
    assert list(to_pandas(con.sql(query).to_arrow_table()).columns) == list(
        con.execute(query).df().columns
    )


def test_pandas_frames_reach_the_io_layer_whole_even_with_mixed_object_columns():
    """A custom transform may leave Python objects of several kinds in one column; written,
    they become text (as to_csv would have printed them), not a failed write."""
    from odibi_core.engines.pandas_arrow import from_pandas

    frame = pd.DataFrame(
        {"mixed": pd.array([1, "a", None, 2.5], dtype=object), "n": [1, 2, 3, 4]},
        index=[10, 11, 12, 13],
    )
    table = from_pandas(frame)
    assert table.column_names == ["mixed", "n"]  # no index column
    assert table.column("mixed").to_pylist() == ["1", "a", None, "2.5"]
    assert table.column("n").to_pylist() == [1, 2, 3, 4]
