"""The ``fact`` pattern: a fact table whose rows look their dimension keys up by natural key.

Each lookup adds the dimension's surrogate key (current versions only with ``scd2: true``).
A row without a match (an orphan) gets the unknown member's key 0 (``orphan_handling:
unknown``), fails the node (``reject``), or goes to a quarantine table with the reason
(``quarantine``). Then measures are passed through, renamed or calculated, the grain is checked
for duplicates, and audit columns are added.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from odibi_core.patterns._shared import (
    POS,
    Audit,
    PatternParams,
    check_columns,
    columns,
    fail,
    input_columns,
    now_sql,
    run,
    sql_types,
    with_audit,
)
from odibi_core.transforms._sql import _literal
from odibi_core.transforms.registry import TransformContext, transform

_MISS = "__odibi_miss_{}"
_REASON_COLUMNS = ("_rejection_reason", "_rejected_at", "_source_dimension")


class DimensionLookup(PatternParams):
    source_column: str = Field(min_length=1)
    dimension_table: str = Field(min_length=1)
    dimension_key: str = Field(min_length=1)
    surrogate_key: str = Field(min_length=1)
    #: Look up the current version only (``is_current`` true).
    scd2: bool = False


class FactQuarantine(PatternParams):
    connection: str = Field(min_length=1)
    path: str | None = None
    table: str | None = None
    #: The quarantine table's format; by default the node's write format, else delta.
    format: str | None = None
    add_columns: dict[str, bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _target(self) -> FactQuarantine:
        if bool(self.path) == bool(self.table):
            raise ValueError("quarantine needs exactly one of 'path' or 'table'")
        unknown = [c for c in self.add_columns if c not in _REASON_COLUMNS]
        if unknown:
            raise ValueError(
                f"add_columns: unknown column {unknown[0]!r} (known: {', '.join(_REASON_COLUMNS)})"
            )
        return self


class FactParams(PatternParams):
    grain: list[str] = Field(default_factory=list)
    dimensions: list[DimensionLookup] = Field(default_factory=list)
    orphan_handling: Literal["unknown", "reject", "quarantine"] = "unknown"
    quarantine: FactQuarantine | None = None
    measures: list[str | dict[str, str]] = Field(default_factory=list)
    deduplicate: bool = False
    keys: list[str] = Field(default_factory=list)
    audit: Audit = Field(default_factory=Audit)

    lists = ("grain", "keys")

    @model_validator(mode="after")
    def _consistent(self) -> FactParams:
        if self.deduplicate and not self.keys:
            raise ValueError("deduplicate needs 'keys' (the columns that identify a fact row)")
        if self.orphan_handling == "quarantine" and self.quarantine is None:
            raise ValueError("orphan_handling 'quarantine' needs a 'quarantine' block")
        return self


@transform("fact", params=FactParams)
def fact(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Build a fact table: dimension key lookups, orphan handling, measures, grain check."""
    p = FactParams.model_construct(**params)
    have = input_columns(ctx, "fact", df)
    check_columns(ctx, "fact", [d.source_column for d in p.dimensions], have, "the input")
    if p.deduplicate:
        check_columns(ctx, "fact", p.keys, have, "the input")
        df = _first_per_key(ctx, df, p.keys)
    if p.dimensions:
        df = _look_up(ctx, df, have, p)
    df = _measures(ctx, df, p.measures)
    if p.grain:
        _check_grain(ctx, df, p.grain)
    return with_audit(ctx, df, p.audit)


def _first_per_key(ctx: TransformContext, df: Any, keys: list[str]) -> Any:
    q = ctx.quote
    names = ", ".join(q(c) for c in columns(ctx, df))
    part = ", ".join(q(k) for k in keys)
    query = (
        f"SELECT {names} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {part} "
        f"ORDER BY {q(POS)}) AS __odibi_rank FROM (SELECT *, {ctx.row_position()} AS {q(POS)} "
        f"FROM df) n) r WHERE __odibi_rank = 1 ORDER BY {q(POS)}"
    )
    return run(ctx, query, {"df": df})


