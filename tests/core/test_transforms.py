"""The core transform set (odibi_core.transforms.builtin), run the way the runner runs them."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from odibi_core.config.models import NodeConfig, ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.errors import NodeError
from odibi_core.transforms import builtin
from odibi_core.transforms.columns import (
    FillNullsParams,
    cast_columns,
    clean_text,
    derive_columns,
    drop_columns,
    fill_nulls,
    rename_columns,
    select_columns,
    sql_type,
)
from odibi_core.transforms.registry import Transform, TransformContext
from odibi_core.transforms.relational import JoinParams, aggregate, join, union
from odibi_core.transforms.rows import deduplicate, distinct, filter_rows, limit, sort

ENGINE = PandasEngine(ProjectConfig(project="t"))


def run(
    t: Transform, df: pd.DataFrame, params: dict[str, Any], **tables: pd.DataFrame
) -> pd.DataFrame:
    node = NodeConfig(name="n", depends_on=list(tables))
    ctx = TransformContext(engine=ENGINE, node=node, tables=tables)
    return ENGINE.native(t(ctx, df, params))  # what user code would get


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, with every kind of missing value as None."""
    return [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]


def cols(frame: pd.DataFrame) -> list[str]:
    return list(frame.columns)


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 1, 3, 2, 1],
            "name": ["  Ann ", "bob", "ANN", None, "Bob  ", "ann"],
            "score": [10.0, float("nan"), 30.0, 5.0, 20.0, None],
            "updated": [1, 5, 3, 2, 4, 2],
        }
    )


# ---------------------------------------------------------------- registration


def test_plugin_registers_every_core_transform() -> None:
    transforms = builtin.odibi_register_transforms()
    names = [t.name for t in transforms]
    assert names[:15] == [  # the rest of Odibi's catalogue: tests/e2e/test_transformer_catalogue
        "deduplicate",
        "filter_rows",
        "derive_columns",
        "cast_columns",
        "rename_columns",
        "select_columns",
        "drop_columns",
        "fill_nulls",
        "join",
        "union",
        "aggregate",
        "sort",
        "clean_text",
        "limit",
        "distinct",
    ]
    for t in transforms:
        assert isinstance(t, Transform)
        assert t.engine == "any"
        assert t.params_model is not None
        assert t.params_model.model_config.get("extra") == "forbid"
        assert t.description and "\n" not in t.description


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, odibi_core.transforms.builtin; "
        "print(sorted(m for m in ('pandas', 'duckdb', 'pyarrow', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("t", "params", "bad_key"),
    [
        (deduplicate, {"keys": ["id"], "order": "x"}, "order"),
        (filter_rows, {"condition": "id > 1", "where": "x"}, "where"),
        (derive_columns, {"derivation": {"a": "1"}}, "derivation"),
        (cast_columns, {"casts": {"id": "int"}, "strict": True}, "strict"),
        (rename_columns, {"mappings": {"id": "x"}}, "mappings"),
        (select_columns, {"columns": ["id"], "column": "id"}, "column"),
        (drop_columns, {"cols": ["id"]}, "cols"),
        (fill_nulls, {"values": {"id": 0}, "value": 0}, "value"),
        (join, {"right_dataset": "r", "on": "id", "type": "left"}, "type"),
        (union, {"datasets": ["a"], "byname": True}, "byname"),
        (aggregate, {"group_by": ["id"], "aggregations": {"x": "sum"}, "agg": 1}, "agg"),
        (sort, {"by": "id", "asc": True}, "asc"),
        (clean_text, {"columns": ["name"], "lower": True}, "lower"),
        (limit, {"n": 1, "skip": 1}, "skip"),
        (distinct, {"column": ["id"]}, "column"),
    ],
)
def test_unknown_param_is_a_validation_error(
    t: Transform, params: dict[str, Any], bad_key: str, people: pd.DataFrame
) -> None:
    with pytest.raises(ValidationError) as info:
        run(t, people, params)
    errors = info.value.errors()
    assert any(e["type"] == "extra_forbidden" and e["loc"] == (bad_key,) for e in errors)


