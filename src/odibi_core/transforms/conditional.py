"""Built-in transforms that choose a value per row: case_when, coalesce_columns,
dict_based_mapping, apply_mapping (a lookup in another node's output) and validate_and_flag
(Odibi's names and parameters). Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from odibi_core.transforms import _dialect
from odibi_core.transforms._select import with_columns
from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _RANK,
    _check_columns,
    _columns,
    _literal,
    _numbered,
    _Params,
)
from odibi_core.transforms.registry import TransformContext, transform

Scalar = str | int | float | bool | None


def _value(ctx: TransformContext, value: Scalar) -> str:
    if value is None:
        return "NULL"
    return _dialect.text(ctx, value) if isinstance(value, str) else _literal(value)


# ---------------------------------------------------------------- case_when


class CaseWhenCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: str = Field(min_length=1)
    value: str = Field(min_length=1)


class CaseWhenParams(_Params):
    cases: list[CaseWhenCase] = Field(min_length=1)
    default: str = "NULL"
    output_col: str = Field(min_length=1)


@transform("case_when", params=CaseWhenParams)
def case_when(
    ctx: TransformContext,
    df: Any,
    cases: list[CaseWhenCase],
    output_col: str,
    default: str = "NULL",
) -> Any:
    """``output_col`` from the first case whose SQL condition holds (values and default are
    SQL expressions: quote text, ``'Minor'``)."""
    whens = " ".join(f"WHEN {c.condition} THEN {c.value}" for c in cases)
    return with_columns(ctx, df, {output_col: f"CASE {whens} ELSE {default} END"})


# ---------------------------------------------------------------- coalesce_columns


class CoalesceColumnsParams(_Params):
    columns: list[str] = Field(min_length=1)
    output_col: str = Field(min_length=1)
    drop_source: bool = False


@transform("coalesce_columns", params=CoalesceColumnsParams)
def coalesce_columns(
    ctx: TransformContext, df: Any, columns: list[str], output_col: str, drop_source: bool = False
) -> Any:
    """The first non-null of these columns (in priority order) as ``output_col``."""
    have = _columns(ctx, df)
    _check_columns(ctx, "coalesce_columns", columns, have)
    q = ctx.quote
    expr = f"COALESCE({', '.join(q(c) for c in columns)})"
    if not drop_source:
        return with_columns(ctx, df, {output_col: expr})
    kept = [c for c in have if c not in columns and c != output_col]
    items = [*(q(c) for c in kept), f"{expr} AS {q(output_col)}"]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


# ---------------------------------------------------------------- dict_based_mapping


class DictMappingParams(_Params):
    column: str = Field(min_length=1)
    mapping: dict[str, Scalar] = Field(min_length=1)
    default: Scalar = None
    output_column: str | None = None


@transform("dict_based_mapping", params=DictMappingParams)
def dict_based_mapping(
    ctx: TransformContext,
    df: Any,
    column: str,
    mapping: dict[str, Scalar],
    default: Scalar = None,
    output_column: str | None = None,
) -> Any:
    """Map a column's values (compared as text) through a dictionary; unmatched values
    become ``default`` (null unless given). Written to output_column, else in place."""
    _check_columns(ctx, "dict_based_mapping", [column], _columns(ctx, df))
    key = f"CAST({ctx.quote(column)} AS STRING)"
    whens = " ".join(
        f"WHEN {key} = {_dialect.text(ctx, k)} THEN {_value(ctx, v)}" for k, v in mapping.items()
    )
    expr = f"CASE {whens} ELSE {_value(ctx, default)} END"
    return with_columns(ctx, df, {output_column or column: expr})


# ---------------------------------------------------------------- apply_mapping


class ApplyMappingParams(_Params):
    column: str = Field(min_length=1)
    mapping_source: str = Field(min_length=1)
    source_key: str = Field(min_length=1)
    source_value: str = Field(min_length=1)
    output: str | None = None
    default: str | int | float | bool | None = None


@transform("apply_mapping", params=ApplyMappingParams)
def apply_mapping(
    ctx: TransformContext,
    df: Any,
    column: str,
    mapping_source: str,
    source_key: str,
    source_value: str,
    output: str | None = None,
    default: str | int | float | bool | None = None,
) -> Any:
    """Look a column's values up in another node's output (source_key → source_value; the
    smallest value when a key repeats, so no row is multiplied); unmatched rows get
    ``default``. Written to ``output``, else in place; the rows keep their order."""
    mapping = ctx.table(mapping_source)
    have = _columns(ctx, df)
    _check_columns(ctx, "apply_mapping", [column], have)
    where = f"'{mapping_source}'"
    _check_columns(
        ctx, "apply_mapping", [source_key, source_value], _columns(ctx, mapping), where=where
    )
    q = ctx.quote
    target = output or column
    value = f"m.{q(source_value)}"
    if default is not None:
        value = f"COALESCE({value}, {_value(ctx, default)})"
    items = [f"{value} AS {q(c)}" if c == target else f"l.{q(c)}" for c in have]
    if target not in have:
        items.append(f"{value} AS {q(target)}")
    lookup = (
        f"SELECT {q(source_key)}, {q(source_value)}, ROW_NUMBER() OVER (PARTITION BY "
        f"{q(source_key)} ORDER BY {q(source_value)}) AS {q(_RANK)} FROM {q(mapping_source)}"
    )
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}) SELECT {', '.join(items)} FROM {q(_LEFT)} AS l "
        f"LEFT JOIN ({lookup}) AS m ON l.{q(column)} = m.{q(source_key)} AND m.{q(_RANK)} = 1 "
        f"ORDER BY l.{q(_POS)}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- validate_and_flag


class ValidateAndFlagParams(_Params):
    rules: dict[str, str] = Field(min_length=1)
    flag_col: str = "_issues"


@transform("validate_and_flag", params=ValidateAndFlagParams)
def validate_and_flag(
    ctx: TransformContext, df: Any, rules: dict[str, str], flag_col: str = "_issues"
) -> Any:
    """Name the rules (SQL conditions that should hold) each row breaks in ``flag_col``,
    comma-separated; null when it breaks none."""
    failed = ", ".join(
        f"CASE WHEN NOT ({condition}) THEN {_dialect.text(ctx, name)} END"
        for name, condition in rules.items()
    )
    return with_columns(ctx, df, {flag_col: f"NULLIF(concat_ws(', ', {failed}), '')"})
