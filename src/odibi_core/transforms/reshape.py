"""Built-in transforms that turn rows into columns and back: pivot, unpivot and
explode_list_column (Odibi's names and parameters). Imported when the CLI starts, so nothing
heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _check_columns,
    _columns,
    _fail,
    _literal,
    _numbered,
    _one_or_many,
    _Params,
    _select_list,
)
from odibi_core.transforms.registry import TransformContext, transform
from odibi_core.transforms.relational import _is_integer_type

# ---------------------------------------------------------------- pivot

#: More distinct values than this is almost surely the wrong pivot column.
MAX_PIVOT_VALUES = 1000


class PivotParams(_Params):
    group_by: list[str] = Field(min_length=1)
    pivot_col: str = Field(min_length=1)
    agg_col: str = Field(min_length=1)
    agg_func: Literal["sum", "count", "avg", "max", "min", "first"] = "sum"
    values: list[str] | None = None

    @field_validator("group_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


def _pivot_values(ctx: TransformContext, df: Any, pivot_col: str) -> list[str]:
    q = ctx.quote
    found = ctx.sql(
        f"SELECT DISTINCT CAST({q(pivot_col)} AS STRING) AS v FROM df "
        f"WHERE {q(pivot_col)} IS NOT NULL ORDER BY v",
        df,
    )
    rows = ctx.engine.sample(found, MAX_PIVOT_VALUES + 1)
    if len(rows) > MAX_PIVOT_VALUES:
        raise _fail(
            ctx,
            "pivot",
            f"'{pivot_col}' has more than {MAX_PIVOT_VALUES} values; list the ones wanted "
            "in 'values'",
        )
    return [str(r["v"]) for r in rows]


@transform("pivot", params=PivotParams)
def pivot(
    ctx: TransformContext,
    df: Any,
    group_by: list[str],
    pivot_col: str,
    agg_col: str,
    agg_func: str = "sum",
    values: list[str] | None = None,
) -> Any:
    """One row per group_by key and one column per pivot_col value (given, or every value
    found, sorted), holding agg_func of agg_col; groups sorted by their keys."""
    schema = dict(ctx.engine.schema(df))
    _check_columns(ctx, "pivot", [*group_by, pivot_col, agg_col], list(schema))
    q = ctx.quote
    chosen = values if values is not None else _pivot_values(ctx, df, pivot_col)
    items = [q(c) for c in group_by]
    for value in dict.fromkeys(chosen):
        picked = (
            f"CASE WHEN CAST({q(pivot_col)} AS STRING) = {_dialect.text(ctx, value)} "
            f"THEN {q(agg_col)} END"
        )
        if agg_func == "first":
            expr = f"MIN_BY({picked}, CASE WHEN {picked} IS NOT NULL THEN {q(_POS)} END)"
        else:
            expr = f"{agg_func.upper()}({picked})"
            if (agg_func == "sum" and _is_integer_type(schema[agg_col])) or agg_func == "count":
                expr = f"CAST({expr} AS BIGINT)"
        items.append(f"{expr} AS {q(value)}")
    order = ", ".join(f"{q(c)} NULLS LAST" for c in group_by)
    query = (
        f"SELECT {', '.join(items)} FROM ({_numbered(ctx)}) AS {q(_LEFT)} "
        f"GROUP BY {_select_list(ctx, group_by)} ORDER BY {order}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- unpivot


class UnpivotParams(_Params):
    id_cols: list[str] = Field(min_length=1)
    value_vars: list[str] = Field(min_length=1)
    var_name: str = "variable"
    value_name: str = "value"

    @field_validator("id_cols", "value_vars", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("unpivot", params=UnpivotParams)
def unpivot(
    ctx: TransformContext,
    df: Any,
    id_cols: list[str],
    value_vars: list[str],
    var_name: str = "variable",
    value_name: str = "value",
) -> Any:
    """Melt: one row per input row and value_vars column (var_name holds the column's name,
    value_name its value), each input row's rows together, in input order."""
    _check_columns(ctx, "unpivot", [*id_cols, *value_vars], _columns(ctx, df))
    q = ctx.quote
    ids = _select_list(ctx, id_cols)
    order = q("__odibi_var")
    branches = [
        f"SELECT {ids}, {_literal(v)} AS {q(var_name)}, {q(v)} AS {q(value_name)}, "
        f"{q(_POS)}, {i} AS {order} FROM {q(_LEFT)}"
        for i, v in enumerate(dict.fromkeys(value_vars))
    ]
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}) "
        f"SELECT {_select_list(ctx, [*id_cols, var_name, value_name])} "
        f"FROM ({' UNION ALL '.join(branches)}) AS u ORDER BY {q(_POS)}, {order}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- explode_list_column


class ExplodeParams(_Params):
    column: str = Field(min_length=1)
    outer: bool = False


@transform("explode_list_column", params=ExplodeParams)
def explode_list_column(ctx: TransformContext, df: Any, column: str, outer: bool = False) -> Any:
    """One row per element of a list column, in list order; with ``outer: true`` a row
    whose list is empty or null is kept once, with a null."""
    have = _columns(ctx, df)
    _check_columns(ctx, "explode_list_column", [column], have)
    q = ctx.quote
    col, pos, k, v = q(column), q(_POS), q("__odibi_k"), q("__odibi_v")
    items = ", ".join(f"{v} AS {col}" if c == column else q(c) for c in have)
    if _dialect.is_spark(ctx):
        func = "posexplode_outer" if outer else "posexplode"
        exploded = f"SELECT *, {func}({col}) AS ({k}, {v}) FROM {q(_LEFT)}"
    else:
        numbered = (
            f"SELECT *, UNNEST(range(1, len({col}) + 1)) AS {k} FROM {q(_LEFT)} "
            f"WHERE len({col}) > 0"
        )
        exploded = f"SELECT *, {col}[{k}] AS {v} FROM ({numbered}) AS e"
        if outer:
            exploded += (
                f" UNION ALL SELECT *, NULL AS {k}, NULL AS {v} FROM {q(_LEFT)} "
                f"WHERE {col} IS NULL OR len({col}) = 0"
            )
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}) SELECT {items} FROM ({exploded}) AS x "
        f"ORDER BY {pos}, {k} NULLS FIRST"
    )
    return ctx.sql(query, df)