# ---------------------------------------------------------------- deduplicate


def test_deduplicate_keeps_first_in_input_order(people: pd.DataFrame) -> None:
    out = run(deduplicate, people, {"keys": ["id"]})
    assert cols(out) == ["id", "name", "score", "updated"]
    assert rows(out) == [(1, "  Ann ", 10.0, 1), (2, "bob", None, 5), (3, None, 5.0, 2)]


def test_deduplicate_with_order_by(people: pd.DataFrame) -> None:
    out = run(deduplicate, people, {"keys": "id", "order_by": "updated DESC"})
    # Kept rows come back in their input order.
    assert rows(out) == [(2, "bob", None, 5), (1, "ANN", 30.0, 3), (3, None, 5.0, 2)]


def test_deduplicate_ties_in_order_by_keep_input_order() -> None:
    df = pd.DataFrame({"k": ["a", "a", "a"], "v": [1, 2, 3], "t": [5, 9, 9]})
    out = run(deduplicate, df, {"keys": ["k"], "order_by": "t DESC"})
    assert rows(out) == [("a", 2, 9)]


def test_deduplicate_on_several_keys_with_null_keys() -> None:
    df = pd.DataFrame(
        {"a": [1, 1, None, None, 1], "b": ["x", "y", "x", "x", "x"], "v": [1, 2, 3, 4, 5]}
    )
    out = run(deduplicate, df, {"keys": ["a", "b"]})
    # Null keys count as equal, like pandas drop_duplicates.
    assert rows(out) == [(1.0, "x", 1), (1.0, "y", 2), (None, "x", 3)]


def test_deduplicate_keeps_order_of_a_larger_frame() -> None:
    n = 20_000
    df = pd.DataFrame({"k": [i % 7 for i in range(n)], "v": list(range(n))})
    df = df.iloc[::-1].reset_index(drop=True)
    out = run(deduplicate, df, {"keys": ["k"]})
    assert rows(out) == [(k, v) for k, v in zip(df["k"][:7], df["v"][:7], strict=True)]


def test_deduplicate_unknown_key_names_it(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"key column 'idd' not in the data.*did you mean 'id'"):
        run(deduplicate, people, {"keys": ["idd"]})


def test_deduplicate_needs_keys(people: pd.DataFrame) -> None:
    with pytest.raises(ValidationError):
        run(deduplicate, people, {"keys": []})
    with pytest.raises(ValidationError) as info:
        run(deduplicate, people, {"order_by": "id"})
    # Reported under the YAML name, so `odibi validate` points at 'keys'.
    assert [e["loc"] for e in info.value.errors()] == [("keys",)]


# ---------------------------------------------------------------- filter_rows


def test_filter_rows(people: pd.DataFrame) -> None:
    out = run(filter_rows, people, {"condition": "score >= 10 AND id <> 3"})
    assert cols(out) == cols(people)
    assert rows(out) == [(1, "  Ann ", 10.0, 1), (1, "ANN", 30.0, 3), (2, "Bob  ", 20.0, 4)]


def test_filter_rows_nan_is_null(people: pd.DataFrame) -> None:
    out = run(filter_rows, people, {"condition": "score IS NULL"})
    assert [r[0] for r in rows(out)] == [2, 1]


def test_filter_rows_bad_sql_is_a_node_error(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match="nope"):
        run(filter_rows, people, {"condition": "nope > 1"})


# ---------------------------------------------------------------- derive_columns


def test_derive_columns_replaces_in_place_and_appends_in_order() -> None:
    df = pd.DataFrame({"a": [1, 2, None], "b": [10, 20, 30], "c": ["x", "y", "z"]})
    out = run(
        derive_columns,
        df,
        {
            "derivations": {
                "z": "b * 2",
                "b": "b + 1",
                "y": "upper(c)",
                "w": "z + b",  # sees the derivations before it
            }
        },
    )
    assert cols(out) == ["a", "b", "c", "z", "y", "w"]
    assert rows(out) == [
        (1.0, 11, "x", 20, "X", 31),
        (2.0, 21, "y", 40, "Y", 61),
        (None, 31, "z", 60, "Z", 91),
    ]


