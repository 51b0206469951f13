"""Building the SELECT list of a transform that adds or rewrites columns (private)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from odibi_core.transforms._sql import _columns
from odibi_core.transforms.registry import TransformContext


def with_columns(ctx: TransformContext, df: Any, new: Mapping[str, str]) -> Any:
    """``df`` with each ``name: expression`` of ``new`` replacing the column of that name in
    place, or appended after the others (in the order given) when there is none."""
    q = ctx.quote
    have = _columns(ctx, df)
    items = [f"{new[c]} AS {q(c)}" if c in new else q(c) for c in have]
    items += [f"{expr} AS {q(name)}" for name, expr in new.items() if name not in have]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


def text_columns(ctx: TransformContext, df: Any) -> list[str]:
    """The columns SQL sees as text (a pandas object column counts by what it holds)."""
    if ctx.engine.name == "spark":
        return [name for name, kind in ctx.engine.schema(df) if kind.lower() == "string"]
    import pyarrow as pa

    # Some rows, not none: a pandas object column's type is read from its values.
    head = ctx.engine.to_arrow(ctx.engine.sql("SELECT * FROM df LIMIT 1000", {"df": df}))
    kinds = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    return [f.name for f in head.schema if any(is_kind(f.type) for is_kind in kinds)]
