"""What the patterns share: running SQL over named frames, the engine's own column types,
audit columns and the unknown member row (the tables they read back: :mod:`._target`).

Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from odibi_core.errors import NodeError
from odibi_core.transforms.registry import TransformContext

#: Where an unknown member's validity starts (Odibi's value).
UNKNOWN_FROM = "1900-01-01 00:00:00"
#: Helper columns; dropped before a pattern returns.
POS, GRP = "__odibi_pos", "__odibi_grp"


class PatternParams(BaseModel):
    # Built on first use: a run validates only the patterns it uses.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    #: Fields that take a list of column names, or one name for a list of one.
    lists: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(data.get(f), str) for f in cls.lists):
            data = {k: [v] if k in cls.lists and isinstance(v, str) else v for k, v in data.items()}
        return data


class Audit(PatternParams):
    """Odibi's ``audit`` block: a load time and a source system name on every row."""

    load_timestamp: bool = False
    source_system: str | None = None


def spark_only(value: str | None, info: Any) -> str | None:
    """A ``register_table`` validator: refused at ``odibi validate`` on an engine without a
    metastore (the engine comes in the validation context)."""
    engine = (info.context or {}).get("engine")
    if value and engine and engine != "spark":
        raise ValueError(
            f"register_table registers the table in Spark's metastore; the {engine} "
            "engine has none (use engine: spark, or drop the key)"
        )
    return value


def fail(ctx: TransformContext, pattern: str, message: str) -> NodeError:
    return NodeError(message, node=ctx.node.name, step=f"pattern {pattern}")


def input_columns(ctx: TransformContext, pattern: str, df: Any) -> list[str]:
    """The input's columns; a node with no input rows fails, saying how to give it some."""
    if df is None:
        raise fail(ctx, pattern, "needs input rows: give the node 'read' or 'depends_on'")
    return columns(ctx, df)


def run(ctx: TransformContext, query: str, tables: Mapping[str, Any]) -> Any:
    """Run ``query`` with ``tables`` visible by name (recorded like the node's other SQL)."""
    ctx.executed_sql.append(query)
    return ctx.engine.sql(query, dict(tables), node=ctx.node.name)


def columns(ctx: TransformContext, frame: Any) -> list[str]:
    return [name for name, _ in ctx.engine.schema(frame)]


def sql_types(ctx: TransformContext, frame: Any) -> dict[str, str]:
    """Each column's type as the engine's SQL spells it (``typeof`` on a typed null row), so a
    literal can be cast to it; works on an empty frame too."""
    q = ctx.quote
    names = columns(ctx, frame)
    if not names:
        return {}
    probes = ", ".join(f"typeof(t.{q(c)}) AS {q(c)}" for c in names)
    query = f"SELECT {probes} FROM (SELECT 1 AS one) d LEFT JOIN df t ON 1 = 0"
    row = ctx.engine.sample(run(ctx, query, {"df": frame}), 1)[0]
    return {c: str(row[c]) for c in names}


def is_text(sql_type: str) -> bool:
    kind = sql_type.lower()
    return kind == "string" or kind.startswith("varchar")


def check_columns(
    ctx: TransformContext, pattern: str, wanted: list[str], have: list[str], where: str
) -> None:
    import difflib

    missing = [c for c in dict.fromkeys(wanted) if c and c not in have]
    if not missing:
        return
    message = f"column(s) {', '.join(repr(c) for c in missing)} not in {where}"
    match = difflib.get_close_matches(missing[0], have, n=1, cutoff=0.6)
    if len(missing) == 1 and match:
        message += f" (did you mean '{match[0]}'?)"
    raise fail(ctx, pattern, message + f"; columns: {', '.join(have) or 'none'}")


def now_sql() -> str:
    """The load time, as a timestamp both engines store the same way."""
    return "CAST(CURRENT_TIMESTAMP AS TIMESTAMP)"


def audit_items(ctx: TransformContext, audit: Audit, literal: Any) -> dict[str, str]:
    """Column → SQL expression of the audit columns ``audit`` asks for."""
    items: dict[str, str] = {}
    if audit.load_timestamp:
        items["load_timestamp"] = now_sql()
    if audit.source_system:
        items["source_system"] = literal(audit.source_system)
    return items


def with_audit(ctx: TransformContext, frame: Any, audit: Audit) -> Any:
    """``frame`` with its audit columns set (replaced where it has them), in its order."""
    from odibi_core.transforms._sql import _literal

    items = audit_items(ctx, audit, _literal)
    if not items:
        return frame
    q = ctx.quote
    have = columns(ctx, frame)
    select = [f"{items[c]} AS {q(c)}" if c in items else q(c) for c in have]
    select += [f"{expr} AS {q(c)}" for c, expr in items.items() if c not in have]
    query = (
        f"SELECT {', '.join(select)} FROM "
        f"(SELECT *, {ctx.row_position()} AS {q(POS)} FROM df) t ORDER BY {q(POS)}"
    )
    return run(ctx, query, {"df": frame})


def with_unknown_member(
    ctx: TransformContext,
    frame: Any,
    surrogate_key: str,
    natural_key: str,
    audit: Audit,
    history: tuple[str, str, str] | None = None,
) -> Any:
    """``frame`` with Odibi's unknown member first, unless a row already has key 0: key 0, the
    natural key ``-1``, ``Unknown`` in text columns and null elsewhere; with ``history``
    (valid_from, valid_to, is_current) valid from 1900-01-01, open and current."""
    from odibi_core.transforms._sql import _literal

    q = ctx.quote
    types = sql_types(ctx, frame)
    valid_from, valid_to, current = history or ("", "", "")
    special = {
        surrogate_key: "0",
        natural_key: "'-1'",
        valid_from: f"'{UNKNOWN_FROM}'",
        "load_timestamp": now_sql(),
        "source_system": _literal(audit.source_system or "Unknown"),
    }
    sk = q(surrogate_key)
    held = run(ctx, f"SELECT COUNT(*) AS n FROM df WHERE {sk} = 0", {"df": frame})
    if int(ctx.engine.sample(held, 1)[0]["n"]):
        return frame
    items = []
    for name, kind in types.items():
        if name == current and history:
            expr = "TRUE"
        elif name in special and name and not (name == valid_to and history):
            expr = f"CAST({special[name]} AS {kind})"
        elif is_text(kind):
            expr = "'Unknown'"
        else:  # typed, so the union keeps the column's type on every engine
            expr = f"CAST(NULL AS {kind})"
        items.append(f"{expr} AS {q(name)}")
    names = ", ".join(q(c) for c in types)
    query = (
        f"SELECT {names} FROM ("
        f"SELECT {', '.join(items)}, 0 AS {q(GRP)}, 0 AS {q(POS)} "
        f"UNION ALL SELECT {names}, 1 AS {q(GRP)}, {ctx.row_position()} AS {q(POS)} FROM df"
        f") u ORDER BY {q(GRP)}, {q(POS)}"
    )
    return run(ctx, query, {"df": frame})
