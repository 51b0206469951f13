"""Built-in transforms over JSON text and struct columns: parse_json, unpack_struct,
flatten_struct and normalize_json (Odibi's names and parameters). A struct's fields are read
from the frame's schema (Spark's, or Arrow's on the DuckDB engines) and reached with
``column.field``, which both SQL dialects share. Imported when the CLI starts, so nothing heavy
is imported here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._select import with_columns
from odibi_core.transforms._sql import _check_columns, _columns, _fail, _Params
from odibi_core.transforms.registry import TransformContext, transform

#: A struct's fields: name → its own fields when it is a struct too, else None.
Fields = dict[str, "Fields | None"]


def _struct_fields(ctx: TransformContext, df: Any, column: str, step: str) -> Fields:
    _check_columns(ctx, step, [column], _columns(ctx, df))
    if _dialect.is_spark(ctx):
        found = _spark_fields(df.schema[column].dataType)
    else:
        head = ctx.engine.sql(f"SELECT {ctx.quote(column)} FROM df LIMIT 1000", {"df": df})
        found = _arrow_fields(ctx.engine.to_arrow(head).schema.field(0).type)
    if found is None:
        raise _fail(
            ctx,
            step,
            f"column '{column}' is not a struct; parse JSON text into one with parse_json first",
        )
    return found


def _spark_fields(kind: Any) -> Fields | None:
    from pyspark.sql.types import StructType

    if not isinstance(kind, StructType):
        return None
    return {f.name: _spark_fields(f.dataType) for f in kind.fields}


def _arrow_fields(kind: Any) -> Fields | None:
    import pyarrow as pa

    if not pa.types.is_struct(kind):
        return None
    return {kind.field(i).name: _arrow_fields(kind.field(i).type) for i in range(kind.num_fields)}


def _leaves(
    ctx: TransformContext, fields: Fields, path: str, name: str, depth: int, sep: str
) -> dict[str, str]:
    """output name → field expression, descending into structs ``depth`` levels deep."""
    found: dict[str, str] = {}
    for field, inner in fields.items():
        expr, alias = f"{path}.{ctx.quote(field)}", f"{name}{field}"
        if inner is not None and depth > 1:
            found.update(_leaves(ctx, inner, expr, alias + sep, depth - 1, sep))
        else:
            found[alias] = expr
    return found


def _added(ctx: TransformContext, df: Any, step: str, new: dict[str, str], drop: str | None):
    """``df`` (without ``drop``) plus the new columns, which may not take existing names."""
    q = ctx.quote
    kept = [c for c in _columns(ctx, df) if c != drop]
    taken = [n for n in new if n in kept]
    if taken:
        raise _fail(ctx, step, f"field column(s) {taken} would replace existing columns")
    items = [*(q(c) for c in kept), *(f"{e} AS {q(n)}" for n, e in new.items())]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


# ---------------------------------------------------------------- parse_json


class ParseJsonParams(_Params):
    # What ``odibi explain parse_json`` shows (a schema must parse).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"column": "payload", "json_schema": "id INT, name STRING"}]
        }
    )

    column: str = Field(min_length=1)
    json_schema: str = Field(min_length=1)
    output_col: str | None = None

    @field_validator("json_schema")
    @classmethod
    def _parses(cls, value: str) -> str:
        duckdb_structure(value)  # raises ValueError naming what it cannot read
        return value


_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "long": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_TOKEN = re.compile(r"\s*(<|>|,|:|\(|\)|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*|\d+)")


def duckdb_structure(ddl: str) -> str:
    """A Spark DDL schema (``id INT, tags ARRAY<STRING>, s STRUCT<a: INT>``) as the JSON
    structure DuckDB's ``json_transform`` takes."""
    tokens, end = [], 0
    for match in _TOKEN.finditer(ddl):
        if match.start() != end:
            break
        tokens.append(match.group(1).strip("`"))
        end = match.end()
    if ddl[end:].strip():
        raise ValueError(f"json_schema: cannot read {ddl[end:].strip()!r}")
    structure, rest = _fields(tokens, ddl)
    if rest:
        raise ValueError(f"json_schema: unexpected {' '.join(rest)!r}")
    return json.dumps(structure)


def _fields(tokens: list[str], ddl: str, closing: str = "") -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    while tokens and tokens[0] != closing:
        name, *tokens = tokens
        if tokens and tokens[0] == ":":
            tokens = tokens[1:]
        kind, tokens = _type(tokens, ddl)
        out[name] = kind
        if tokens and tokens[0] == ",":
            tokens = tokens[1:]
    if not out:
        raise ValueError(f"json_schema: no fields in {ddl!r}")
    return out, tokens


