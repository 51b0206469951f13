"""The ``dimension`` pattern: a dimension table with integer surrogate keys, SCD type 0, 1 or 2,
Odibi's unknown member row and audit columns.

A row keeps its ``load_timestamp`` while its values stay as they were (an unchanged member, a
closed SCD2 version); a new or updated row gets the load time, as Odibi's tutorials show.

Surrogate keys are stable across runs: the pattern reads its existing table back (``target``,
or the node's own write target), keeps the key of every member it already has, and numbers new
members from the largest existing key + 1, in natural-key order.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from odibi_core.patterns._shared import (
    GRP,
    POS,
    Audit,
    PatternParams,
    check_columns,
    columns,
    input_columns,
    now_sql,
    run,
    with_audit,
    with_unknown_member,
)
from odibi_core.patterns._target import read_target, split_target
from odibi_core.patterns.history import HistorySpec, build_history
from odibi_core.transforms.registry import TransformContext, transform


class DimensionAudit(Audit):
    #: Dimensions stamp their load time unless told not to (Odibi's default).
    load_timestamp: bool = True


class DimensionParams(PatternParams):
    natural_key: str = Field(min_length=1)
    surrogate_key: str = Field(min_length=1)
    scd_type: Literal[0, 1, 2] = 1
    track_cols: list[str] = Field(default_factory=list)
    target: str | None = None
    unknown_member: bool = False
    audit: DimensionAudit = Field(default_factory=DimensionAudit)
    valid_from_col: str = "valid_from"
    valid_to_col: str = "valid_to"
    is_current_col: str = "is_current"

    lists = ("track_cols",)

    @model_validator(mode="after")
    def _history_needs_tracking(self) -> DimensionParams:
        if self.scd_type == 2 and not self.track_cols:
            raise ValueError(
                "scd_type 2 needs 'track_cols' (the columns whose changes open a version)"
            )
        if self.natural_key == self.surrogate_key:
            raise ValueError("natural_key and surrogate_key must be different columns")
        return self


@transform("dimension", params=DimensionParams)
def dimension(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Build a dimension: surrogate keys, SCD 0/1/2, unknown member, audit columns."""
    p = DimensionParams.model_construct(**params)
    source_cols = input_columns(ctx, "dimension", df)
    check_columns(ctx, "dimension", [p.natural_key, *p.track_cols], source_cols, "the input")
    existing = read_target(ctx, split_target(ctx, p.target))
    existing_cols = columns(ctx, existing) if existing is not None else []
    if existing is not None:
        check_columns(
            ctx, "dimension", [p.natural_key, p.surrogate_key], existing_cols, "the existing target"
        )
    history = (p.valid_from_col, p.valid_to_col, p.is_current_col)
    if p.scd_type == 2:
        spec = HistorySpec(
            keys=[p.natural_key],
            track_cols=p.track_cols,
            valid_from=p.valid_from_col,
            valid_to=p.valid_to_col,
            is_current=p.is_current_col,
            surrogate_key=p.surrogate_key,
        )
        result = build_history(ctx, df, source_cols, existing, existing_cols, spec)
    else:
        result = _static_or_overwrite(ctx, df, source_cols, existing, existing_cols, p)
    audit = p.audit
    if audit.load_timestamp and existing is not None and "load_timestamp" in existing_cols:
        result = _stamp_loads(ctx, result, existing, p, [*history, "load_timestamp"])
        audit = audit.model_copy(update={"load_timestamp": False})
    result = with_audit(ctx, result, audit)
    if p.unknown_member:
        result = with_unknown_member(
            ctx,
            result,
            p.surrogate_key,
            p.natural_key,
            p.audit,
            history if p.scd_type == 2 else None,
        )
    return result