def _look_up(ctx: TransformContext, df: Any, have: list[str], p: FactParams) -> Any:
    q = ctx.quote
    source_types = sql_types(ctx, df)
    tables: dict[str, Any] = {"df": df}
    joins, keys, misses = [], [], []
    for i, d in enumerate(p.dimensions):
        dim = ctx.table(d.dimension_table)
        dim_cols = columns(ctx, dim)
        where = f"dimension '{d.dimension_table}'"
        check_columns(ctx, "fact", [d.dimension_key, d.surrogate_key], dim_cols, where)
        current = ""
        if d.scd2 and "is_current" in dim_cols:
            current = f" WHERE {q('is_current')}"
        alias, name = f"__odibi_d{i}", f"__odibi_dim{i}"
        tables[name] = dim
        left, right = f"s.{q(d.source_column)}", f"{alias}.__odibi_key"
        dim_type = sql_types(ctx, dim)[d.dimension_key]
        if dim_type.lower() != source_types[d.source_column].lower():
            # A CSV's date text against a date column: read the text as the key's type.
            left = f"TRY_CAST({left} AS {dim_type})"
        joins.append(
            f"LEFT JOIN (SELECT {q(d.dimension_key)} AS __odibi_key, {q(d.surrogate_key)} "
            f"AS __odibi_sk FROM {name}{current}) {alias} ON {left} = {right}"
        )
        fallback = "0" if p.orphan_handling == "unknown" else "NULL"
        keys.append(f"COALESCE({alias}.__odibi_sk, {fallback}) AS {q(d.surrogate_key)}")
        misses.append(
            f"CASE WHEN {alias}.__odibi_sk IS NULL THEN 1 ELSE 0 END AS {q(_MISS.format(i))}"
        )
    added = [d.surrogate_key for d in p.dimensions]
    kept = [c for c in have if c not in added]
    query = (
        f"SELECT {', '.join(f's.{q(c)}' for c in kept)}, {', '.join(keys)}, "
        f"{', '.join(misses)}, s.{q(POS)} FROM "
        f"(SELECT *, {ctx.row_position()} AS {q(POS)} FROM df) s {' '.join(joins)}"
    )
    looked = run(ctx, query, tables)
    out = ", ".join(q(c) for c in [*kept, *added])
    if p.orphan_handling == "unknown":
        return run(ctx, f"SELECT {out} FROM df ORDER BY {q(POS)}", {"df": looked})

    counts_sql = ", ".join(f"SUM({q(_MISS.format(i))}) AS c{i}" for i in range(len(p.dimensions)))
    counts = ctx.engine.sample(run(ctx, f"SELECT {counts_sql} FROM df", {"df": looked}), 1)
    found = (
        [(d, int(counts[0][f"c{i}"] or 0)) for i, d in enumerate(p.dimensions)] if counts else []
    )
    orphans = [(d, n) for d, n in found if n]
    if not orphans:
        return run(ctx, f"SELECT {out} FROM df ORDER BY {q(POS)}", {"df": looked})
    if p.orphan_handling == "reject":
        d, n = orphans[0]
        raise fail(
            ctx,
            "fact",
            f"{n} orphan row(s): '{d.source_column}' has no match in "
            f"'{d.dimension_table}.{d.dimension_key}' (orphan_handling: reject; use unknown "
            "or quarantine to keep the run going)",
        )
    _quarantine(ctx, looked, kept, p)
    any_miss = " OR ".join(f"{q(_MISS.format(i))} = 1" for i in range(len(p.dimensions)))
    return run(
        ctx, f"SELECT {out} FROM df WHERE NOT ({any_miss}) ORDER BY {q(POS)}", {"df": looked}
    )


