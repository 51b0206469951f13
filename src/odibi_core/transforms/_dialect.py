"""The few SQL expressions DuckDB (pandas and polars engines) and Spark SQL spell differently.

Everything else the transforms build is SQL both share; each function here returns the one
expression for the engine the transform runs on, so the results agree (private).
"""

from __future__ import annotations

from odibi_core.transforms.registry import TransformContext


def is_spark(ctx: TransformContext) -> bool:
    return ctx.engine.name == "spark"


def sha256(ctx: TransformContext, expr: str) -> str:
    return f"sha2({expr}, 256)" if is_spark(ctx) else f"sha256({expr})"


def regex_replace_all(ctx: TransformContext, expr: str, pattern: str, replacement: str) -> str:
    # DuckDB replaces the first match only unless told 'g'; Spark always replaces every match.
    if is_spark(ctx):
        return f"regexp_replace({expr}, {pattern}, {replacement})"
    return f"regexp_replace({expr}, {pattern}, {replacement}, 'g')"


def hex15_to_bigint(ctx: TransformContext, expr: str) -> str:
    """The first 15 hex digits of a string as a BIGINT (always positive: 60 bits)."""
    head = f"substring({expr}, 1, 15)"
    if is_spark(ctx):
        return f"CAST(conv({head}, 16, 10) AS BIGINT)"
    return f"CAST(('0x' || {head}) AS BIGINT)"


def epoch_seconds(ctx: TransformContext, expr: str) -> str:
    """A timestamp as seconds since 1970 (whole seconds on both engines)."""
    if is_spark(ctx):
        return f"unix_timestamp({expr})"
    return f"CAST(floor(epoch(CAST({expr} AS TIMESTAMP))) AS BIGINT)"


def shift_timezone(ctx: TransformContext, expr: str, source: str, target: str) -> str:
    """A naive timestamp read as wall time in ``source`` and shown as wall time in ``target``."""
    if is_spark(ctx):
        return f"from_utc_timestamp(to_utc_timestamp({expr}, {source}), {target})"
    return f"timezone({target}, timezone({source}, CAST({expr} AS TIMESTAMP)))"


def text(ctx: TransformContext, value: str) -> str:
    """A string literal; Spark's parser reads backslashes as escapes, DuckDB's does not."""
    if is_spark(ctx):
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def counter(ctx: TransformContext, last: str) -> str:
    """A select item that repeats each row once per integer 0..``last`` (a generator)."""
    if is_spark(ctx):
        return f"explode(sequence(0, CAST({last} AS INT)))"
    return f"UNNEST(range(0, CAST({last} AS BIGINT) + 1))"


def plus(ctx: TransformContext, timestamp: str, amount: str, unit: str) -> str:
    """``timestamp`` plus ``amount`` (an integer expression) days, hours or minutes."""
    if is_spark(ctx):
        args = {"day": f"{amount}, 0, 0, 0", "hour": f"0, {amount}, 0, 0"}
        args["minute"] = f"0, 0, {amount}, 0"
        return f"({timestamp} + make_dt_interval({args[unit]}))"
    return f"({timestamp} + to_{unit}s(CAST({amount} AS BIGINT)))"
