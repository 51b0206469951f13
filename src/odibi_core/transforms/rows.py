"""Built-in transforms that pick, drop or reorder rows, keeping the columns.

filter_rows, deduplicate, sort, limit and distinct. Imported when the CLI starts, so nothing
heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _RANK,
    _RIGHT,
    _check_columns,
    _columns,
    _numbered,
    _one_or_many,
    _Params,
    _select_list,
)
from odibi_core.transforms.registry import TransformContext, transform

# ---------------------------------------------------------------- filter_rows


class FilterRowsParams(_Params):
    condition: str = Field(min_length=1)


@transform("filter_rows", params=FilterRowsParams)
def filter_rows(ctx: TransformContext, df: Any, condition: str) -> Any:
    """Keep the rows matching an SQL condition."""
    return ctx.sql(f"SELECT * FROM df WHERE {condition}", df)


# ---------------------------------------------------------------- deduplicate


class DeduplicateParams(_Params):
    keys: list[str] = Field(min_length=1)
    order_by: str | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _keys_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("deduplicate", params=DeduplicateParams)
def deduplicate(
    ctx: TransformContext, df: Any, keys: list[str], order_by: str | None = None
) -> Any:
    """Keep the first row per key (by order_by, else in input order)."""
    columns = _columns(ctx, df)
    _check_columns(ctx, "deduplicate", keys, columns, "key column")
    q = ctx.quote
    order = f"{order_by}, {q(_POS)}" if order_by and order_by.strip() else q(_POS)
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}), "
        f"{q(_RIGHT)} AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY {_select_list(ctx, keys)} "
        f"ORDER BY {order}) AS {q(_RANK)} FROM {q(_LEFT)}) "
        f"SELECT {_select_list(ctx, columns)} FROM {q(_RIGHT)} WHERE {q(_RANK)} = 1 "
        f"ORDER BY {q(_POS)}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- sort


class SortParams(_Params):
    by: list[str] = Field(min_length=1)
    ascending: bool | list[bool] = True
    nulls: Literal["first", "last"] = "last"

    @field_validator("by", mode="before")
    @classmethod
    def _by_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)

    @model_validator(mode="after")
    def _same_length(self) -> SortParams:
        if isinstance(self.ascending, list) and len(self.ascending) != len(self.by):
            raise ValueError(
                f"'ascending' has {len(self.ascending)} values but 'by' has {len(self.by)} columns"
            )
        return self


@transform("sort", params=SortParams)
def sort(
    ctx: TransformContext,
    df: Any,
    by: list[str],
    ascending: bool | list[bool] = True,
    nulls: str = "last",
) -> Any:
    """Sort rows by columns (nulls last unless ``nulls: first``; ties keep input order)."""
    have = _columns(ctx, df)
    _check_columns(ctx, "sort", by, have, "sort column")
    directions = ascending if isinstance(ascending, list) else [ascending] * len(by)
    q = ctx.quote
    keys = [
        f"{q(c)} {'ASC' if asc else 'DESC'} NULLS {nulls.upper()}"
        for c, asc in zip(by, directions, strict=True)
    ]
    query = (
        f"SELECT {_select_list(ctx, have)} FROM ({_numbered(ctx)}) AS {q(_LEFT)} "
        f"ORDER BY {', '.join(keys)}, {q(_POS)}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- limit / distinct


class LimitParams(_Params):
    n: int = Field(ge=0)
    offset: int = Field(0, ge=0)


@transform("limit", params=LimitParams)
def limit(ctx: TransformContext, df: Any, n: int, offset: int = 0) -> Any:
    """Keep the first n rows (after skipping offset rows), in input order."""
    q = ctx.quote
    query = (
        f"SELECT {_select_list(ctx, _columns(ctx, df))} FROM ({_numbered(ctx)}) "
        f"AS {q(_LEFT)} ORDER BY {q(_POS)} LIMIT {n} OFFSET {offset}"
    )
    return ctx.sql(query, df)


class DistinctParams(_Params):
    columns: list[str] | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("distinct", params=DistinctParams)
def distinct(ctx: TransformContext, df: Any, columns: list[str] | None = None) -> Any:
    """Unique rows (of the given columns only), in order of first appearance."""
    have = _columns(ctx, df)
    if columns:
        _check_columns(ctx, "distinct", columns, have)
        columns = list(dict.fromkeys(columns))
    else:
        columns = have
    q = ctx.quote
    cols = _select_list(ctx, columns)
    query = (
        f"SELECT {cols} FROM ({_numbered(ctx)}) AS {q(_LEFT)} "
        f"GROUP BY {cols} ORDER BY MIN({q(_POS)})"
    )
    return ctx.sql(query, df)