def _quarantine(ctx: TransformContext, looked: Any, kept: list[str], p: FactParams) -> None:
    """Append the orphans, each with the first lookup it failed, to the quarantine table."""
    from odibi_core.config.models import WriteConfig

    qc = p.quarantine
    assert qc is not None  # checked by the params model
    q = ctx.quote
    first = (
        "CASE "
        + " ".join(f"WHEN {q(_MISS.format(i))} = 1 THEN {i}" for i in range(len(p.dimensions)))
        + " END"
    )

    def per_dim(values: list[str]) -> str:
        return (
            "CASE "
            + " ".join(f"WHEN __odibi_first = {i} THEN {v}" for i, v in enumerate(values))
            + " END"
        )

    extra = []
    if qc.add_columns.get("_rejection_reason"):
        reasons = [
            _literal(
                f"Orphan record: no match in dimension '{d.dimension_table}' on column "
                f"'{d.source_column}'"
            )
            for d in p.dimensions
        ]
        extra.append(f"{per_dim(reasons)} AS {q('_rejection_reason')}")
    if qc.add_columns.get("_rejected_at"):
        extra.append(f"{now_sql()} AS {q('_rejected_at')}")
    if qc.add_columns.get("_source_dimension"):
        dims = [_literal(d.dimension_table) for d in p.dimensions]
        extra.append(f"{per_dim(dims)} AS {q('_source_dimension')}")
    select = [f"o.{q(c)}" for c in kept] + extra
    any_miss = " OR ".join(f"{q(_MISS.format(i))} = 1" for i in range(len(p.dimensions)))
    query = (
        f"SELECT {', '.join(select)} FROM (SELECT *, {first} AS __odibi_first FROM df "
        f"WHERE {any_miss}) o ORDER BY o.{q(POS)}"
    )
    orphans = run(ctx, query, {"df": looked})
    write = ctx.node.write
    fmt = qc.format or (write.format if write is not None else "delta")
    spec = WriteConfig(
        connection=qc.connection, format=fmt, path=qc.path, table=qc.table, mode="append"
    )
    if qc.connection not in ctx.connections:
        raise fail(ctx, "fact", f"quarantine connection '{qc.connection}' is not defined")
    ctx.engine.write(orphans, spec, ctx.connections[qc.connection])


_EXPRESSION = re.compile(r"[()]| [-+*/] ")


def _measures(ctx: TransformContext, df: Any, measures: list[str | dict[str, str]]) -> Any:
    """Odibi's measures: a name passes through, ``{new: column}`` renames, ``{new: expr}``
    (parentheses or a spaced operator) calculates."""
    if not measures:
        return df
    q = ctx.quote
    have = columns(ctx, df)
    check_columns(ctx, "fact", [m for m in measures if isinstance(m, str)], have, "the data")
    renames: dict[str, str] = {}
    derived: dict[str, str] = {}
    for m in measures:
        for new, expr in m.items() if isinstance(m, dict) else []:
            if _EXPRESSION.search(expr):
                derived[new] = expr
            else:
                check_columns(ctx, "fact", [expr], have, "the data")
                renames[expr] = new
    items = [f"{q(c)} AS {q(renames[c])}" if c in renames else q(c) for c in have]
    items = [i for i, c in zip(items, have, strict=True) if c not in derived or c in renames]
    items += [f"({expr}) AS {q(new)}" for new, expr in derived.items()]
    query = (
        f"SELECT {', '.join(items)} FROM (SELECT *, {ctx.row_position()} AS {q(POS)} FROM df) t "
        f"ORDER BY {q(POS)}"
    )
    return run(ctx, query, {"df": df})


def _check_grain(ctx: TransformContext, df: Any, grain: list[str]) -> None:
    q = ctx.quote
    check_columns(ctx, "fact", grain, columns(ctx, df), "the fact rows")
    cols = ", ".join(q(c) for c in grain)
    query = (
        f"SELECT COALESCE(SUM(n - 1), 0) AS extra, COUNT(*) AS groups FROM "
        f"(SELECT COUNT(*) AS n FROM df GROUP BY {cols} HAVING COUNT(*) > 1) g"
    )
    row = ctx.engine.sample(run(ctx, query, {"df": df}), 1)[0]
    if int(row["extra"] or 0):
        raise fail(
            ctx,
            "fact",
            f"grain ({', '.join(grain)}) is not unique: {int(row['extra'])} duplicate row(s) "
            f"over {int(row['groups'])} key(s); deduplicate (deduplicate: true with keys) first",
        )
