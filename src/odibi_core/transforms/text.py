"""Built-in transforms over text values: split_part, concat_columns, regex_replace,
replace_values and trim_whitespace (Odibi's names and parameters). Imported when the CLI
starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._select import text_columns, with_columns
from odibi_core.transforms._sql import _check_columns, _columns, _one_or_many, _Params
from odibi_core.transforms.registry import TransformContext, transform


def _as_text(ctx: TransformContext, column: str) -> str:
    return f"CAST({ctx.quote(column)} AS STRING)"


# ---------------------------------------------------------------- split_part


class SplitPartParams(_Params):
    col: str = Field(min_length=1)
    delimiter: str = Field(min_length=1)
    index: int

    @field_validator("index")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("index is 1-based (negative counts from the end); 0 is no part")
        return value


@transform("split_part", params=SplitPartParams)
def split_part(ctx: TransformContext, df: Any, col: str, delimiter: str, index: int) -> Any:
    """The index-th piece of a column split by a delimiter, as ``<col>_part_<index>``
    (empty text when there are fewer pieces)."""
    _check_columns(ctx, "split_part", [col], _columns(ctx, df))
    expr = f"split_part({_as_text(ctx, col)}, {_dialect.text(ctx, delimiter)}, {index})"
    return with_columns(ctx, df, {f"{col}_part_{index}": expr})


# ---------------------------------------------------------------- concat_columns


class ConcatColumnsParams(_Params):
    columns: list[str] = Field(min_length=1)
    separator: str = ""
    output_col: str = Field(min_length=1)


@transform("concat_columns", params=ConcatColumnsParams)
def concat_columns(
    ctx: TransformContext, df: Any, columns: list[str], separator: str, output_col: str
) -> Any:
    """Join columns' values into one text column (nulls are skipped)."""
    _check_columns(ctx, "concat_columns", columns, _columns(ctx, df))
    parts = ", ".join(_as_text(ctx, c) for c in columns)
    return with_columns(
        ctx, df, {output_col: f"concat_ws({_dialect.text(ctx, separator)}, {parts})"}
    )


# ---------------------------------------------------------------- regex_replace


class RegexReplaceParams(_Params):
    column: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    replacement: str


@transform("regex_replace", params=RegexReplaceParams)
def regex_replace(
    ctx: TransformContext, df: Any, column: str, pattern: str, replacement: str
) -> Any:
    """Replace every match of a regular expression in a column, in place."""
    _check_columns(ctx, "regex_replace", [column], _columns(ctx, df))
    expr = _dialect.regex_replace_all(
        ctx, _as_text(ctx, column), _dialect.text(ctx, pattern), _dialect.text(ctx, replacement)
    )
    return with_columns(ctx, df, {column: expr})


# ---------------------------------------------------------------- replace_values


class ReplaceValuesParams(_Params):
    columns: list[str] = Field(min_length=1)
    mapping: dict[str, str | None] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("replace_values", params=ReplaceValuesParams)
def replace_values(
    ctx: TransformContext, df: Any, columns: list[str], mapping: dict[str, str | None]
) -> Any:
    """Replace whole values (old: new; null for NULL) in text columns; others are kept."""
    _check_columns(ctx, "replace_values", columns, _columns(ctx, df))
    q = ctx.quote

    def replaced(column: str) -> str:
        whens = " ".join(
            f"WHEN {q(column)} = {_dialect.text(ctx, old)} THEN "
            f"{'NULL' if new is None else _dialect.text(ctx, new)}"
            for old, new in mapping.items()
        )
        return f"CASE {whens} ELSE {q(column)} END"

    return with_columns(ctx, df, {c: replaced(c) for c in dict.fromkeys(columns)})


# ---------------------------------------------------------------- trim_whitespace


class TrimWhitespaceParams(_Params):
    columns: list[str] | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("trim_whitespace", params=TrimWhitespaceParams)
def trim_whitespace(ctx: TransformContext, df: Any, columns: list[str] | None = None) -> Any:
    """Trim leading and trailing spaces of these columns (default: every text column)."""
    if columns is None:
        columns = text_columns(ctx, df)
    else:
        _check_columns(ctx, "trim_whitespace", columns, _columns(ctx, df))
    if not columns:
        return df
    return with_columns(ctx, df, {c: f"TRIM({ctx.quote(c)})" for c in dict.fromkeys(columns)})
