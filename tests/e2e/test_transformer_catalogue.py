"""Odibi's transformer catalogue gives the same rows, in the same order, on the pandas and
polars engines (DuckDB) and on the Spark engine (Spark SQL), and the values Odibi documents
(surrogate keys, session ids, output column names). Spark runs locally, for real, in one
session for the whole module."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from odibi_core.config.models import NodeConfig, ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.engines.polars_engine import PolarsEngine
from odibi_core.transforms import builtin
from odibi_core.transforms.registry import Transform, TransformContext

pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")
pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")

T = dt.datetime
EVENTS = {
    "user": [1, 2, 1, 1, 2, 3],
    "name": ["  Ann ", "bob", "ANN", None, "Bob-Lee", "c.y"],
    "code": ["1", "0", "9", "1", None, "0"],
    "amount": [10, 20, 5, 7, None, 3],
    "ts": [
        T(2024, 1, 1, 9, 0),
        T(2024, 1, 1, 9, 10),
        T(2024, 1, 1, 9, 20),
        T(2024, 1, 1, 11, 0),
        T(2024, 1, 2, 9, 0),
        T(2024, 3, 31, 23, 59, 30),
    ],
    "day": [dt.date(2024, 1, d) for d in (1, 5, 31, 2, 3, 4)],
    "tags": [[1, 2], [], [3], None, [4, 5, 6], [7]],
}
SCHEMA = (
    "user bigint, name string, code string, amount bigint, ts timestamp, day date, "
    "tags array<bigint>"
)
CODES = {"code": ["1", "0", "1"], "label": ["one", "zero", "uno"]}
CODES_SCHEMA = "code string, label string"
LONG = {
    "user": [1, 1, 2, 3, 3, 3],
    "month": ["Jan", "Feb", "Jan", "Mar", "Jan", "Mar"],
    "sales": [1, 2, 3, 4, 5, 6],
}
LONG_SCHEMA = "user bigint, month string, sales bigint"
NESTED = {
    "id": [1, 2, 3],
    "raw": ['{"id": 7, "name": "x", "tags": ["a"]}', "not json", '{"name": "y"}'],
    "info": [
        {"a": 1, "b": {"c": "p", "d": 10}},
        {"a": None, "b": {"c": None, "d": 20}},
        {"a": 3, "b": None},
    ],
}
PERIODS = {
    "id": [1, 2, 3, 4, 5, 6],
    "s": [
        T(2024, 1, 1, 22),
        T(2024, 1, 2, 3),
        T(2024, 1, 3, 10, 15),
        T(2024, 1, 4),
        None,
        T(2024, 1, 6, 5),
    ],
    "e": [
        T(2024, 1, 3, 2),
        T(2024, 1, 2, 4),
        T(2024, 1, 3, 12, 5),
        T(2024, 1, 5),
        T(2024, 1, 5),
        T(2024, 1, 6, 4),
    ],
}
PERIODS_SCHEMA = "id bigint, s timestamp, e timestamp"
SHIFTS = [
    {"name": "Day", "start": "06:00", "end": "14:00"},
    {"name": "Swing", "start": "14:00", "end": "22:00"},
    {"name": "Night", "start": "22:00", "end": "06:00"},
]
NESTED_SCHEMA = "id bigint, raw string, info struct<a: bigint, b: struct<c: string, d: bigint>>"

C = builtin
CASES: list[tuple[str, Transform, dict[str, Any]]] = [
    ("extract_date_parts", C.extract_date_parts, {"source_col": "ts", "parts": ["year", "hour"]}),
    ("extract_date_parts prefix", C.extract_date_parts, {"source_col": "day", "prefix": "d"}),
    (
        "normalize_schema",
        C.normalize_schema,
        {"rename": {"name": "who"}, "drop": ["tags", "nope"], "select_order": ["who", "user"]},
    ),
    ("normalize_schema no order", C.normalize_schema, {"rename": {"name": "who"}, "drop": ["day"]}),
    ("split_part", C.split_part, {"col": "name", "delimiter": "-", "index": 2}),
    ("split_part last", C.split_part, {"col": "name", "delimiter": ".", "index": -1}),
    ("date_add", C.date_add, {"col": "ts", "value": 90, "unit": "minute"}),
    ("date_add date", C.date_add, {"col": "day", "value": 1, "unit": "month"}),
    ("date_add negative", C.date_add, {"col": "day", "value": -3, "unit": "day"}),
    ("date_trunc", C.date_trunc, {"col": "ts", "unit": "month"}),
    ("date_trunc hour", C.date_trunc, {"col": "ts", "unit": "hour"}),
    ("date_diff", C.date_diff, {"start_col": "day", "end_col": "ts"}),
    ("date_diff hours", C.date_diff, {"start_col": "day", "end_col": "ts", "unit": "hour"}),
    ("date_diff seconds", C.date_diff, {"start_col": "day", "end_col": "ts", "unit": "second"}),
    (
        "case_when",
        C.case_when,
        {
            "output_col": "size",
            "default": "'big'",
            "cases": [
                {"condition": "amount < 6", "value": "'small'"},
                {"condition": "amount < 11", "value": "'mid'"},
            ],
        },
    ),
    (
        "case_when in place",
        C.case_when,
        {"output_col": "amount", "cases": [{"condition": "user = 1", "value": "0"}]},
    ),
    ("convert_timezone", C.convert_timezone, {"col": "ts", "target_tz": "America/New_York"}),
    (
        "convert_timezone named",
        C.convert_timezone,
        {"col": "ts", "source_tz": "Europe/Paris", "target_tz": "Asia/Tokyo", "output_col": "t"},
    ),
    (
        "concat_columns",
        C.concat_columns,
        {"columns": ["name", "user", "code"], "separator": "/", "output_col": "all"},
    ),
    ("add_prefix", C.add_prefix, {"prefix": "src_", "exclude": ["user"]}),
    ("add_suffix", C.add_suffix, {"suffix": "_raw", "columns": ["name", "code"]}),
    ("coalesce_columns", C.coalesce_columns, {"columns": ["name", "code"], "output_col": "nc"}),
    (
        "coalesce_columns drop",
        C.coalesce_columns,
        {"columns": ["name", "code"], "output_col": "nc", "drop_source": True},
    ),
    (
        "replace_values",
        C.replace_values,
        {"columns": ["code", "name"], "mapping": {"1": "one", "0": None, "bob": "Bob"}},
    ),
    ("trim_whitespace", C.trim_whitespace, {}),
    ("trim_whitespace listed", C.trim_whitespace, {"columns": ["name"]}),
    ("row_number", C.row_number, {}),
    (
        "row_number partitioned",
        C.row_number,
        {"output": "n", "partition_by": ["user"], "order_by": ["ts DESC"]},
    ),
    ("explode_list_column", C.explode_list_column, {"column": "tags"}),
    ("explode_list_column outer", C.explode_list_column, {"column": "tags", "outer": True}),
    (
        "dict_based_mapping",
        C.dict_based_mapping,
        {
            "column": "code",
            "mapping": {"1": "Active", "0": "Inactive"},
            "default": "Unknown",
            "output_column": "status",
        },
    ),
    (
        "dict_based_mapping in place",
        C.dict_based_mapping,
        {"column": "user", "mapping": {"1": "one"}},
    ),
    ("regex_replace", C.regex_replace, {"column": "name", "pattern": "[^a-z]", "replacement": ""}),
    (
        "regex_replace backslash",
        C.regex_replace,
        {"column": "name", "pattern": "\\s+", "replacement": "_"},
    ),
    ("hash_columns", C.hash_columns, {"columns": ["name", "user"]}),
    ("hash_columns md5", C.hash_columns, {"columns": "name", "algorithm": "md5"}),
    ("generate_surrogate_key", C.generate_surrogate_key, {"columns": ["user", "name"]}),
    (
        "generate_numeric_key",
        C.generate_numeric_key,
        {"columns": ["user", "name"], "output_col": "amount", "coalesce_with": "amount"},
    ),
    (
        "validate_and_flag",
        C.validate_and_flag,
        {"rules": {"positive": "amount > 5", "named": "name IS NOT NULL"}},
    ),
    (
        "window_calculation",
        C.window_calculation,
        {
            "target_col": "running",
            "function": "sum(amount)",
            "partition_by": ["user"],
            "order_by": "ts ASC",
        },
    ),
    (
        "window_calculation lag",
        C.window_calculation,
        {"target_col": "prev", "function": "lag(amount)", "order_by": "ts"},
    ),
    (
        "sessionize",
        C.sessionize,
        {"timestamp_col": "ts", "user_col": "user", "threshold_seconds": 1800},
    ),
    (
        "apply_mapping",
        C.apply_mapping,
        {
            "column": "code",
            "mapping_source": "codes",
            "source_key": "code",
            "source_value": "label",
            "output": "label",
            "default": "?",
        },
    ),
    ("clean_text operations", C.clean_text, {"columns": ["name"], "operations": ["trim", "lower"]}),
    ("normalize_column_names", C.normalize_column_names, {}),
    ("geocode", C.geocode, {"address_col": "name"}),
    ("cross_check", C.cross_check, {"type": "schema_match", "inputs": ["codes", "codes"]}),
    (
        "unit_convert",
        C.unit_convert,
        {
            "conversions": {
                "amount": {"from": "degF", "to": "degC", "output": "amount_c"},
                "code": {"from": "psig", "to": "kPa"},
                "user": {"from": "kg", "to": "m"},
            }
        },
    ),
]
LONG_CASES: list[tuple[str, Transform, dict[str, Any]]] = [
    ("pivot", C.pivot, {"group_by": ["user"], "pivot_col": "month", "agg_col": "sales"}),
    (
        "pivot values",
        C.pivot,
        {
            "group_by": "user",
            "pivot_col": "month",
            "agg_col": "sales",
            "agg_func": "first",
            "values": ["Mar", "Jan", "Apr"],
        },
    ),
    (
        "pivot count",
        C.pivot,
        {"group_by": ["user"], "pivot_col": "month", "agg_col": "sales", "agg_func": "count"},
    ),
    (
        "split_events_by_period",
        C.split_events_by_period,
        {"start_col": "s", "end_col": "e", "duration_col": "minutes"},
    ),
    (
        "split_events_by_period hour",
        C.split_events_by_period,
        {"start_col": "s", "end_col": "e", "period": "hour"},
    ),
    (
        "split_events_by_period shift",
        C.split_events_by_period,
        {
            "start_col": "s",
            "end_col": "e",
            "period": "shift",
            "shifts": SHIFTS,
            "duration_col": "minutes",
            "shift_col": "shift",
        },
    ),
    ("parse_json", C.parse_json, {"column": "raw", "json_schema": "id INT, name STRING"}),
    (
        "parse_json nested",
        C.parse_json,
        {"column": "raw", "json_schema": "tags ARRAY<STRING>, id BIGINT", "output_col": "j"},
    ),
    ("unpack_struct", C.unpack_struct, {"column": "info"}),
    ("flatten_struct", C.flatten_struct, {"column": "info"}),
    (
        "flatten_struct deep",
        C.flatten_struct,
        {"column": "info", "prefix": "m_", "depth": 2, "separator": ".", "drop_source": False},
    ),
    ("normalize_json", C.normalize_json, {"column": "info"}),
    (
        "unpivot",
        C.unpivot,
        {
            "id_cols": ["user"],
            "value_vars": ["sales", "user2"],
            "var_name": "what",
            "value_name": "n",
        },
    ),
]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        # The pandas engine holds dates as midnight timestamps; Spark as dates.
        return pd.Timestamp(value).tz_localize(None).isoformat().removesuffix("T00:00:00")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value.item() if hasattr(value, "item") else value


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]


@pytest.fixture(scope="module")
def engines():
    from odibi_core.engines.spark_engine import SparkEngine

    project = ProjectConfig(project="catalogue")
    made = {"pandas": PandasEngine(project), "polars": PolarsEngine(project)}
    made["spark"] = SparkEngine(project)
    yield made
    for engine in made.values():
        engine.close()


def _frame(engine: Any, data: dict[str, list[Any]], schema: str) -> Any:
    frame = pd.DataFrame(data)
    if engine.name == "pandas":
        return frame
    if engine.name == "polars":
        import polars as pl

        return pl.DataFrame(data)
    rows = [tuple(data[c][i] for c in data) for i in range(len(frame))]
    return engine.spark.createDataFrame(rows, schema)


def _pandas(engine: Any, frame: Any) -> pd.DataFrame:
    frame = engine.native(frame)
    if engine.name == "spark":
        return frame.toPandas()
    return frame if engine.name == "pandas" else frame.to_pandas()


def run(engine: Any, t: Transform, params: dict[str, Any], long: bool = False) -> pd.DataFrame:
    if t is C.split_events_by_period:
        df = _frame(engine, PERIODS, PERIODS_SCHEMA)
    elif t in (C.parse_json, C.unpack_struct, C.flatten_struct, C.normalize_json):
        df = _frame(engine, NESTED, NESTED_SCHEMA)
    elif long:
        data = {**LONG, "user2": [u * 10 for u in LONG["user"]]}
        df = _frame(engine, data, LONG_SCHEMA + ", user2 bigint")
    else:
        df = _frame(engine, EVENTS, SCHEMA)
    codes = _frame(engine, CODES, CODES_SCHEMA)
    node = NodeConfig(name="n", depends_on=["codes"])
    ctx = TransformContext(engine=engine, node=node, tables={"codes": codes})
    return _pandas(engine, t(ctx, df, params))


OTHERS = ("polars", "spark")
ALL = [(*c, False) for c in CASES] + [(*c, True) for c in LONG_CASES]


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize(("label", "t", "params", "long"), ALL, ids=[c[0] for c in ALL])
def test_a_transformer_gives_the_same_rows_on_every_engine(engines, label, t, params, long, other):
    on_pandas = run(engines["pandas"], t, params, long)
    on_other = run(engines[other], t, params, long)
    assert list(on_other.columns) == list(on_pandas.columns)
    assert _rows(on_other) == _rows(on_pandas)