def test_derive_columns_null_propagation() -> None:
    df = pd.DataFrame({"a": [1.0, None]})
    out = run(derive_columns, df, {"derivations": {"a2": "a * 2", "flag": "a IS NULL"}})
    assert rows(out) == [(1.0, 2.0, False), (None, None, True)]


def test_derive_columns_bad_expression_names_it() -> None:
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(NodeError, match="missing_col"):
        run(derive_columns, df, {"derivations": {"b": "missing_col + 1"}})


# ---------------------------------------------------------------- cast_columns


def test_cast_columns_aliases_and_raw_types() -> None:
    df = pd.DataFrame(
        {
            "i": ["1", "2", None],
            "f": [1, 2, 3],
            "s": [1.5, None, 3.0],
            "b": ["true", "false", None],
            "d": ["2024-01-02", "2024-02-03", None],
            "ts": ["2024-01-02 03:04:05", None, "2024-01-01 00:00:00"],
            "m": ["1.234", "2.5", "3"],
            "keep": ["k1", "k2", "k3"],
        }
    )
    out = run(
        cast_columns,
        df,
        {
            "casts": {
                "i": "Integer",
                "f": "DOUBLE",
                "s": "string",
                "b": "bool",
                "d": "date",
                "ts": "datetime",
                "m": "DECIMAL(10,2)",
            }
        },
    )
    assert cols(out) == ["i", "f", "s", "b", "d", "ts", "m", "keep"]
    got = rows(out)
    assert [r[0] for r in got] == [1, 2, None]
    assert [r[1] for r in got] == [1.0, 2.0, 3.0]
    assert isinstance(got[0][1], float)
    assert [r[2] for r in got] == ["1.5", None, "3.0"]
    assert [r[3] for r in got] == [True, False, None]
    # DuckDB hands DATE back to pandas as midnight timestamps.
    assert [r[4] for r in got] == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-02-03"), None]
    assert pd.api.types.is_datetime64_any_dtype(out["ts"])
    assert [str(v) for v in out["ts"]] == ["2024-01-02 03:04:05", "NaT", "2024-01-01 00:00:00"]
    assert [float(v) for v in out["m"]] == [1.23, 2.5, 3.0]
    assert [r[7] for r in got] == ["k1", "k2", "k3"]


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("int", "INTEGER"),
        ("INTEGER", "INTEGER"),
        ("bigint", "BIGINT"),
        ("Long", "BIGINT"),
        ("str", "STRING"),
        ("string", "STRING"),
        ("float", "DOUBLE"),
        ("double", "DOUBLE"),
        ("bool", "BOOLEAN"),
        ("boolean", "BOOLEAN"),
        ("date", "DATE"),
        ("timestamp", "TIMESTAMP"),
        ("DateTime", "TIMESTAMP"),
        ("DECIMAL(10,2)", "DECIMAL(10,2)"),
        ("smallint", "smallint"),
    ],
)
def test_cast_type_aliases(alias: str, expected: str) -> None:
    assert sql_type(alias) == expected


def test_cast_bigint_keeps_integers() -> None:
    df = pd.DataFrame({"x": ["9000000000", "-1"]})
    out = run(cast_columns, df, {"casts": {"x": "long"}})
    assert rows(out) == [(9_000_000_000,), (-1,)]


def test_cast_unknown_column_names_it() -> None:
    df = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(NodeError, match=r"cast column 'nope' not in the data") as info:
        run(cast_columns, df, {"casts": {"a": "int", "nope": "int"}})
    assert "node 'n'" in str(info.value)


def test_cast_failure_is_a_node_error() -> None:
    df = pd.DataFrame({"a": ["x"]})
    with pytest.raises(NodeError, match="SQL failed"):
        run(cast_columns, df, {"casts": {"a": "int"}})


