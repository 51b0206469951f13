"""Built-in transforms computed over windows of rows: row_number, window_calculation and
sessionize, plus sample (Odibi's names and parameters). Rows come back in input order.
Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _check_columns,
    _columns,
    _numbered,
    _one_or_many,
    _Params,
    _select_list,
)
from odibi_core.transforms.registry import TransformContext, transform


def _windowed(ctx: TransformContext, df: Any, new: dict[str, str]) -> Any:
    """``df`` plus window expressions (which may use the row position), in input order."""
    q = ctx.quote
    have = _columns(ctx, df)
    items = [f"{new[c]} AS {q(c)}" if c in new else q(c) for c in have]
    items += [f"{expr} AS {q(name)}" for name, expr in new.items() if name not in have]
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}) "
        f"SELECT {', '.join(items)} FROM {q(_LEFT)} ORDER BY {q(_POS)}"
    )
    return ctx.sql(query, df)


def _over(ctx: TransformContext, partition_by: list[str], order_by: str | None) -> str:
    parts = []
    if partition_by:
        parts.append(f"PARTITION BY {_select_list(ctx, partition_by)}")
    if order_by:
        parts.append(f"ORDER BY {order_by}")
    return f"OVER ({' '.join(parts)})"


# ---------------------------------------------------------------- row_number


class RowNumberParams(_Params):
    output: str = Field("row_num", min_length=1)
    partition_by: list[str] | None = None
    order_by: list[str] | None = None

    @field_validator("partition_by", "order_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("row_number", params=RowNumberParams)
def row_number(
    ctx: TransformContext,
    df: Any,
    output: str = "row_num",
    partition_by: list[str] | None = None,
    order_by: list[str] | None = None,
) -> Any:
    """Number rows 1, 2, … (within each partition) by order_by, ties and no order_by in
    input order. order_by entries are SQL (``hire_date DESC``)."""
    if partition_by:
        _check_columns(ctx, "row_number", partition_by, _columns(ctx, df), "partition_by column")
    order = ", ".join([*(order_by or []), ctx.quote(_POS)])
    expr = f"CAST(ROW_NUMBER() {_over(ctx, partition_by or [], order)} AS BIGINT)"
    return _windowed(ctx, df, {output: expr})


# ---------------------------------------------------------------- window_calculation


class WindowCalculationParams(_Params):
    target_col: str = Field(min_length=1)
    function: str = Field(min_length=1)
    partition_by: list[str] = Field(default_factory=list)
    order_by: str | None = None

    @field_validator("partition_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("window_calculation", params=WindowCalculationParams)
def window_calculation(
    ctx: TransformContext,
    df: Any,
    target_col: str,
    function: str,
    partition_by: list[str],
    order_by: str | None = None,
) -> Any:
    """``target_col`` = an SQL window function (``sum(sales)``, ``rank()``, ``lag(x)``) over
    partition_by, ordered by order_by (SQL, ``date ASC``)."""
    if partition_by:
        _check_columns(
            ctx, "window_calculation", partition_by, _columns(ctx, df), "partition_by column"
        )
    order = f"{order_by}, {ctx.quote(_POS)}" if order_by else None
    return _windowed(ctx, df, {target_col: f"{function} {_over(ctx, partition_by, order)}"})


# ---------------------------------------------------------------- sessionize


class SessionizeParams(_Params):
    timestamp_col: str = Field(min_length=1)
    user_col: str = Field(min_length=1)
    threshold_seconds: int = Field(1800, ge=0)
    session_col: str = Field("session_id", min_length=1)


@transform("sessionize", params=SessionizeParams)
def sessionize(
    ctx: TransformContext,
    df: Any,
    timestamp_col: str,
    user_col: str,
    threshold_seconds: int = 1800,
    session_col: str = "session_id",
) -> Any:
    """``<user>-<n>``: a user's n-th session, a new one starting after more than
    threshold_seconds without an event."""
    have = _columns(ctx, df)
    _check_columns(ctx, "sessionize", [timestamp_col, user_col], have)
    q = ctx.quote
    user, ts = q(user_col), q(timestamp_col)
    by_time = f"PARTITION BY {user} ORDER BY {ts}, {q(_POS)}"
    seconds = _dialect.epoch_seconds(ctx, ts)
    gap, new = q("__odibi_gap"), q("__odibi_new")
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}), "
        f"g AS (SELECT *, {seconds} - LAG({seconds}) OVER ({by_time}) AS {gap} FROM {q(_LEFT)}), "
        f"n AS (SELECT *, CASE WHEN {gap} IS NULL OR {gap} > {threshold_seconds} THEN 1 "
        f"ELSE 0 END AS {new} FROM g) "
        f"SELECT {_select_list(ctx, [c for c in have if c != session_col])}, "
        f"concat(CAST({user} AS STRING), '-', CAST(SUM({new}) OVER ({by_time}) AS STRING)) "
        f"AS {q(session_col)} FROM n ORDER BY {q(_POS)}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- sample


class SampleParams(_Params):
    fraction: float = Field(ge=0, le=1)
    seed: int | None = None


@transform("sample", params=SampleParams)
def sample(ctx: TransformContext, df: Any, fraction: float, seed: int | None = None) -> Any:
    """Keep each row with probability ``fraction``; a seed picks the same rows again."""
    from odibi_core.transforms import operations

    return operations.run(ctx, "sample", {"frac": fraction, "random_state": seed}, df)
