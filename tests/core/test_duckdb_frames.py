"""Frames of the engines computing with DuckDB (pandas, polars) stay in Arrow or in the run's
DuckDB database: they describe themselves exactly as the DataFrame user code would get, writes
stream them with the types that DataFrame would be written with, and their tables go when the
frames do."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from odibi_core.config.models import ProjectConfig, WriteConfig
from odibi_core.connections.local import LocalConfig, LocalConnection
from odibi_core.engines.duckdb_engine import Frame
from odibi_core.engines.duckdb_sql import SCHEMA
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.engines.polars_engine import PolarsEngine
from odibi_core.errors import NodeError

QUERY = (
    "SELECT * FROM (VALUES (1, 10, true, DATE '2026-01-02', 1.25::DECIMAL(10,2), 'a'),"
    " (2, NULL, NULL, DATE '2026-01-03', 2.50::DECIMAL(10,2), 'b'),"
    " (3, 30, false, NULL, NULL, NULL)) AS t(id, n, flag, day, price, label)"
)


@pytest.fixture
def pandas_engine():
    engine = PandasEngine(ProjectConfig(project="frames"))
    yield engine
    engine.close()


def frame_tables(engine) -> int:
    with engine._duckdb._cursor() as cursor:
        query = f"SELECT count(*) FROM duckdb_tables() WHERE schema_name = '{SCHEMA}'"
        return int(cursor.execute(query).fetchone()[0])


def test_an_sql_result_stays_in_the_database_and_describes_itself_as_its_dataframe(
    pandas_engine,
):
    engine = pandas_engine
    frame = engine.sql(QUERY, {})
    assert isinstance(frame, Frame) and frame.result is not None and frame.native is None
    native = engine.native(frame)
    assert isinstance(native, pd.DataFrame)
    # The nulls are in the second row, past a one-row probe: the types still say so.
    assert engine.schema(frame) == engine.schema(native)
    assert ("n", "Int32") in engine.schema(frame) and ("flag", "boolean") in engine.schema(frame)
    assert engine.count(frame) == 3
    assert engine.sample(frame, 2) == engine.sample(native, 2)
    assert engine.sample(frame, 10) == engine.sample(native, 10)


def test_a_read_keeps_arrows_own_conversion_in_its_schema_and_sample(pandas_engine):
    engine = pandas_engine
    table = pa.table({"n": pa.array([1, None, 3], pa.int64()), "s": ["x", "y", None]})
    frame = engine.from_arrow(table)
    native = engine.native(frame)
    assert engine.schema(frame) == engine.schema(native) == [("n", "float64"), ("s", "str")]
    assert engine.sample(frame, 1) == engine.sample(native, 1) == [{"n": 1.0, "s": "x"}]


def test_sql_reads_frames_in_each_form_and_tables_go_with_their_frames(pandas_engine):
    engine = pandas_engine
    first = engine.sql("SELECT 1 AS a UNION ALL SELECT 2", {})
    arrow = engine.from_arrow(pa.table({"a": [3]}))
    native = engine.from_native(pd.DataFrame({"a": [4]}))
    both = engine.sql(
        "SELECT a FROM x UNION ALL SELECT a FROM y UNION ALL SELECT a FROM z ORDER BY a",
        {"x": first, "y": arrow, "z": native},
    )
    assert engine.native(both)["a"].tolist() == [1, 2, 3, 4]
    assert frame_tables(engine) == 2
    del first, both
    gc.collect()
    kept = engine.sql("SELECT 1", {})  # unused tables are dropped before the next query
    assert frame_tables(engine) == 1
    assert engine.count(kept) == 1


def test_repeated_column_names_are_numbered_as_before(pandas_engine):
    frame = pandas_engine.sql("SELECT 1 AS a, 2 AS a", {})
    assert list(pandas_engine.native(frame).columns) == ["a", "a_1"]


def test_user_code_must_hand_back_a_dataframe_of_the_engine(pandas_engine):
    with pytest.raises(NodeError, match=r"expected a pandas DataFrame, got builtins\.list"):
        pandas_engine.from_native([1, 2])


@pytest.mark.parametrize(
    ("engine_type", "day", "price"),
    [
        # What writing the DataFrame of an SQL result always gave on pandas.
        (PandasEngine, pa.timestamp("us"), pa.float64()),
        (PolarsEngine, pa.date32(), pa.decimal128(10, 2)),
    ],
)
def test_a_streamed_write_has_the_types_the_engines_dataframe_is_written_with(
    tmp_path, engine_type, day, price
):
    engine = engine_type(ProjectConfig(project="frames"))
    try:
        frame = engine.sql(QUERY, {})
        connection = LocalConnection("lake", LocalConfig(base_path=str(tmp_path)), tmp_path)
        spec = WriteConfig(connection="lake", format="delta", path="out", mode="overwrite")
        engine.write(frame, spec, connection)
        table = DeltaTable(str(tmp_path / "out")).to_pyarrow_table()
        assert table.schema.field("day").type == day
        assert table.schema.field("price").type == price
        assert table.num_rows == 3
        if engine_type is PandasEngine:
            assert table.column("day").to_pylist()[0] == dt.datetime(2026, 1, 2)
            assert table.column("price").to_pylist()[:2] == [1.25, 2.5]
        else:
            assert table.column("day").to_pylist()[0] == dt.date(2026, 1, 2)
            assert table.column("price").to_pylist()[:2] == [Decimal("1.25"), Decimal("2.50")]
        native = engine.native(frame)
        assert isinstance(native, pd.DataFrame if engine_type is PandasEngine else pl.DataFrame)
    finally:
        engine.close()