# ---------------------------------------------------------------- rename / select / drop


def test_rename_columns_keeps_positions(people: pd.DataFrame) -> None:
    out = run(rename_columns, people, {"mapping": {"name": "full_name", "id": "ID"}})
    assert cols(out) == ["ID", "full_name", "score", "updated"]
    assert rows(out) == rows(people)


def test_rename_swap() -> None:
    df = pd.DataFrame({"a": [1], "b": [2]})
    out = run(rename_columns, df, {"mapping": {"a": "b", "b": "a"}})
    assert cols(out) == ["b", "a"]
    assert rows(out) == [(1, 2)]


def test_rename_unknown_column_names_it(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"column to rename 'nam' not in the data.*'name'"):
        run(rename_columns, people, {"mapping": {"nam": "x"}})


def test_rename_to_existing_name_is_an_error(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"duplicate column.*'score'"):
        run(rename_columns, people, {"mapping": {"name": "score"}})


def test_select_columns_in_given_order(people: pd.DataFrame) -> None:
    out = run(select_columns, people, {"columns": ["score", "id"]})
    assert cols(out) == ["score", "id"]
    assert rows(out) == [(10.0, 1), (None, 2), (30.0, 1), (5.0, 3), (20.0, 2), (None, 1)]


def test_select_unknown_columns_names_them(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"columns 'x', 'y' not in the data"):
        run(select_columns, people, {"columns": ["id", "x", "y"]})


def test_drop_columns(people: pd.DataFrame) -> None:
    out = run(drop_columns, people, {"columns": ["name", "updated"]})
    assert cols(out) == ["id", "score"]
    assert len(out) == 6


def test_drop_unknown_or_every_column(people: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match="column 'nope' not in the data"):
        run(drop_columns, people, {"columns": ["nope"]})
    with pytest.raises(NodeError, match="every column"):
        run(drop_columns, people, {"columns": cols(people)})


def test_column_names_needing_quotes() -> None:
    df = pd.DataFrame({"my col": [1, 2], 'we"ird': ["a", "b"], "select": [True, False]})
    out = run(rename_columns, df, {"mapping": {"my col": 'new "name"'}})
    out = run(select_columns, out, {"columns": ["select", 'new "name"', 'we"ird']})
    assert cols(out) == ["select", 'new "name"', 'we"ird']
    assert rows(out) == [(True, 1, "a"), (False, 2, "b")]


# ---------------------------------------------------------------- fill_nulls


def test_fill_nulls_literals_and_positions() -> None:
    df = pd.DataFrame(
        {
            "s": ["a", None, "c"],
            "i": [1.0, None, 3.0],
            "f": [None, 2.5, float("nan")],
            "b": [True, None, False],
            "other": [None, "x", None],
        }
    )
    out = run(fill_nulls, df, {"values": {"s": "it's", "i": 0, "f": -1.5, "b": True}})
    assert cols(out) == ["s", "i", "f", "b", "other"]
    assert rows(out) == [
        ("a", 1.0, -1.5, True, None),
        ("it's", 0.0, 2.5, True, "x"),
        ("c", 3.0, -1.5, False, None),
    ]


def test_fill_nulls_accepts_fills_alias() -> None:
    df = pd.DataFrame({"s": [None, "b"]})
    out = run(fill_nulls, df, {"fills": {"s": "unknown"}})
    assert rows(out) == [("unknown",), ("b",)]


def test_fill_nulls_bool_stays_bool() -> None:
    params = FillNullsParams.model_validate({"values": {"a": False, "b": 1, "c": "1"}})
    assert params.values == {"a": False, "b": 1, "c": "1"}
    assert type(params.values["a"]) is bool and type(params.values["b"]) is int


def test_fill_nulls_unknown_column_names_it() -> None:
    df = pd.DataFrame({"a": [None]})
    with pytest.raises(NodeError, match="column 'b' not in the data"):
        run(fill_nulls, df, {"values": {"b": 1}})