def _type(tokens: list[str], ddl: str) -> tuple[Any, list[str]]:
    if not tokens:
        raise ValueError(f"json_schema: a field without a type in {ddl!r}")
    word, *tokens = tokens
    low = word.lower()
    if low in ("array", "struct") and tokens[:1] == ["<"]:
        if low == "array":
            inner, tokens = _type(tokens[1:], ddl)
            kind: Any = [inner]
        else:
            kind, tokens = _fields(tokens[1:], ddl, ">")
        if tokens[:1] != [">"]:
            raise ValueError(f"json_schema: missing '>' in {ddl!r}")
        return kind, tokens[1:]
    if low == "decimal":
        if tokens[:1] == ["("]:
            scale = tokens[1:5]  # p , s )
            tokens = tokens[5:] if len(scale) == 4 else tokens[3:]
            return f"DECIMAL({scale[0]},{scale[2] if len(scale) == 4 else 0})", tokens
        return "DECIMAL(10,0)", tokens
    if low not in _DUCKDB_TYPES:
        raise ValueError(f"json_schema: unknown type {word!r} (known: {', '.join(_DUCKDB_TYPES)})")
    return _DUCKDB_TYPES[low], tokens


@transform("parse_json", params=ParseJsonParams)
def parse_json(
    ctx: TransformContext, df: Any, column: str, json_schema: str, output_col: str | None = None
) -> Any:
    """Parse JSON text into a struct of the given schema (Spark DDL, ``id INT, name STRING``),
    as ``output_col`` (default ``<column>_parsed``); text that is not JSON gives a struct
    of nulls, as on Spark."""
    _check_columns(ctx, "parse_json", [column], _columns(ctx, df))
    text = f"CAST({ctx.quote(column)} AS STRING)"
    if _dialect.is_spark(ctx):
        expr = f"from_json({text}, {_dialect.text(ctx, json_schema)})"
    else:
        structure = _dialect.text(ctx, duckdb_structure(json_schema))
        # As Spark: text that is not JSON gives a struct of nulls, a null stays null.
        valid = f"CASE WHEN json_valid({text}) THEN {text} ELSE '{{}}' END"
        expr = f"CASE WHEN {text} IS NOT NULL THEN json_transform({valid}, {structure}) END"
    return with_columns(ctx, df, {output_col or f"{column}_parsed": expr})


# ---------------------------------------------------------------- unpack_struct


class UnpackStructParams(_Params):
    column: str = Field(min_length=1)


@transform("unpack_struct", params=UnpackStructParams)
def unpack_struct(ctx: TransformContext, df: Any, column: str) -> Any:
    """Add a struct's top-level fields as columns of their own names (the struct stays)."""
    fields = _struct_fields(ctx, df, column, "unpack_struct")
    new = _leaves(ctx, fields, ctx.quote(column), "", 1, "")
    return _added(ctx, df, "unpack_struct", new, None)


# ---------------------------------------------------------------- flatten_struct


class FlattenStructParams(_Params):
    column: str = Field(min_length=1)
    prefix: str | None = None
    depth: int = Field(1, ge=1)
    separator: str = "_"
    drop_source: bool = True


@transform("flatten_struct", params=FlattenStructParams)
def flatten_struct(
    ctx: TransformContext,
    df: Any,
    column: str,
    prefix: str | None = None,
    depth: int = 1,
    separator: str = "_",
    drop_source: bool = True,
) -> Any:
    """Struct fields as columns ``<prefix><field>`` (prefix default ``<column>_``), nested
    structs joined by the separator down to ``depth`` levels; the struct is dropped unless
    drop_source is false."""
    fields = _struct_fields(ctx, df, column, "flatten_struct")
    name = prefix if prefix is not None else f"{column}{separator}"
    new = _leaves(ctx, fields, ctx.quote(column), name, depth, separator)
    return _added(ctx, df, "flatten_struct", new, column if drop_source else None)


# ---------------------------------------------------------------- normalize_json


class NormalizeJsonParams(_Params):
    column: str = Field(min_length=1)
    sep: str = "_"


@transform("normalize_json", params=NormalizeJsonParams)
def normalize_json(ctx: TransformContext, df: Any, column: str, sep: str = "_") -> Any:
    """Every leaf of a nested struct as a column named by its path (``address_city``, as
    pandas' json_normalize names them); the struct stays."""
    fields = _struct_fields(ctx, df, column, "normalize_json")
    new = _leaves(ctx, fields, ctx.quote(column), "", 1_000, sep)
    return _added(ctx, df, "normalize_json", new, None)
