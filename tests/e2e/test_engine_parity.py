"""The same built-in transform on the same data gives the same rows, in the same order, on the
pandas engine (DuckDB) and on the Spark engine (Spark SQL): a project moves from a laptop to a
cluster unchanged. Spark runs locally, for real."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from odibi_core.config.models import NodeConfig, ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.transforms.columns import (
    cast_columns,
    clean_text,
    derive_columns,
    drop_columns,
    fill_nulls,
    rename_columns,
    select_columns,
)
from odibi_core.transforms.registry import Transform, TransformContext
from odibi_core.transforms.relational import aggregate, join, union
from odibi_core.transforms.rows import deduplicate, distinct, filter_rows, limit, sort

pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")
# pyspark's toPandas passes pandas 3 a keyword it deprecated; nothing for Odibi to change.
pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")

PEOPLE = {
    "id": [1, 2, 1, 3, 2, 1, 4],
    "name": ["  Ann ", "bob", "ANN", None, "Bob  ", "ann", "dee"],
    "score": [10.0, None, 30.0, 5.0, 20.0, None, 7.5],
    "updated": [1, 5, 3, 2, 4, 2, 9],
}
ORDERS = {"cust": [1, 2, 4, 1, 3], "amount": [10, 20, 40, 15, 99], "name": list("abcde")}
CUSTOMERS = {"cust": [1, 2, 3], "name": ["Ann", "Bob", "Cy"], "tier": ["gold", None, "x"]}

SCHEMAS = {
    "people": "id bigint, name string, score double, updated bigint",
    "more": "id bigint, name string, score double, updated bigint",
    "orders": "cust bigint, amount bigint, name string",
    "customers": "cust bigint, name string, tier string",
}

CASES: list[tuple[str, Transform, dict[str, Any]]] = [
    ("deduplicate", deduplicate, {"keys": ["id"]}),
    ("deduplicate by order", deduplicate, {"keys": ["id"], "order_by": "updated DESC"}),
    ("filter", filter_rows, {"condition": "score > 6"}),
    ("derive", derive_columns, {"derivations": {"double": "updated * 2", "id": "id + 100"}}),
    ("cast", cast_columns, {"casts": {"updated": "string", "score": "int"}}),
    ("rename", rename_columns, {"mapping": {"name": "who"}}),
    ("select", select_columns, {"columns": ["updated", "id"]}),
    ("drop", drop_columns, {"columns": ["score"]}),
    ("fill", fill_nulls, {"values": {"score": 0.0, "name": "?"}}),
    ("clean", clean_text, {"columns": ["name"], "trim": True, "case": "lower"}),
    ("sort", sort, {"by": ["id", "updated"], "ascending": [True, False]}),
    ("sort with nulls", sort, {"by": "score", "ascending": False}),
    ("distinct rows", distinct, {}),
    ("limit", limit, {"n": 3, "offset": 2}),
    ("distinct", distinct, {"columns": ["id"]}),
    (
        "aggregate",
        aggregate,
        {"group_by": ["id"], "aggregations": {"score": "sum", "updated": "max", "name": "first"}},
    ),
    ("join left", join, {"right_dataset": "customers", "on": "cust"}),
    ("join anti", join, {"right_dataset": "customers", "on": "cust", "how": "anti"}),
    ("join semi", join, {"right_dataset": "customers", "on": "cust", "how": "semi"}),
    ("join full", join, {"right_dataset": "customers", "on": "cust", "how": "full"}),
    ("join right", join, {"right_dataset": "customers", "on": "cust", "how": "right"}),
    (
        "join inner prefixed",
        join,
        {"right_dataset": "customers", "on": "cust", "how": "inner", "prefix": "c"},
    ),
    ("union", union, {"datasets": ["more"]}),
]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Plain values; numbers as floats (a pandas integer column with a null is float)."""
    numbers = (int, float)
    return [
        tuple(
            float(v) if isinstance(v, numbers) and not isinstance(v, bool) else v
            for v in (_plain(x) for x in row)
        )
        for row in frame.itertuples(index=False, name=None)
    ]


@pytest.fixture(scope="module")
def engines():
    from odibi_core.engines.spark_engine import SparkEngine

    project = ProjectConfig(project="parity")
    pandas_engine, spark_engine = PandasEngine(project), SparkEngine(project)
    yield pandas_engine, spark_engine
    pandas_engine.close()
    spark_engine.close()


def _run(engine: Any, t: Transform, params: dict[str, Any], on_spark: bool) -> pd.DataFrame:
    frames = {
        "df": pd.DataFrame(ORDERS if t is join else PEOPLE),
        "customers": pd.DataFrame(CUSTOMERS),
        "more": pd.DataFrame({k: v[:2] for k, v in PEOPLE.items()}),
    }
    if on_spark:  # from the same values, nulls as nulls (not NaN) and the same column types
        frames = {
            name: engine.spark.createDataFrame(
                [tuple(_plain(v) for v in row) for row in f.itertuples(index=False)],
                SCHEMAS[name if name != "df" else ("orders" if t is join else "people")],
            )
            for name, f in frames.items()
        }
    df = frames.pop("df")
    node = NodeConfig(name="n", depends_on=list(frames))
    result = t(TransformContext(engine=engine, node=node, tables=frames), df, params)
    return result.toPandas() if on_spark else result


@pytest.mark.parametrize(("label", "t", "params"), CASES, ids=[c[0] for c in CASES])
def test_a_transform_gives_the_same_rows_on_both_engines(engines, label, t, params):
    pandas_engine, spark_engine = engines
    on_pandas = _run(pandas_engine, t, params, on_spark=False)
    on_spark = _run(spark_engine, t, params, on_spark=True)
    assert list(on_spark.columns) == list(on_pandas.columns)
    assert _rows(on_spark) == _rows(on_pandas)


OPERATIONS = [
    ("drop_duplicates", {"subset": ["id"]}),
    ("drop_duplicates", {"subset": "id", "keep": "last"}),
    ("drop_duplicates", {"subset": ["id"], "keep": False}),
    ("sort", {"by": "score", "ascending": False}),
    ("sort", {"by": ["score"], "na_position": "first"}),
    ("fillna", {"value": {"score": 0.0, "name": "?"}}),
    ("rename", {"columns": {"name": "who"}}),
    ("drop", {"columns": ["score"]}),
]


@pytest.mark.parametrize(("name", "params"), OPERATIONS, ids=[str(o) for o in OPERATIONS])
def test_an_operation_gives_the_same_rows_on_both_engines(engines, name, params):
    pandas_engine, spark_engine = engines
    people = pd.DataFrame(PEOPLE)
    spark_people = spark_engine.spark.createDataFrame(
        [tuple(_plain(v) for v in row) for row in people.itertuples(index=False)],
        SCHEMAS["people"],
    )
    on_pandas = pandas_engine.operation(name, params, people)
    on_spark = spark_engine.operation(name, params, spark_people).toPandas()
    assert list(on_spark.columns) == list(on_pandas.columns)
    assert _rows(on_spark) == _rows(on_pandas)


def test_a_parameter_spark_cannot_honour_is_an_error(engines):
    from odibi_core.errors import NodeError

    _, spark_engine = engines
    frame = spark_engine.spark.createDataFrame([(1,)], "id bigint")
    with pytest.raises(NodeError, match="not ignore_index"):
        spark_engine.operation("drop_duplicates", {"ignore_index": True}, frame)