# ---------------------------------------------------------------- join


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cust": [1, 2, 4, 1, None],
            "amount": [10, 20, 40, 15, 99],
            "name": ["o1", "o2", "o4", "o5", "o6"],
        }
    )


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cust": [1, 2, 3, None],
            "name": ["Ann", "Bob", "Cy", "Nul"],
            "tier": ["gold", None, "silver", "x"],
        }
    )


def test_join_left_default(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    out = run(join, orders, {"right_dataset": "customers", "on": "cust"}, customers=customers)
    assert cols(out) == ["cust", "amount", "name", "customers_name", "tier"]
    assert rows(out) == [
        (1.0, 10, "o1", "Ann", "gold"),
        (2.0, 20, "o2", "Bob", None),
        (4.0, 40, "o4", None, None),
        (1.0, 15, "o5", "Ann", "gold"),
        (None, 99, "o6", None, None),  # null keys never match
    ]


def test_join_inner_with_prefix(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    out = run(
        join,
        orders,
        {"right_dataset": "customers", "on": ["cust"], "how": "inner", "prefix": "c"},
        customers=customers,
    )
    assert cols(out) == ["cust", "amount", "name", "c_name", "tier"]
    assert rows(out) == [
        (1.0, 10, "o1", "Ann", "gold"),
        (2.0, 20, "o2", "Bob", None),
        (1.0, 15, "o5", "Ann", "gold"),
    ]


def test_join_right_takes_keys_from_the_right(
    orders: pd.DataFrame, customers: pd.DataFrame
) -> None:
    out = run(
        join,
        orders,
        {"right_dataset": "customers", "on": "cust", "how": "right"},
        customers=customers,
    )
    assert cols(out) == ["cust", "amount", "name", "customers_name", "tier"]
    assert rows(out) == [
        (1.0, 10, "o1", "Ann", "gold"),
        (1.0, 15, "o5", "Ann", "gold"),
        (2.0, 20, "o2", "Bob", None),
        (3.0, None, None, "Cy", "silver"),
        (None, None, None, "Nul", "x"),
    ]


def test_join_full_coalesces_keys(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    out = run(
        join,
        orders,
        {"right_dataset": "customers", "on": "cust", "how": "full"},
        customers=customers,
    )
    assert cols(out) == ["cust", "amount", "name", "customers_name", "tier"]
    assert rows(out) == [
        (1.0, 10, "o1", "Ann", "gold"),
        (2.0, 20, "o2", "Bob", None),
        (4.0, 40, "o4", None, None),
        (1.0, 15, "o5", "Ann", "gold"),
        (None, 99, "o6", None, None),
        (3.0, None, None, "Cy", "silver"),
        (None, None, None, "Nul", "x"),
    ]


def test_join_anti_and_semi_keep_left_columns(
    orders: pd.DataFrame, customers: pd.DataFrame
) -> None:
    anti = run(
        join,
        orders,
        {"right_dataset": "customers", "on": "cust", "how": "anti"},
        customers=customers,
    )
    assert cols(anti) == ["cust", "amount", "name"]
    assert rows(anti) == [(4.0, 40, "o4"), (None, 99, "o6")]
    semi = run(
        join,
        orders,
        {"right_dataset": "customers", "on": "cust", "how": "semi"},
        customers=customers,
    )
    assert cols(semi) == ["cust", "amount", "name"]
    # Each left row at most once, even with several matches on the right.
    dup = pd.concat([customers, customers], ignore_index=True)
    semi_dup = run(
        join,
        orders,
        {"right_dataset": "customers", "on": "cust", "how": "semi"},
        customers=dup,
    )
    assert rows(semi) == rows(semi_dup) == [(1.0, 10, "o1"), (2.0, 20, "o2"), (1.0, 15, "o5")]


def test_join_cross() -> None:
    left = pd.DataFrame({"a": [1, 2], "x": ["l1", "l2"]})
    right = pd.DataFrame({"x": ["r1", "r2"], "b": [True, False]})
    out = run(join, left, {"right_dataset": "r", "how": "cross"}, r=right)
    assert cols(out) == ["a", "x", "r_x", "b"]
    assert rows(out) == [
        (1, "l1", "r1", True),
        (1, "l1", "r2", False),
        (2, "l2", "r1", True),
        (2, "l2", "r2", False),
    ]


def test_join_on_several_keys_duplicates_match() -> None:
    left = pd.DataFrame({"k1": [1, 1, 2], "k2": ["a", "b", "a"], "v": [1, 2, 3]})
    right = pd.DataFrame({"k2": ["a", "a", "b"], "k1": [1, 1, 1], "w": [10, 11, 12]})
    out = run(join, left, {"right_dataset": "r", "on": ["k1", "k2"], "how": "inner"}, r=right)
    assert cols(out) == ["k1", "k2", "v", "w"]
    assert rows(out) == [(1, "a", 1, 10), (1, "a", 1, 11), (1, "b", 2, 12)]


def test_join_params() -> None:
    assert JoinParams.model_validate({"right_dataset": "r", "on": "id"}).on == ["id"]
    assert JoinParams.model_validate({"right_dataset": "r", "on": "id"}).how == "left"
    with pytest.raises(ValidationError, match="needs 'on'"):
        JoinParams.model_validate({"right_dataset": "r", "how": "inner"})
    with pytest.raises(ValidationError):
        JoinParams.model_validate({"right_dataset": "r", "on": "id", "how": "outer"})


def test_join_missing_dependency_names_it(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"'clients' is not a dependency.*have: customers"):
        run(join, orders, {"right_dataset": "clients", "on": "cust"}, customers=customers)


def test_join_missing_key_names_side(orders: pd.DataFrame) -> None:
    right = pd.DataFrame({"customer": [1]})
    with pytest.raises(NodeError, match=r"join key 'cust' not in 'r'"):
        run(join, orders, {"right_dataset": "r", "on": "cust"}, r=right)
    with pytest.raises(NodeError, match=r"join key 'customer' not in the data"):
        run(join, orders, {"right_dataset": "r", "on": "customer"}, r=right)


# ---------------------------------------------------------------- union


def test_union_by_name_fills_missing_columns() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    other = pd.DataFrame({"b": ["y"], "c": [True], "a": [3]})
    third = pd.DataFrame({"a": [4, 5]})
    out = run(union, df, {"datasets": ["other", "third"]}, other=other, third=third)
    assert cols(out) == ["a", "b", "c"]
    assert rows(out) == [
        (1, "x", None),
        (2, None, None),
        (3, "y", True),
        (4, None, None),
        (5, None, None),
    ]


def test_union_positional() -> None:
    df = pd.DataFrame({"a": [1], "b": ["x"]})
    other = pd.DataFrame({"b": [2], "a": ["y"]})
    out = run(union, df, {"datasets": "other", "by_name": False}, other=other)
    assert cols(out) == ["a", "b"]
    assert rows(out) == [(1, "x"), (2, "y")]


def test_union_positional_needs_same_width() -> None:
    df = pd.DataFrame({"a": [1], "b": ["x"]})
    other = pd.DataFrame({"a": [2]})
    with pytest.raises(NodeError, match="'other' has 1 columns"):
        run(union, df, {"datasets": ["other"], "by_name": False}, other=other)


def test_union_keeps_duplicates_and_order() -> None:
    df = pd.DataFrame({"a": list(range(3000))})
    out = run(union, df, {"datasets": ["df2"]}, df2=df)
    assert out["a"].tolist() == list(range(3000)) * 2


def test_union_missing_dependency_names_it() -> None:
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(NodeError, match="'ghost' is not a dependency"):
        run(union, df, {"datasets": ["ghost"]})


# ---------------------------------------------------------------- aggregate


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["n", "s", "n", None, "s", "n"],
            "qty": [1, 2, 3, 4, 5, 6],
            "price": [1.5, None, 2.5, 4.0, float("nan"), 3.0],
            "item": [None, "b", "a", "d", "b", "c"],
        }
    )


def test_aggregate(sales: pd.DataFrame) -> None:
    out = run(
        aggregate,
        sales,
        {
            "group_by": ["region"],
            "aggregations": {"qty": "sum", "price": "avg", "item": "count_distinct"},
        },
    )
    assert cols(out) == ["region", "qty", "price", "item"]
    assert out["qty"].dtype.kind == "i"
    assert rows(out) == [("n", 10, 2.3333333333333335, 2), ("s", 7, None, 1), (None, 4, 4.0, 1)]


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        ("min", [("n", 1.5), ("s", None), (None, 4.0)]),
        ("MAX", [("n", 3.0), ("s", None), (None, 4.0)]),
        ("mean", [("n", 7.0 / 3), ("s", None), (None, 4.0)]),
        ("count", [("n", 3), ("s", 0), (None, 1)]),
        ("sum", [("n", 7.0), ("s", None), (None, 4.0)]),
    ],
)
def test_aggregate_functions(
    sales: pd.DataFrame, func: str, expected: list[tuple[Any, ...]]
) -> None:
    out = run(aggregate, sales, {"group_by": "region", "aggregations": {"price": func}})
    got = rows(out)
    assert [r[0] for r in got] == [e[0] for e in expected]
    assert [r[1] for r in got] == [
        pytest.approx(e[1]) if e[1] is not None else None for e in expected
    ]


