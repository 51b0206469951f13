"""Built-in transforms that derive keys and digests from columns: hash_columns,
generate_surrogate_key and generate_numeric_key (Odibi's names, parameters and key values).
Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._select import with_columns
from odibi_core.transforms._sql import _check_columns, _columns, _one_or_many, _Params
from odibi_core.transforms.registry import TransformContext, transform


class _ColumnsParams(_Params):
    columns: list[str] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


def _text(ctx: TransformContext, column: str) -> str:
    return f"CAST({ctx.quote(column)} AS STRING)"


# ---------------------------------------------------------------- hash_columns


class HashParams(_ColumnsParams):
    algorithm: Literal["sha256", "md5"] = "sha256"


@transform("hash_columns", params=HashParams)
def hash_columns(
    ctx: TransformContext, df: Any, columns: list[str], algorithm: str = "sha256"
) -> Any:
    """Replace values by the hex digest (sha256 or md5) of their text; nulls stay null."""
    _check_columns(ctx, "hash_columns", columns, _columns(ctx, df))

    def digest(column: str) -> str:
        text = _text(ctx, column)
        return _dialect.sha256(ctx, text) if algorithm == "sha256" else f"md5({text})"

    return with_columns(ctx, df, {c: digest(c) for c in dict.fromkeys(columns)})


# ---------------------------------------------------------------- generate_surrogate_key


class SurrogateKeyParams(_ColumnsParams):
    separator: str = "-"
    output_col: str = Field("surrogate_key", min_length=1)


def _joined(ctx: TransformContext, columns: list[str], separator: str, value: Any) -> str:
    parts = ", ".join(value(c) for c in columns)
    return f"concat_ws({_dialect.text(ctx, separator)}, {parts})"


@transform("generate_surrogate_key", params=SurrogateKeyParams)
def generate_surrogate_key(
    ctx: TransformContext,
    df: Any,
    columns: list[str],
    separator: str = "-",
    output_col: str = "surrogate_key",
) -> Any:
    """md5 of the columns' text joined by the separator, a null as empty text: the same
    key Odibi gives."""
    _check_columns(ctx, "generate_surrogate_key", columns, _columns(ctx, df))
    joined = _joined(ctx, columns, separator, lambda c: f"COALESCE({_text(ctx, c)}, '')")
    return with_columns(ctx, df, {output_col: f"md5({joined})"})


# ---------------------------------------------------------------- generate_numeric_key


class NumericKeyParams(_ColumnsParams):
    separator: str = "|"
    output_col: str = Field("numeric_key", min_length=1)
    coalesce_with: str | None = None


@transform("generate_numeric_key", params=NumericKeyParams)
def generate_numeric_key(
    ctx: TransformContext,
    df: Any,
    columns: list[str],
    separator: str = "|",
    output_col: str = "numeric_key",
    coalesce_with: str | None = None,
) -> Any:
    """A BIGINT key: the first 15 hex digits of the md5 of the trimmed values joined by the
    separator (Odibi's Spark key, on every engine); with coalesce_with, that column's value
    where it has one. Replaces output_col in place when it exists."""
    have = _columns(ctx, df)
    _check_columns(ctx, "generate_numeric_key", columns, have)
    if coalesce_with:
        _check_columns(ctx, "generate_numeric_key", [coalesce_with], have, "coalesce_with column")
    joined = _joined(
        ctx, columns, separator, lambda c: f"COALESCE(NULLIF(TRIM({_text(ctx, c)}), ''), '')"
    )
    key = _dialect.hex15_to_bigint(ctx, f"md5({joined})")
    if coalesce_with:
        key = f"COALESCE(CAST({ctx.quote(coalesce_with)} AS BIGINT), {key})"
    return with_columns(ctx, df, {output_col: key})