def _static_or_overwrite(
    ctx: TransformContext,
    df: Any,
    source_cols: list[str],
    existing: Any | None,
    existing_cols: list[str],
    p: DimensionParams,
) -> Any:
    """SCD 0 (members never change) or 1 (members take the source's values), with keys."""
    q = ctx.quote
    sk, nk = p.surrogate_key, p.natural_key
    data = [c for c in source_cols if c != sk]
    order = f"s.{q(nk)} NULLS LAST, s.{q(POS)}"
    if existing is None:
        out = [*data, sk]
        query = (
            f"SELECT {', '.join(q(c) for c in out)} FROM (SELECT "
            + ", ".join(f"s.{q(c)}" for c in data)
            + f", CAST(ROW_NUMBER() OVER (ORDER BY {order}) AS BIGINT) AS {q(sk)} "
            f"FROM (SELECT *, {ctx.row_position()} AS {q(POS)} FROM src) s) n ORDER BY {q(sk)}"
        )
        return run(ctx, query, {"src": df})

    out = existing_cols + [c for c in data if c not in existing_cols]

    def pick(alias: str, has: list[str], c: str) -> str:
        return f"{alias}.{q(c)}" if c in has else f"NULL AS {q(c)}"

    in_source = f"EXISTS (SELECT 1 FROM s WHERE s.{q(nk)} = e.{q(nk)})"
    in_target = f"EXISTS (SELECT 1 FROM e WHERE e.{q(nk)} = s.{q(nk)})"
    kept_where = "" if p.scd_type == 0 else f" WHERE NOT {in_source}"
    parts = [
        f"SELECT {', '.join(pick('e', existing_cols, c) for c in out)}, 0 AS {q(GRP)}, "
        f"e.{q(POS)} AS {q(POS)} FROM e{kept_where}"
    ]
    if p.scd_type == 1:  # members the source has take its values and keep their key
        items = [f"e.{q(c)}" if c == sk else pick("s", data, c) for c in out]
        parts.append(
            f"SELECT {', '.join(items)}, 1 AS {q(GRP)}, s.{q(POS)} AS {q(POS)} "
            f"FROM s JOIN e ON e.{q(nk)} = s.{q(nk)}"
        )
    new_key = (
        f"(SELECT COALESCE(MAX(m.{q(sk)}), 0) FROM e m) + ROW_NUMBER() OVER (ORDER BY {order})"
    )
    items = [f"{new_key} AS {q(c)}" if c == sk else pick("s", data, c) for c in out]
    parts.append(
        f"SELECT {', '.join(items)}, 2 AS {q(GRP)}, ROW_NUMBER() OVER (ORDER BY {order}) "
        f"AS {q(POS)} FROM s WHERE NOT {in_target}"
    )
    query = (
        f"WITH e AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM existing), "
        f"s AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM src) "
        f"SELECT {', '.join(q(c) for c in out)} FROM ({' UNION ALL '.join(parts)}) u "
        f"ORDER BY {q(GRP)}, {q(POS)}"
    )
    return run(ctx, query, {"src": df, "existing": existing})


def _stamp_loads(
    ctx: TransformContext, result: Any, existing: Any, p: DimensionParams, meta: list[str]
) -> Any:
    """``result`` with ``load_timestamp`` set: the existing row's where the row with the same
    surrogate key had the same values (``meta`` columns aside), the load time elsewhere."""
    q = ctx.quote
    have, before = columns(ctx, result), columns(ctx, existing)
    same = [c for c in have if c in before and c not in (*meta, p.surrogate_key, "source_system")]
    equal = " AND ".join(f"r.{q(c)} IS NOT DISTINCT FROM e.{q(c)}" for c in same) or "TRUE"
    stamp = (
        f"CASE WHEN e.{q(p.surrogate_key)} IS NOT NULL AND {equal} "
        f"THEN CAST(e.{q('load_timestamp')} AS TIMESTAMP) ELSE {now_sql()} END"
    )
    items = [f"{stamp} AS {q(c)}" if c == "load_timestamp" else f"r.{q(c)}" for c in have]
    if "load_timestamp" not in have:
        items.append(f"{stamp} AS {q('load_timestamp')}")
    query = (
        f"SELECT {', '.join(items)} FROM "
        f"(SELECT *, {ctx.row_position()} AS {q(POS)} FROM result) r "
        f"LEFT JOIN existing e ON e.{q(p.surrogate_key)} = r.{q(p.surrogate_key)} "
        f"ORDER BY r.{q(POS)}"
    )
    return run(ctx, query, {"result": result, "existing": existing})