def test_aggregate_first_is_first_non_null_in_input_order(sales: pd.DataFrame) -> None:
    out = run(
        aggregate,
        sales,
        {"group_by": ["region"], "aggregations": {"item": "first", "price": "first"}},
    )
    assert cols(out) == ["region", "item", "price"]
    assert rows(out) == [("n", "a", 1.5), ("s", "b", None), (None, "d", 4.0)]


def test_aggregate_without_group_by(sales: pd.DataFrame) -> None:
    out = run(aggregate, sales, {"aggregations": {"qty": "sum", "item": "count"}})
    assert cols(out) == ["qty", "item"]
    assert rows(out) == [(21, 5)]


def test_aggregate_errors(sales: pd.DataFrame) -> None:
    with pytest.raises(NodeError, match=r"group_by column 'regoin'.*did you mean 'region'"):
        run(aggregate, sales, {"group_by": ["regoin"], "aggregations": {"qty": "sum"}})
    with pytest.raises(NodeError, match="aggregated column 'amount'"):
        run(aggregate, sales, {"group_by": ["region"], "aggregations": {"amount": "sum"}})
    with pytest.raises(NodeError, match="both grouped and aggregated"):
        run(aggregate, sales, {"group_by": ["region"], "aggregations": {"region": "count"}})
    with pytest.raises(ValidationError, match="median"):
        run(aggregate, sales, {"group_by": ["region"], "aggregations": {"qty": "median"}})


