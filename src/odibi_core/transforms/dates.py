"""Built-in transforms over dates and timestamps: extract_date_parts, date_add, date_trunc,
date_diff and convert_timezone (Odibi's names, parameters and output column names).
Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._select import with_columns
from odibi_core.transforms._sql import _check_columns, _columns, _Params
from odibi_core.transforms.registry import TransformContext, transform

DatePart = Literal["year", "month", "day", "hour"]
Unit = Literal["year", "month", "day", "hour", "minute", "second"]


def _check(ctx: TransformContext, step: str, df: Any, *columns: str) -> None:
    _check_columns(ctx, step, columns, _columns(ctx, df))


def _is_date(ctx: TransformContext, df: Any, column: str) -> bool:
    kind = dict(ctx.engine.schema(df))[column].lower()
    return kind.startswith("date") and "time" not in kind


# ---------------------------------------------------------------- extract_date_parts


class ExtractDateParams(_Params):
    source_col: str = Field(min_length=1)
    prefix: str | None = None
    parts: list[DatePart] = Field(default_factory=lambda: ["year", "month", "day"], min_length=1)

    @field_validator("parts", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


@transform("extract_date_parts", params=ExtractDateParams)
def extract_date_parts(
    ctx: TransformContext,
    df: Any,
    source_col: str,
    prefix: str | None = None,
    parts: list[str] | None = None,
) -> Any:
    """Add ``<prefix>_year``, ``_month``, ``_day``, ``_hour`` (prefix: the column's name)."""
    _check(ctx, "extract_date_parts", df, source_col)
    column = ctx.quote(source_col)
    named = prefix or source_col
    new = {f"{named}_{p}": f"CAST({p.upper()}({column}) AS INTEGER)" for p in parts or []}
    return with_columns(ctx, df, new)


# ---------------------------------------------------------------- date_add / date_trunc


class DateAddParams(_Params):
    col: str = Field(min_length=1)
    value: int
    unit: Unit


@transform("date_add", params=DateAddParams)
def date_add(ctx: TransformContext, df: Any, col: str, value: int, unit: str) -> Any:
    """Add an interval to a date or timestamp, as ``<col>_future`` (a date stays a date when
    the unit is days or longer)."""
    _check(ctx, "date_add", df, col)
    expr = f"{ctx.quote(col)} + INTERVAL '{value}' {unit.upper()}"
    if _is_date(ctx, df, col) and unit in ("year", "month", "day"):
        expr = f"CAST({expr} AS DATE)"  # DuckDB would give a timestamp
    return with_columns(ctx, df, {f"{col}_future": expr})


class DateTruncParams(_Params):
    col: str = Field(min_length=1)
    unit: Unit


@transform("date_trunc", params=DateTruncParams)
def date_trunc(ctx: TransformContext, df: Any, col: str, unit: str) -> Any:
    """Truncate a date or timestamp to a unit, as the timestamp ``<col>_trunc``."""
    _check(ctx, "date_trunc", df, col)
    expr = f"CAST(date_trunc('{unit}', {ctx.quote(col)}) AS TIMESTAMP)"
    return with_columns(ctx, df, {f"{col}_trunc": expr})


# ---------------------------------------------------------------- date_diff


class DateDiffParams(_Params):
    start_col: str = Field(min_length=1)
    end_col: str = Field(min_length=1)
    unit: Literal["day", "hour", "minute", "second"] = "day"


@transform("date_diff", params=DateDiffParams)
def date_diff(
    ctx: TransformContext, df: Any, start_col: str, end_col: str, unit: str = "day"
) -> Any:
    """end_col - start_col as ``diff_<unit>``: whole days (calendar days crossed), else
    seconds (whole) or minutes and hours (fractional)."""
    _check(ctx, "date_diff", df, start_col, end_col)
    start, end = ctx.quote(start_col), ctx.quote(end_col)
    if unit == "day":
        expr = f"datediff(CAST({end} AS DATE), CAST({start} AS DATE))"
        if not _dialect.is_spark(ctx):
            expr = f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))"
        expr = f"CAST({expr} AS BIGINT)"
    else:
        seconds = f"({_dialect.epoch_seconds(ctx, end)} - {_dialect.epoch_seconds(ctx, start)})"
        divisor = {"hour": 3600.0, "minute": 60.0, "second": None}[unit]
        # A double on both: Spark would give a decimal for a BIGINT over a literal.
        whole = f"CAST({seconds} AS BIGINT)"
        expr = whole if divisor is None else f"(CAST({seconds} AS DOUBLE) / {divisor})"
    return with_columns(ctx, df, {f"diff_{unit}": expr})


# ---------------------------------------------------------------- convert_timezone


class ConvertTimezoneParams(_Params):
    col: str = Field(min_length=1)
    source_tz: str = "UTC"
    target_tz: str = Field(min_length=1)
    output_col: str | None = None


@transform("convert_timezone", params=ConvertTimezoneParams)
def convert_timezone(
    ctx: TransformContext,
    df: Any,
    col: str,
    target_tz: str,
    source_tz: str = "UTC",
    output_col: str | None = None,
) -> Any:
    """Read a timestamp as wall time in source_tz and give the wall time in target_tz, as
    ``output_col`` (default ``<col>_converted``)."""
    _check(ctx, "convert_timezone", df, col)
    expr = _dialect.shift_timezone(
        ctx, ctx.quote(col), _dialect.text(ctx, source_tz), _dialect.text(ctx, target_tz)
    )
    return with_columns(ctx, df, {output_col or f"{col}_converted": expr})
