"""The core transform set, registered as a built-in plugin.

Every transform here is engine-agnostic: it builds SQL, quotes identifiers with ``ctx.quote`` and
runs it with ``ctx.sql`` (the current frame is the table ``df``; dependencies are tables named
after their node). Queries stick to SQL that DuckDB and Spark share, and number rows with
``ROW_NUMBER() OVER ()`` wherever the result order would otherwise be left to the engine, so
results come back in input order.

Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from odibi_core import hookimpl
from odibi_core.errors import NodeError
from odibi_core.transforms.registry import Transform, TransformContext, transform

# Helper columns added to number rows; dropped again before a result is returned.
_POS = "__odibi_pos"
_RANK = "__odibi_rank"
_SRC = "__odibi_src"
_RPOS = "__odibi_rpos"
_LEFT = "__odibi_left"
_RIGHT = "__odibi_right"


class _Params(BaseModel):
    # Built on first use: a run validates only the transforms it uses.
    model_config = ConfigDict(extra="forbid", defer_build=True)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# ---------------------------------------------------------------- helpers


def _fail(ctx: TransformContext, step: str, message: str) -> NodeError:
    return NodeError(message, node=ctx.node.name, step=step)


def _columns(ctx: TransformContext, frame: Any) -> list[str]:
    return [name for name, _ in ctx.engine.schema(frame)]


def _check_columns(
    ctx: TransformContext,
    step: str,
    wanted: Iterable[str],
    have: list[str],
    what: str = "column",
    where: str = "the data",
) -> None:
    """Fail naming every column of ``wanted`` missing from ``have``."""
    missing = [c for c in dict.fromkeys(wanted) if c not in have]
    if not missing:
        return
    names = ", ".join(f"'{c}'" for c in missing)
    plural = "s" if len(missing) > 1 else ""
    message = f"{what}{plural} {names} not in {where}"
    if len(missing) == 1:
        match = difflib.get_close_matches(missing[0], have, n=1, cutoff=0.6)
        if match:
            message += f" (did you mean '{match[0]}'?)"
    message += f"; columns: {', '.join(have) or 'none'}"
    raise _fail(ctx, step, message)


def _numbered(ctx: TransformContext, source: str = "df") -> str:
    """``source`` with a row-position column (streamed, so it follows input order)."""
    return f"SELECT *, ROW_NUMBER() OVER () AS {ctx.quote(_POS)} FROM {source}"


def _select_list(ctx: TransformContext, columns: Iterable[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + ctx.quote(c) for c in columns)


def _literal(value: str | int | float | bool) -> str:
    """A Python scalar as an SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


_INT_TYPE = re.compile(r"u?int(8|16|32|64)?|(big|small|tiny)?int(eger)?|long|short|byte")


def _is_integer_type(type_name: str) -> bool:
    return bool(_INT_TYPE.fullmatch(type_name.strip().lower()))


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


# ---------------------------------------------------------------- filter_rows


class FilterRowsParams(_Params):
    condition: str = Field(min_length=1)


@transform("filter_rows", params=FilterRowsParams)
def filter_rows(ctx: TransformContext, df: Any, condition: str) -> Any:
    """Keep the rows matching an SQL condition."""
    return ctx.sql(f"SELECT * FROM df WHERE {condition}", df)


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


# ---------------------------------------------------------------- cast_columns

_TYPE_ALIASES = {
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "long": "BIGINT",
    "str": "VARCHAR",
    "string": "VARCHAR",
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
    columns = _columns(ctx, df)
    _check_columns(ctx, "cast_columns", casts, columns, "cast column")
    q = ctx.quote
    items = [
        f"CAST({q(c)} AS {sql_type(casts[c])}) AS {q(c)}" if c in casts else q(c) for c in columns
    ]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


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


# ---------------------------------------------------------------- join

JoinHow = Literal["inner", "left", "right", "full", "cross", "anti", "semi"]


class JoinParams(_Params):
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
        f"{rt} AS (SELECT *, ROW_NUMBER() OVER () AS {q(_RPOS)} FROM {q(right_dataset)}) "
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
            f"ROW_NUMBER() OVER () AS {q(_POS)} FROM {source}"
        )
    query = (
        f"SELECT {_select_list(ctx, result)} FROM ({' UNION ALL '.join(branches)}) "
        f"AS {q(_LEFT)} ORDER BY {q(_SRC)}, {q(_POS)}"
    )
    return ctx.sql(query, df)


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


# ---------------------------------------------------------------- sort


class SortParams(_Params):
    by: list[str] = Field(min_length=1)
    ascending: bool | list[bool] = True

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
def sort(ctx: TransformContext, df: Any, by: list[str], ascending: bool | list[bool] = True) -> Any:
    """Sort rows by columns (nulls last; ties keep input order)."""
    have = _columns(ctx, df)
    _check_columns(ctx, "sort", by, have, "sort column")
    directions = ascending if isinstance(ascending, list) else [ascending] * len(by)
    q = ctx.quote
    keys = [
        f"{q(c)} {'ASC' if asc else 'DESC'} NULLS LAST"
        for c, asc in zip(by, directions, strict=True)
    ]
    query = (
        f"SELECT {_select_list(ctx, have)} FROM ({_numbered(ctx)}) AS {q(_LEFT)} "
        f"ORDER BY {', '.join(keys)}, {q(_POS)}"
    )
    return ctx.sql(query, df)


# ---------------------------------------------------------------- clean_text


class CleanTextParams(_Params):
    columns: list[str] = Field(min_length=1)
    trim: bool = True
    case: Literal["lower", "upper", "preserve"] = "preserve"

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


@transform("clean_text", params=CleanTextParams)
def clean_text(
    ctx: TransformContext, df: Any, columns: list[str], trim: bool = True, case: str = "preserve"
) -> Any:
    """Trim and/or change the case of text columns in place."""
    have = _columns(ctx, df)
    _check_columns(ctx, "clean_text", columns, have)
    q = ctx.quote
    items = []
    for c in have:
        if c not in columns:
            items.append(q(c))
            continue
        expr = q(c)
        if trim:
            expr = f"TRIM({expr})"
        if case != "preserve":
            expr = f"{case.upper()}({expr})"
        items.append(f"{expr} AS {q(c)}")
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


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
        f"AS {q(_LEFT)} WHERE {q(_POS)} > {offset} ORDER BY {q(_POS)} LIMIT {n}"
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


@hookimpl
def odibi_register_transforms() -> list[Transform]:
    return [
        deduplicate,
        filter_rows,
        derive_columns,
        cast_columns,
        rename_columns,
        select_columns,
        drop_columns,
        fill_nulls,
        join,
        union,
        aggregate,
        sort,
        clean_text,
        limit,
        distinct,
    ]