# ---------------------------------------------------------------- sort


def test_sort_nulls_last_and_stable(people: pd.DataFrame) -> None:
    out = run(sort, people, {"by": "score"})
    assert cols(out) == cols(people)
    assert [(r[0], r[2]) for r in rows(out)] == [
        (3, 5.0),
        (1, 10.0),
        (2, 20.0),
        (1, 30.0),
        (2, None),
        (1, None),
    ]
    out = run(sort, people, {"by": "score", "ascending": False})
    assert [(r[0], r[2]) for r in rows(out)] == [
        (1, 30.0),
        (2, 20.0),
        (1, 10.0),
        (3, 5.0),
        (2, None),
        (1, None),
    ]


def test_sort_several_columns(people: pd.DataFrame) -> None:
    out = run(sort, people, {"by": ["id", "updated"], "ascending": [False, True]})
    assert [(r[0], r[3]) for r in rows(out)] == [(3, 2), (2, 4), (2, 5), (1, 1), (1, 2), (1, 3)]


def test_sort_errors(people: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="'ascending' has 1 values"):
        run(sort, people, {"by": ["id", "score"], "ascending": [True]})
    with pytest.raises(NodeError, match="sort column 'nope'"):
        run(sort, people, {"by": "nope"})


# ---------------------------------------------------------------- clean_text


