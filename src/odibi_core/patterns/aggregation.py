"""The ``aggregation`` pattern: measures (SQL aggregate expressions) at a grain, an optional
HAVING, and incremental re-aggregation into the existing table.

With ``incremental``, the aggregates of this batch are merged into the table read back
(``target``, or the node's write target): ``replace`` puts a batch's grain rows in place of the
table's, ``sum`` adds measures, ``min``/``max`` keep the smaller/larger; grain rows only one
side has are kept. Which rows a batch holds is the read's business (``read.incremental``);
``timestamp_column`` is accepted as Odibi requires it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from odibi_core.patterns._shared import (
    GRP,
    POS,
    Audit,
    PatternParams,
    check_columns,
    columns,
    input_columns,
    run,
    with_audit,
)
from odibi_core.patterns._target import read_target, split_target
from odibi_core.transforms.registry import TransformContext, transform


class Measure(PatternParams):
    name: str = Field(min_length=1)
    expr: str = Field(min_length=1)


class Incremental(PatternParams):
    timestamp_column: str = Field(min_length=1)
    merge_strategy: Literal["replace", "sum", "min", "max"] = "replace"


class AggregationParams(PatternParams):
    grain: list[str] = Field(min_length=1)
    measures: list[Measure] = Field(min_length=1)
    having: str | None = None
    incremental: Incremental | None = None
    target: str | None = None
    audit: Audit = Field(default_factory=Audit)

    lists = ("grain",)


@transform("aggregation", params=AggregationParams)
def aggregation(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Aggregate measures at a grain; merge into the existing table incrementally."""
    p = AggregationParams.model_construct(**params)
    q = ctx.quote
    check_columns(ctx, "aggregation", p.grain, input_columns(ctx, "aggregation", df), "the input")
    keys = ", ".join(q(c) for c in p.grain)
    measures = ", ".join(f"{m.expr} AS {q(m.name)}" for m in p.measures)
    having = f" HAVING {p.having}" if p.having else ""
    order = ", ".join(f"{q(c)} NULLS LAST" for c in p.grain)
    query = f"SELECT {keys}, {measures} FROM df GROUP BY {keys}{having} ORDER BY {order}"
    result = run(ctx, query, {"df": df})
    if p.incremental is not None:
        existing = read_target(ctx, split_target(ctx, p.target))
        if existing is not None:
            have = columns(ctx, existing)
            wanted = [*p.grain, *(m.name for m in p.measures)]
            check_columns(ctx, "aggregation", wanted, have, "the existing aggregates")
            result = _merge(ctx, existing, result, p)
    return with_audit(ctx, result, p.audit)


def _merge(ctx: TransformContext, existing: Any, new: Any, p: AggregationParams) -> Any:
    q = ctx.quote
    strategy = p.incremental.merge_strategy if p.incremental else "replace"
    match = " AND ".join(f"e.{q(c)} IS NOT DISTINCT FROM n.{q(c)}" for c in p.grain)
    names = [*p.grain, *(m.name for m in p.measures)]
    out = ", ".join(q(c) for c in names)

    def combined(m: str) -> str:
        e, n = f"e.{q(m)}", f"n.{q(m)}"
        if strategy == "sum":
            return f"COALESCE({e}, 0) + COALESCE({n}, 0)"
        pick = "LEAST" if strategy == "min" else "GREATEST"
        return f"{pick}(COALESCE({e}, {n}), COALESCE({n}, {e}))"

    if strategy == "replace":
        kept = f"SELECT {', '.join(f'e.{q(c)}' for c in names)}, 0 AS {q(GRP)}, e.{q(POS)} FROM e"
        kept += f" WHERE NOT EXISTS (SELECT 1 FROM n WHERE {match})"
    else:
        items = [f"e.{q(c)}" for c in p.grain] + [
            f"CASE WHEN n.{q(POS)} IS NULL THEN e.{q(m.name)} ELSE {combined(m.name)} END "
            f"AS {q(m.name)}"
            for m in p.measures
        ]
        kept = f"SELECT {', '.join(items)}, 0 AS {q(GRP)}, e.{q(POS)} FROM e LEFT JOIN n ON {match}"
    added = f"SELECT {', '.join(f'n.{q(c)}' for c in names)}, 1 AS {q(GRP)}, n.{q(POS)} FROM n"
    if strategy != "replace":
        added += f" WHERE NOT EXISTS (SELECT 1 FROM e WHERE {match})"
    query = (
        f"WITH e AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM existing), "
        f"n AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM batch) "
        f"SELECT {out} FROM ({kept} UNION ALL {added}) u ORDER BY {q(GRP)}, {q(POS)}"
    )
    return run(ctx, query, {"existing": existing, "batch": new})
