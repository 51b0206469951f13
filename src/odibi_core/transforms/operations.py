"""``{operation: NAME, params: ...}`` steps: pandas' method names and parameters, run as the
SQL transforms they stand for, so an operation gives the same rows on every engine.

An operation that is not one of pandas' names below is looked up as a transformer (Odibi
lets a transform step name any transformer this way).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from odibi_core.errors import NodeError
from odibi_core.transforms._sql import _LEFT, _POS, _RANK, _columns, _numbered, _select_list
from odibi_core.transforms.columns import drop_columns, fill_nulls, rename_columns
from odibi_core.transforms.registry import TransformContext
from odibi_core.transforms.rows import deduplicate, sort

#: What each operation takes (pandas' names).
PARAMS: dict[str, frozenset[str]] = {
    "drop_duplicates": frozenset({"subset", "keep"}),
    "fillna": frozenset({"value"}),
    "drop": frozenset({"columns", "labels"}),
    "rename": frozenset({"columns"}),
    "sort": frozenset({"by", "ascending", "na_position"}),
    "sample": frozenset({"frac", "random_state"}),
}
NAMES = frozenset(PARAMS)


def run(
    ctx: TransformContext,
    name: str,
    params: Mapping[str, Any],
    df: Any,
    transformer: Callable[[str], Any] | None = None,
) -> Any:
    """Apply operation ``name``; ``transformer(name)`` finds a transform of that name if it is
    none of pandas' operations."""
    if name not in PARAMS:
        found = transformer(name) if transformer is not None else None
        if found is None:
            raise NodeError(
                f"unknown operation '{name}'; known: {', '.join(sorted(NAMES))} or a transformer",
                step="operation",
            )
        return found(ctx, df, params)
    unknown = sorted(set(params) - PARAMS[name])
    if unknown:
        raise NodeError(
            f"operation '{name}' takes {', '.join(sorted(PARAMS[name]))}; not {', '.join(unknown)}",
            step="operation",
        )
    return _OPERATIONS[name](ctx, df, dict(params))


def _drop_duplicates(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    """The first (or last) row of each group in input order, or (``keep: false``) only the
    rows without duplicates; the result keeps input order."""
    keep = p.get("keep", "first")
    if keep not in ("first", "last", False):
        raise NodeError("drop_duplicates: keep is 'first', 'last' or false", step="operation")
    subset = p.get("subset")
    keys = [subset] if isinstance(subset, str) else list(subset or _columns(ctx, df))
    if keep == "first":
        return deduplicate(ctx, df, {"keys": keys})
    if keep == "last":
        return deduplicate(ctx, df, {"keys": keys, "order_by": f"{ctx.quote(_POS)} DESC"})
    q = ctx.quote
    columns = _columns(ctx, df)
    missing = [k for k in keys if k not in columns]
    if missing:
        raise NodeError(f"drop_duplicates: column(s) {missing} not in the data", step="operation")
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}) "
        f"SELECT {_select_list(ctx, columns)} FROM (SELECT *, COUNT(*) OVER (PARTITION BY "
        f"{_select_list(ctx, keys)}) AS {q(_RANK)} FROM {q(_LEFT)}) AS r "
        f"WHERE {q(_RANK)} = 1 ORDER BY {q(_POS)}"
    )
    return ctx.sql(query, df)


def _fillna(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    """A ``{column: value}`` fills those columns (names the data lacks are skipped, as pandas
    skips them); one value fills every column of its kind (a number the numeric columns,
    text the text ones, a boolean the boolean ones), as Spark's ``fillna`` does, so no
    column changes type."""
    value = p.get("value")
    if value is None:
        raise NodeError("operation 'fillna' needs 'value'", step="operation")
    # The types SQL sees (a pandas object column may hold booleans), from no rows.
    schema = ctx.engine.schema(ctx.engine.sql("SELECT * FROM df LIMIT 0", {"df": df}))
    if isinstance(value, Mapping):
        values = {c: v for c, v in value.items() if c in dict(schema)}
    else:
        values = {c: value for c, kind in schema if _kind(kind) == _kind_of(value)}
    return fill_nulls(ctx, df, {"values": values}) if values else df


def _kind(engine_type: str) -> str:
    """``number``, ``text``, ``bool`` or ``other``, from any engine's type name."""
    kind = engine_type.lower()
    if "bool" in kind:
        return "bool"
    if "interval" in kind or "time" in kind or "date" in kind:
        return "other"
    numbers = ("int", "float", "double", "decimal", "numeric", "real", "long", "short", "byte")
    if any(word in kind for word in numbers):
        return "number"
    if kind in ("object", "str", "string", "utf8", "varchar") or "string" in kind:
        return "text"
    return "other"


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "text"


def _drop(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    columns = p.get("columns", p.get("labels", []))
    return drop_columns(ctx, df, {"columns": [columns] if isinstance(columns, str) else columns})


def _rename(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    """``columns: {old: new}``; names the data lacks are skipped, as pandas skips them."""
    have = set(_columns(ctx, df))
    mapping = {old: new for old, new in dict(p.get("columns") or {}).items() if old in have}
    return rename_columns(ctx, df, {"mapping": mapping}) if mapping else df


def _sort(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    if p.get("na_position", "last") not in ("first", "last"):
        raise NodeError("sort: na_position is 'first' or 'last'", step="operation")
    params = {"by": p.get("by", []), "ascending": p.get("ascending", True)}
    return sort(ctx, df, {**params, "nulls": p.get("na_position", "last")})


def _sample(ctx: TransformContext, df: Any, p: dict[str, Any]) -> Any:
    """Each row kept with probability ``frac``, decided by a hash of its position and the seed
    (``random_state``), so a seed gives the same rows again; the rows keep input order."""
    if "frac" not in p:
        raise NodeError("operation 'sample' needs 'frac'", step="operation")
    frac = float(p["frac"])
    if not 0 <= frac <= 1:
        raise NodeError("operation 'sample': frac is between 0 and 1", step="operation")
    seed = p.get("random_state")
    seed = int(seed) if seed is not None else random.randrange(2**31)
    q = ctx.quote
    bound = round(frac * 1_000_000)
    query = (
        f"SELECT {_select_list(ctx, _columns(ctx, df))} FROM ({_numbered(ctx)}) AS {q(_LEFT)} "
        # ((h % m) + m) % m: a hash's remainder in [0, m) whether hashes are signed (Spark)
        # or not (DuckDB), without abs(), which overflows on Spark's smallest integer.
        f"WHERE ((hash({q(_POS)}, {seed}) % 1000000) + 1000000) % 1000000 < {bound} "
        f"ORDER BY {q(_POS)}"
    )
    return ctx.sql(query, df)


_OPERATIONS: dict[str, Callable[[TransformContext, Any, dict[str, Any]], Any]] = {
    "drop_duplicates": _drop_duplicates,
    "fillna": _fillna,
    "drop": _drop,
    "rename": _rename,
    "sort": _sort,
    "sample": _sample,
}
