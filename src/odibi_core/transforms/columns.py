"""Built-in transforms that reshape or rewrite columns, keeping every row.

select_columns, drop_columns, rename_columns, cast_columns, derive_columns, fill_nulls and
clean_text. Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from odibi_core.transforms._sql import (
    _check_columns,
    _columns,
    _fail,
    _literal,
    _one_or_many,
    _Params,
    _select_list,
)
from odibi_core.transforms.registry import TransformContext, transform

# ---------------------------------------------------------------- select / drop


class ColumnsParams(_Params):
    columns: list[str] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("select_columns", params=ColumnsParams)
def select_columns(ctx: TransformContext, df: Any, columns: list[str]) -> Any:
    """Keep only these columns, in this order."""
    _check_columns(ctx, "select_columns", columns, _columns(ctx, df))
    return ctx.sql(f"SELECT {_select_list(ctx, dict.fromkeys(columns))} FROM df", df)


@transform("drop_columns", params=ColumnsParams)
def drop_columns(ctx: TransformContext, df: Any, columns: list[str]) -> Any:
    """Drop these columns."""
    have = _columns(ctx, df)
    _check_columns(ctx, "drop_columns", columns, have)
    keep = [c for c in have if c not in columns]
    if not keep:
        raise _fail(ctx, "drop_columns", "cannot drop every column")
    return ctx.sql(f"SELECT {_select_list(ctx, keep)} FROM df", df)


# ---------------------------------------------------------------- rename_columns


class RenameColumnsParams(_Params):
    mapping: dict[str, str] = Field(min_length=1)


@transform("rename_columns", params=RenameColumnsParams)
def rename_columns(ctx: TransformContext, df: Any, mapping: dict[str, str]) -> Any:
    """Rename columns (old name: new name); the others are kept."""
    columns = _columns(ctx, df)
    _check_columns(ctx, "rename_columns", mapping, columns, "column to rename")
    result = [mapping.get(c, c) for c in columns]
    clashes = sorted({c for c in result if result.count(c) > 1})
    if clashes:
        raise _fail(
            ctx,
            "rename_columns",
            f"renaming would give duplicate column(s) {', '.join(map(repr, clashes))}",
        )
    q = ctx.quote
    items = [f"{q(c)} AS {q(mapping[c])}" if c in mapping else q(c) for c in columns]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


# ---------------------------------------------------------------- cast_columns

# Names DuckDB and Spark SQL both know (``STRING``, not ``VARCHAR``: Spark wants a length).
_TYPE_ALIASES = {
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "long": "BIGINT",
    "str": "STRING",
    "string": "STRING",
    "float": "DOUBLE",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "datetime": "TIMESTAMP",
}


def sql_type(name: str) -> str:
    """The SQL type for a friendly type name; anything unknown is used as written."""
    return _TYPE_ALIASES.get(name.strip().lower(), name.strip())


class CastColumnsParams(_Params):
    casts: dict[str, str] = Field(min_length=1)


@transform("cast_columns", params=CastColumnsParams)
def cast_columns(ctx: TransformContext, df: Any, casts: dict[str, str]) -> Any:
    """Cast columns to types (int, bigint, string, float, bool, date, timestamp or SQL types)."""
    types = dict(ctx.engine.schema(df))
    columns = list(types)
    _check_columns(ctx, "cast_columns", casts, columns, "cast column")
    q = ctx.quote

    def cast(column: str) -> str:
        target = sql_type(casts[column])
        value = q(column)
        # DuckDB rounds a fraction cast to an integer, Spark truncates it: round first, so
        # both give the same (half away from zero).
        if target.upper() in _INTEGER_TYPES and _fractional(types[column]):
            value = f"ROUND({value})"
        return f"CAST({value} AS {target}) AS {q(column)}"

    items = [cast(c) if c in casts else q(c) for c in columns]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "LONG"}


def _fractional(engine_type: str) -> bool:
    kind = engine_type.lower()
    return any(word in kind for word in ("float", "double", "decimal", "numeric", "real"))


# ---------------------------------------------------------------- derive_columns


class DeriveColumnsParams(_Params):
    derivations: dict[str, str] = Field(min_length=1)


@transform("derive_columns", params=DeriveColumnsParams)
def derive_columns(ctx: TransformContext, df: Any, derivations: dict[str, str]) -> Any:
    """Add or replace columns from SQL expressions (each may use the ones before it)."""
    q = ctx.quote
    columns = _columns(ctx, df)
    steps: list[str] = []
    source = "df"
    for i, (name, expression) in enumerate(derivations.items()):
        items = [f"({expression}) AS {q(c)}" if c == name else q(c) for c in columns]
        if name not in columns:
            items.append(f"({expression}) AS {q(name)}")
            columns = [*columns, name]
        alias = q(f"__odibi_step{i}")
        steps.append(f"{alias} AS (SELECT {', '.join(items)} FROM {source})")
        source = alias
    query = f"WITH {', '.join(steps)} SELECT * FROM {source}"
    return ctx.sql(query, df)


# ---------------------------------------------------------------- fill_nulls


class FillNullsParams(_Params):
    values: dict[str, str | int | float | bool] = Field(
        min_length=1, validation_alias=AliasChoices("values", "fills")
    )

    @field_validator("values")
    @classmethod
    def _finite(cls, values: dict[str, Any]) -> dict[str, Any]:
        for column, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"fill value for '{column}' must be a finite number")
        return values


@transform("fill_nulls", params=FillNullsParams)
def fill_nulls(ctx: TransformContext, df: Any, values: dict[str, str | int | float | bool]) -> Any:
    """Replace nulls in columns with fixed values."""
    columns = _columns(ctx, df)
    _check_columns(ctx, "fill_nulls", values, columns)
    q = ctx.quote
    items = [
        f"COALESCE({q(c)}, {_literal(values[c])}) AS {q(c)}" if c in values else q(c)
        for c in columns
    ]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


# ---------------------------------------------------------------- clean_text


#: ``operations:`` entries and the SQL function each applies (``strip`` is pandas' word).
_TEXT_OPERATIONS = {
    "trim": "TRIM",
    "strip": "TRIM",
    "ltrim": "LTRIM",
    "rtrim": "RTRIM",
    "lower": "LOWER",
    "upper": "UPPER",
}
TextOperation = Literal["trim", "strip", "ltrim", "rtrim", "lower", "upper"]


class CleanTextParams(_Params):
    columns: list[str] = Field(min_length=1)
    trim: bool = True
    case: Literal["lower", "upper", "preserve"] = "preserve"
    operations: list[TextOperation] | None = None

    @field_validator("columns", "operations", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)

    @model_validator(mode="after")
    def _one_form(self) -> CleanTextParams:
        if self.operations is not None and {"trim", "case"} & self.model_fields_set:
            raise ValueError("give either 'operations' or 'trim'/'case', not both")
        return self


@transform("clean_text", params=CleanTextParams)
def clean_text(
    ctx: TransformContext,
    df: Any,
    columns: list[str],
    trim: bool = True,
    case: str = "preserve",
    operations: list[str] | None = None,
) -> Any:
    """Trim and/or change the case of text columns in place (``trim``/``case``, or
    ``operations: [trim, lower]`` applied in order)."""
    have = _columns(ctx, df)
    _check_columns(ctx, "clean_text", columns, have)
    if operations is None:
        operations = (["trim"] if trim else []) + ([case] if case != "preserve" else [])
    q = ctx.quote
    items = []
    for c in have:
        if c not in columns:
            items.append(q(c))
            continue
        expr = q(c)
        for op in operations:
            expr = f"{_TEXT_OPERATIONS[op]}({expr})"
        items.append(f"{expr} AS {q(c)}")
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)
