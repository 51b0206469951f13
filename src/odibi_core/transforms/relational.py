"""Built-in transforms that combine or summarise data: join, union and aggregate.

join and union read other nodes' outputs (``ctx.table``); aggregate groups rows. Imported when the
CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _RIGHT,
    _RPOS,
    _SRC,
    _check_columns,
    _columns,
    _fail,
    _numbered,
    _one_or_many,
    _Params,
    _select_list,
)
from odibi_core.transforms.registry import TransformContext, transform

# ---------------------------------------------------------------- join

JoinHow = Literal["inner", "left", "right", "full", "cross", "anti", "semi"]


class JoinParams(_Params):
    # What ``odibi explain join`` shows (its params depend on each other).
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"right_dataset": "customers", "on": ["customer_id"]}]}
    )

    right_dataset: str = Field(min_length=1)
    on: list[str] = Field(default_factory=list)
    how: JoinHow = "left"
    prefix: str | None = None

    @field_validator("on", mode="before")
    @classmethod
    def _on_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)

    @model_validator(mode="after")
    def _keys_for_how(self) -> JoinParams:
        if self.how == "cross" and self.on:
            raise ValueError("'on' is not used with how: cross")
        if self.how != "cross" and not self.on:
            raise ValueError(f"how: {self.how} needs 'on' (the key column or columns)")
        return self


@transform("join", params=JoinParams)
def join(
    ctx: TransformContext,
    df: Any,
    right_dataset: str,
    on: list[str],
    how: str = "left",
    prefix: str | None = None,
) -> Any:
    """Join another node's output on key columns (inner, left, right, full, cross, anti, semi)."""
    right = ctx.table(right_dataset)
    left_cols = _columns(ctx, df)
    right_cols = _columns(ctx, right)
    on = list(dict.fromkeys(on))
    _check_columns(ctx, "join", on, left_cols, "join key", "the data")
    _check_columns(ctx, "join", on, right_cols, "join key", f"'{right_dataset}'")
    q = ctx.quote
    lt, rt = q(_LEFT), q(_RIGHT)
    ctes = (
        f"WITH {lt} AS ({_numbered(ctx)}), "
        f"{rt} AS (SELECT *, {ctx.row_position()} AS {q(_RPOS)} FROM {q(right_dataset)}) "
    )
    match = " AND ".join(f"{lt}.{q(k)} = {rt}.{q(k)}" for k in on)
    if how in ("anti", "semi"):
        exists = "NOT EXISTS" if how == "anti" else "EXISTS"
        query = (
            ctes + f"SELECT {_select_list(ctx, left_cols, lt)} FROM {lt} WHERE {exists} "
            f"(SELECT 1 FROM {rt} WHERE {match}) ORDER BY {lt}.{q(_POS)}"
        )
        return ctx.sql(query, df)

    items: list[str] = []
    for c in left_cols:
        if c in on and how == "right":
            items.append(f"{rt}.{q(c)} AS {q(c)}")
        elif c in on and how == "full":
            items.append(f"COALESCE({lt}.{q(c)}, {rt}.{q(c)}) AS {q(c)}")
        else:
            items.append(f"{lt}.{q(c)}")
    taken = set(left_cols)
    for c in right_cols:
        if c in on:
            continue
        name = f"{prefix or right_dataset}_{c}" if c in left_cols else c
        if name in taken:
            raise _fail(
                ctx,
                "join",
                f"column '{c}' of '{right_dataset}' would become '{name}', "
                "which the result already has; set another 'prefix'",
            )
        taken.add(name)
        items.append(f"{rt}.{q(c)} AS {q(name)}")

    keyword = {
        "inner": "INNER JOIN",
        "left": "LEFT JOIN",
        "right": "RIGHT JOIN",
        "full": "FULL OUTER JOIN",
        "cross": "CROSS JOIN",
    }[how]
    condition = "" if how == "cross" else f" ON {match}"
    left_pos, right_pos = f"{lt}.{q(_POS)} NULLS LAST", f"{rt}.{q(_RPOS)} NULLS LAST"
    order = f"{right_pos}, {left_pos}" if how == "right" else f"{left_pos}, {right_pos}"
    query = ctes + f"SELECT {', '.join(items)} FROM {lt} {keyword} {rt}{condition} ORDER BY {order}"
    return ctx.sql(query, df)


# ---------------------------------------------------------------- union