def test_clean_text(people: pd.DataFrame) -> None:
    out = run(clean_text, people, {"columns": ["name"], "case": "lower"})
    assert cols(out) == cols(people)
    assert [_plain(v) for v in out["name"]] == ["ann", "bob", "ann", None, "bob", "ann"]
    assert rows(out.drop(columns="name")) == rows(people.drop(columns="name"))


def test_clean_text_variants() -> None:
    df = pd.DataFrame({"a": ["  x Y  ", None], "b": [" Keep ", "z"]})
    out = run(clean_text, df, {"columns": "a"})
    assert rows(out) == [("x Y", " Keep "), (None, "z")]
    out = run(clean_text, df, {"columns": ["a", "b"], "trim": False, "case": "upper"})
    assert rows(out) == [("  X Y  ", " KEEP "), (None, "Z")]
    with pytest.raises(ValidationError):
        run(clean_text, df, {"columns": ["a"], "case": "title"})
    with pytest.raises(NodeError, match="column 'c' not in the data"):
        run(clean_text, df, {"columns": ["c"]})


# ---------------------------------------------------------------- limit / distinct


def test_limit(people: pd.DataFrame) -> None:
    out = run(limit, people, {"n": 2})
    assert cols(out) == cols(people)
    assert [r[-1] for r in rows(out)] == [1, 5]
    out = run(limit, people, {"n": 3, "offset": 4})
    assert [r[-1] for r in rows(out)] == [4, 2]
    assert len(run(limit, people, {"n": 0})) == 0
    with pytest.raises(ValidationError):
        run(limit, people, {"n": -1})


def test_distinct_all_columns_in_first_appearance_order() -> None:
    df = pd.DataFrame({"a": [2, 1, 2, None, None, 1], "b": ["x", "y", "x", None, None, "z"]})
    out = run(distinct, df, {})
    assert cols(out) == ["a", "b"]
    assert rows(out) == [(2.0, "x"), (1.0, "y"), (None, None), (1.0, "z")]


def test_distinct_columns(people: pd.DataFrame) -> None:
    out = run(distinct, people, {"columns": ["id"]})
    assert cols(out) == ["id"]
    assert rows(out) == [(1,), (2,), (3,)]
    with pytest.raises(NodeError, match="column 'idx' not in the data"):
        run(distinct, people, {"columns": ["idx"]})


# ---------------------------------------------------------------- chaining and sql record


def test_transforms_chain_and_record_sql(people: pd.DataFrame) -> None:
    node = NodeConfig(name="n")
    ctx = TransformContext(engine=ENGINE, node=node)
    frame = clean_text(ctx, people, {"columns": ["name"], "case": "lower"})
    frame = fill_nulls(ctx, frame, {"values": {"name": "unknown", "score": 0}})
    frame = deduplicate(ctx, frame, {"keys": ["name"], "order_by": "updated DESC"})
    frame = sort(ctx, frame, {"by": "name"})
    assert rows(ENGINE.native(frame)) == [
        (1, "ann", 30.0, 3),
        (2, "bob", 0.0, 5),
        (3, "unknown", 5.0, 2),
    ]
    assert len(ctx.executed_sql) == 4
    assert all("df" in q for q in ctx.executed_sql)


def test_empty_frame() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="str")})
    for t, params in [
        (deduplicate, {"keys": ["a"]}),
        (sort, {"by": "a"}),
        (distinct, {}),
        (limit, {"n": 5}),
        (aggregate, {"group_by": ["b"], "aggregations": {"a": "sum"}}),
    ]:
        out = run(t, df, params)
        assert len(out) == 0
        assert set(cols(out)) == {"a", "b"}
