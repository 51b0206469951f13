"""The ``merge`` pattern: Odibi's merge into a target by key, written by the pattern itself.

``upsert`` updates the target's rows whose keys the batch has (in place) and appends the others;
``append_only`` appends only rows whose keys the target lacks; ``delete_match`` deletes the
target's rows whose keys the batch has. With ``audit_cols``, ``created_col`` is the load time
when a row is inserted and kept on update, ``updated_col`` the load time of its last change.
The target is rewritten whole (read back through the IO layer, so any connection works); the
node's output is its input, as in Odibi.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from odibi_core.io import modes
from odibi_core.patterns._shared import (
    GRP,
    POS,
    PatternParams,
    check_columns,
    columns,
    fail,
    now_sql,
    run,
)
from odibi_core.patterns._target import read_target, split_target, write_target
from odibi_core.transforms.registry import TransformContext, transform


class MergeAudit(PatternParams):
    created_col: str | None = None
    updated_col: str | None = None


class MergeParams(PatternParams):
    target: str | None = None
    keys: list[str] = Field(min_length=1)
    strategy: Literal["upsert", "append_only", "delete_match"] = "upsert"
    audit_cols: MergeAudit | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


@transform("merge", params=MergeParams)
def merge(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Merge the rows into a target by key (upsert, append_only, delete_match)."""
    p = MergeParams.model_construct(**params)
    if df is None:
        raise fail(ctx, "merge", "needs input rows: give the node 'read' or 'depends_on'")
    have = columns(ctx, df)
    check_columns(ctx, "merge", p.keys, have, "the input")
    where = split_target(ctx, p.target)
    if where is None:
        raise fail(ctx, "merge", "needs 'target' (connection.path)")
    found = modes.repeated_keys(ctx.engine, df, p.keys)
    if found is not None:
        raise fail(ctx, "merge", found.message(p.strategy, where[1]))
    existing = read_target(ctx, where)
    audit = p.audit_cols or MergeAudit()
    stamps = [c for c in (audit.created_col, audit.updated_col) if c]
    q = ctx.quote
    incoming = [c for c in have if c not in stamps]
    if existing is None:
        if p.strategy == "delete_match":
            return df
        items = [q(c) for c in incoming] + [f"{now_sql()} AS {q(c)}" for c in stamps]
        merged = run(ctx, f"SELECT {', '.join(items)} FROM df", {"df": df})
    else:
        target_cols = columns(ctx, existing)
        check_columns(ctx, "merge", p.keys, target_cols, "the target")
        merged = _merged(ctx, existing, target_cols, df, incoming, p, audit)
    write_target(ctx, merged, where)
    return df


def _merged(
    ctx: TransformContext,
    existing: Any,
    target_cols: list[str],
    df: Any,
    incoming: list[str],
    p: MergeParams,
    audit: MergeAudit,
) -> Any:
    q = ctx.quote
    out = target_cols + [
        c for c in [*incoming, audit.created_col, audit.updated_col] if c and c not in target_cols
    ]
    match = modes.key_match(p.keys, q, "e", "b")
    hit = f"EXISTS (SELECT 1 FROM b WHERE {match})"
    if p.strategy == "delete_match":
        kept = f"SELECT {_pick(q, 'e', target_cols, out)}, 0 AS {q(GRP)}, e.{q(POS)} FROM e"
        kept += f" WHERE NOT {hit}"
        return _union(ctx, existing, df, out, [kept])
    if p.strategy == "append_only":
        kept = f"SELECT {_pick(q, 'e', target_cols, out)}, 0 AS {q(GRP)}, e.{q(POS)} FROM e"
    else:  # upsert: matched rows take the batch's values where they stand
        items = []
        for c in out:
            old = f"e.{q(c)}" if c in target_cols else "NULL"
            if c == audit.updated_col:
                new = now_sql()
            elif c in incoming:
                new = f"b.{q(c)}"
            else:
                new = old
            items.append(f"CASE WHEN b.{q(POS)} IS NULL THEN {old} ELSE {new} END AS {q(c)}")
        kept = (
            f"SELECT {', '.join(items)}, 0 AS {q(GRP)}, e.{q(POS)} FROM e "
            f"LEFT JOIN b ON {modes.key_match(p.keys, q, 'e', 'b')}"
        )
    added_items = []
    for c in out:
        if c in (audit.created_col, audit.updated_col):
            added_items.append(f"{now_sql()} AS {q(c)}")
        elif c in incoming:
            added_items.append(f"b.{q(c)}")
        else:
            added_items.append(f"NULL AS {q(c)}")
    added = (
        f"SELECT {', '.join(added_items)}, 1 AS {q(GRP)}, b.{q(POS)} FROM b "
        f"WHERE NOT EXISTS (SELECT 1 FROM e WHERE {match})"
    )
    return _union(ctx, existing, df, out, [kept, added])


def _pick(q: Any, alias: str, has: list[str], out: list[str]) -> str:
    return ", ".join(f"{alias}.{q(c)}" if c in has else f"NULL AS {q(c)}" for c in out)


def _union(ctx: TransformContext, existing: Any, df: Any, out: list[str], parts: list[str]) -> Any:
    q = ctx.quote
    query = (
        f"WITH e AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM existing), "
        f"b AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM batch) "
        f"SELECT {', '.join(q(c) for c in out)} FROM ({' UNION ALL '.join(parts)}) u "
        f"ORDER BY {q(GRP)}, {q(POS)}"
    )
    return run(ctx, query, {"existing": existing, "batch": df})
