"""cross_check: compare other nodes' outputs (row counts or schemas) and fail the node when
they disagree (Odibi's name and parameters). Imported when the CLI starts, so nothing heavy is
imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from odibi_core.transforms._sql import _fail, _Params
from odibi_core.transforms.registry import TransformContext, transform


class CrossCheckParams(_Params):
    type: Literal["row_count_diff", "schema_match"]
    inputs: list[str] = Field(min_length=2)
    threshold: float = Field(0.0, ge=0)


@transform("cross_check", params=CrossCheckParams)
def cross_check(
    ctx: TransformContext, df: Any, type: str, inputs: list[str], threshold: float = 0.0
) -> Any:
    """Fail unless every input's row count is within threshold (a fraction) of the first
    input's, or (schema_match) every input has the first one's columns and types. Passes the
    node's data on unchanged (the first input when it has none)."""
    frames = {name: ctx.table(name) for name in inputs}
    base_name, *others = inputs
    base = frames[base_name]
    failures = []
    if type == "row_count_diff":
        base_count = ctx.engine.count(base)
        for name in others:
            count = ctx.engine.count(frames[name])
            diff = abs(count - base_count) / base_count if base_count else float(count > 0)
            if diff > threshold:
                failures.append(
                    f"'{name}' has {count} rows, '{base_name}' {base_count} "
                    f"({diff:.1%} apart, more than {threshold:.1%})"
                )
    else:
        base_schema = ctx.engine.schema(base)
        for name in others:
            schema = ctx.engine.schema(frames[name])
            if schema != base_schema:
                missing = [c for c in base_schema if c not in schema]
                extra = [c for c in schema if c not in base_schema]
                failures.append(
                    f"'{name}' differs from '{base_name}': lacks {missing or 'nothing'}, "
                    f"adds {extra or 'nothing'}"
                )
    if failures:
        raise _fail(ctx, "cross_check", "cross_check failed: " + "; ".join(failures))
    return df if df is not None else base