class UnionParams(_Params):
    datasets: list[str] = Field(min_length=1)
    by_name: bool = True

    @field_validator("datasets", mode="before")
    @classmethod
    def _datasets_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("union", params=UnionParams)
def union(ctx: TransformContext, df: Any, datasets: list[str], by_name: bool = True) -> Any:
    """Append other nodes' rows, matching columns by name (or by position)."""
    frames = {name: ctx.table(name) for name in datasets}
    q = ctx.quote
    first = _columns(ctx, df)
    schemas = [("df", "df", first)] + [
        (name, q(name), _columns(ctx, frame)) for name, frame in frames.items()
    ]
    if by_name:
        result = list(dict.fromkeys(c for _, _, cols in schemas for c in cols))
    else:
        result = first
        for name, _, cols in schemas[1:]:
            if len(cols) != len(first):
                raise _fail(
                    ctx,
                    "union",
                    f"'{name}' has {len(cols)} columns but the data has "
                    f"{len(first)}; positional union (by_name: false) needs the same "
                    "number of columns",
                )
    branches = []
    for i, (_, source, cols) in enumerate(schemas):
        if by_name:
            items = [q(c) if c in cols else f"NULL AS {q(c)}" for c in result]
        else:
            items = [f"{q(c)} AS {q(r)}" for c, r in zip(cols, result, strict=True)]
        branches.append(
            f"SELECT {', '.join(items)}, {i} AS {q(_SRC)}, "
            f"{ctx.row_position()} AS {q(_POS)} FROM {source}"
        )
    query = (
        f"SELECT {_select_list(ctx, result)} FROM ({' UNION ALL '.join(branches)}) "
        f"AS {q(_LEFT)} ORDER BY {q(_SRC)}, {q(_POS)}"
    )
    return ctx.sql(query, df)


_INT_TYPE = re.compile(r"u?int(8|16|32|64)?|(big|small|tiny)?int(eger)?|long|short|byte")


def _is_integer_type(type_name: str) -> bool:
    return bool(_INT_TYPE.fullmatch(type_name.strip().lower()))


# ---------------------------------------------------------------- aggregate

AggregateFunction = Literal["sum", "avg", "mean", "min", "max", "count", "count_distinct", "first"]


class AggregateParams(_Params):
    group_by: list[str] = Field(default_factory=list)
    aggregations: dict[str, AggregateFunction] = Field(min_length=1)

    @field_validator("group_by", mode="before")
    @classmethod
    def _group_by_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)

    @field_validator("aggregations", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v.strip().lower() if isinstance(v, str) else v for k, v in value.items()}
        return value


@transform("aggregate", params=AggregateParams)
def aggregate(
    ctx: TransformContext, df: Any, group_by: list[str], aggregations: dict[str, str]
) -> Any:
    """Group by columns and aggregate others (sum, avg, min, max, count, count_distinct, first)."""
    schema = dict(ctx.engine.schema(df))
    columns = list(schema)
    group_by = list(dict.fromkeys(group_by))
    _check_columns(ctx, "aggregate", group_by, columns, "group_by column")
    _check_columns(ctx, "aggregate", aggregations, columns, "aggregated column")
    both = [c for c in aggregations if c in group_by]
    if both:
        raise _fail(ctx, "aggregate", f"column '{both[0]}' is both grouped and aggregated")
    q = ctx.quote
    items = [q(c) for c in group_by]
    for column, func in aggregations.items():
        col = q(column)
        if func == "sum":
            expr = f"SUM({col})"
            if _is_integer_type(schema[column]):
                expr = f"CAST({expr} AS BIGINT)"
        elif func in ("avg", "mean"):
            expr = f"AVG({col})"
        elif func == "count_distinct":
            expr = f"COUNT(DISTINCT {col})"
        elif func == "first":  # the first non-null value in input order
            expr = f"MIN_BY({col}, CASE WHEN {col} IS NOT NULL THEN {q(_POS)} END)"
        else:
            expr = f"{func.upper()}({col})"
        items.append(f"{expr} AS {col}")
    source = f"({_numbered(ctx)}) AS {q(_LEFT)}" if "first" in aggregations.values() else "df"
    query = f"SELECT {', '.join(items)} FROM {source}"
    if group_by:
        keys = _select_list(ctx, group_by)
        order = ", ".join(f"{q(c)} NULLS LAST" for c in group_by)
        query += f" GROUP BY {keys} ORDER BY {order}"
    return ctx.sql(query, df)
