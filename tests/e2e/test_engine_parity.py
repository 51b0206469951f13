"""The same built-in transform or operation on the same data gives the same rows, in the same
order, on the pandas and polars engines (DuckDB) and on the Spark engine (Spark SQL): a project
moves from a laptop to a cluster unchanged. Spark runs locally, for real."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from odibi_core.config.models import NodeConfig, ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.engines.polars_engine import PolarsEngine
from odibi_core.errors import NodeError
from odibi_core.transforms import operations
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
    made = {"pandas": PandasEngine(project), "polars": PolarsEngine(project)}
    made["spark"] = SparkEngine(project)
    yield made
    for engine in made.values():
        engine.close()


def _frames(engine: Any, frames: dict[str, pd.DataFrame], kinds: dict[str, str]) -> dict[str, Any]:
    """The same values as each engine's frames: nulls as nulls (not NaN), the same types."""
    if engine.name == "pandas":
        return frames
    if engine.name == "polars":
        import polars as pl

        return {n: pl.from_pandas(f, nan_to_null=True) for n, f in frames.items()}
    return {
        name: engine.spark.createDataFrame(
            [tuple(_plain(v) for v in row) for row in f.itertuples(index=False)],
            SCHEMAS[kinds[name]],
        )
        for name, f in frames.items()
    }


def _pandas(engine: Any, frame: Any) -> pd.DataFrame:
    frame = engine.native(frame)
    if engine.name == "spark":
        return frame.toPandas()
    return frame if engine.name == "pandas" else frame.to_pandas()


def _run(engine: Any, t: Transform, params: dict[str, Any]) -> pd.DataFrame:
    frames = {
        "df": pd.DataFrame(ORDERS if t is join else PEOPLE),
        "customers": pd.DataFrame(CUSTOMERS),
        "more": pd.DataFrame({k: v[:2] for k, v in PEOPLE.items()}),
    }
    kinds = {"df": "orders" if t is join else "people", "customers": "customers", "more": "more"}
    frames = _frames(engine, frames, kinds)
    df = frames.pop("df")
    node = NodeConfig(name="n", depends_on=list(frames))
    result = t(TransformContext(engine=engine, node=node, tables=frames), df, params)
    return _pandas(engine, result)


OTHERS = ("polars", "spark")


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize(("label", "t", "params"), CASES, ids=[c[0] for c in CASES])
def test_a_transform_gives_the_same_rows_on_every_engine(engines, label, t, params, other):
    on_pandas = _run(engines["pandas"], t, params)
    on_other = _run(engines[other], t, params)
    assert list(on_other.columns) == list(on_pandas.columns)
    assert _rows(on_other) == _rows(on_pandas)


OPERATIONS = [
    ("drop_duplicates", {"subset": ["id"]}),
    ("drop_duplicates", {"subset": "id", "keep": "last"}),
    ("drop_duplicates", {"subset": ["id"], "keep": False}),
    ("drop_duplicates", {}),
    ("sort", {"by": "score", "ascending": False}),
    ("sort", {"by": ["score"], "na_position": "first"}),
    ("fillna", {"value": {"score": 0.0, "name": "?"}}),
    ("rename", {"columns": {"name": "who"}}),
    ("drop", {"columns": ["score"]}),
    ("deduplicate", {"keys": ["id"], "order_by": "updated DESC"}),  # a transformer by name
    ("fillna", {"value": 0}),  # numeric columns only, as Spark's fillna: no column changes type
    ("fillna", {"value": "?"}),
    ("rename", {"columns": {"not_there": "x", "name": "who"}}),  # absent names skipped
]


def _operate(engine: Any, name: str, params: dict[str, Any]) -> pd.DataFrame:
    from odibi_core.transforms.rows import deduplicate

    people = _frames(engine, {"df": pd.DataFrame(PEOPLE)}, {"df": "people"})["df"]
    ctx = TransformContext(engine=engine, node=NodeConfig(name="n"))
    found = {"deduplicate": deduplicate}.get
    return _pandas(engine, operations.run(ctx, name, params, people, found))


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize(("name", "params"), OPERATIONS, ids=[str(o) for o in OPERATIONS])
def test_an_operation_gives_the_same_rows_on_every_engine(engines, name, params, other):
    on_pandas = _operate(engines["pandas"], name, params)
    on_other = _operate(engines[other], name, params)
    assert list(on_other.columns) == list(on_pandas.columns)
    assert _rows(on_other) == _rows(on_pandas)


def test_operations_keep_pandas_meaning(engines):
    """Checked against pandas itself: the operations are pandas' methods, run as SQL."""
    people = pd.DataFrame(PEOPLE)
    for name, params in OPERATIONS[:9]:
        expected = getattr(people, "sort_values" if name == "sort" else name)(**params)
        got = _operate(engines["pandas"], name, params)
        assert _rows(got) == _rows(expected.reset_index(drop=True)), (name, params)


@pytest.mark.parametrize("engine", ["pandas", *OTHERS])
def test_sample_keeps_a_seeded_share_of_rows_in_input_order(engines, engine):
    """Which rows a seed picks depends on the engine (its hash and row numbering), as with
    Spark's own sampling; on each engine a seed picks the same rows every time."""
    people = _rows(pd.DataFrame(PEOPLE))
    picked = _rows(_operate(engines[engine], "sample", {"frac": 0.5, "random_state": 7}))
    assert picked == _rows(_operate(engines[engine], "sample", {"frac": 0.5, "random_state": 7}))
    assert picked == [row for row in people if row in picked]  # a subset, in order
    assert _rows(_operate(engines[engine], "sample", {"frac": 1.0})) == people
    assert _rows(_operate(engines[engine], "sample", {"frac": 0.0})) == []


def test_a_parameter_no_engine_can_honour_is_an_error(engines):
    ctx = TransformContext(engine=engines["spark"], node=NodeConfig(name="n"))
    frame = engines["spark"].spark.createDataFrame([(1,)], "id bigint")
    with pytest.raises(NodeError, match="not ignore_index"):
        operations.run(ctx, "drop_duplicates", {"ignore_index": True}, frame)
