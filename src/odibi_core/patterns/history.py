"""SCD type 2 history as one SQL query: what the ``scd2`` pattern and ``dimension`` with
``scd_type: 2`` both build on.

A source row whose key has no current version, or whose tracked columns differ (null-safely)
from its current version, opens a new version valid from the effective time; the version it
replaces is closed at that time. Unchanged rows leave the history as it was, and keys missing
from the source stay current (a missing row is no proof of deletion). A source row flagged in
``delete_col`` closes its key's current version and opens none. The history keeps its order;
new versions follow, by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odibi_core.patterns._shared import GRP, POS, now_sql, run
from odibi_core.transforms.registry import TransformContext


@dataclass(frozen=True)
class HistorySpec:
    keys: list[str]
    track_cols: list[str]
    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"
    #: A source column giving when each change happened; None: the load time.
    effective_col: str | None = None
    #: Numbered for new versions from the history's largest key + 1, when given.
    surrogate_key: str | None = None
    #: A source column whose true value marks the key deleted: its current version closes.
    delete_col: str | None = None


def build_history(
    ctx: TransformContext,
    source: Any,
    source_cols: list[str],
    existing: Any | None,
    existing_cols: list[str],
    spec: HistorySpec,
    only_changes: bool = False,
) -> Any:
    """The full history after loading ``source`` into ``existing`` (None before the first
    load); with ``only_changes``, just the versions this load closes or opens (what a MERGE
    into the history writes)."""
    q = ctx.quote
    meta = [spec.valid_from, spec.valid_to, spec.is_current]
    data_cols = [c for c in source_cols if c not in meta and c != spec.surrogate_key]
    eff = f"s.{q(spec.effective_col)}" if spec.effective_col else now_sql()
    order_new = ", ".join(f"s.{q(k)} NULLS LAST" for k in spec.keys) + f", s.{q(POS)}"
    sk = spec.surrogate_key
    deleted = (
        f"COALESCE(CAST(s.{q(spec.delete_col)} AS BOOLEAN), FALSE)" if spec.delete_col else "FALSE"
    )

    if existing is None:
        out = data_cols + ([sk] if sk else []) + meta
        new_items = [f"s.{q(c)}" for c in data_cols]
        if sk:
            new_items.append(f"CAST(ROW_NUMBER() OVER (ORDER BY {order_new}) AS BIGINT) AS {q(sk)}")
        new_items += [
            f"CAST({eff} AS TIMESTAMP) AS {q(spec.valid_from)}",
            f"CAST(NULL AS TIMESTAMP) AS {q(spec.valid_to)}",
            f"TRUE AS {q(spec.is_current)}",
        ]
        query = (
            f"SELECT {', '.join(q(c) for c in out)} FROM (SELECT {', '.join(new_items)}, "
            f"ROW_NUMBER() OVER (ORDER BY {order_new}) AS {q(GRP)} FROM "
            f"(SELECT *, {ctx.row_position()} AS {q(POS)} FROM src) s WHERE NOT {deleted}) n "
            f"ORDER BY {q(GRP)}"
        )
        return run(ctx, query, {"src": source})

    out = existing_cols + [c for c in data_cols if c not in existing_cols]
    cur = q(spec.is_current)
    match = " AND ".join(f"e.{q(k)} = s.{q(k)}" for k in spec.keys)
    tracked = [c for c in spec.track_cols if c in existing_cols]
    changed = " OR ".join(f"e.{q(c)} IS DISTINCT FROM s.{q(c)}" for c in tracked) or "FALSE"
    # One source row per key decides; the effective time of a change closes the old version.
    changes = (
        f"SELECT e.{q(POS)} AS {q('__odibi_epos')}, {eff} AS {q('__odibi_eff')} "
        f"FROM e JOIN s ON {match} WHERE e.{cur} AND ({changed} OR {deleted})"
    )
    kept = []
    for c in out:
        if c == spec.valid_to:
            kept.append(
                f"CASE WHEN x.{q('__odibi_epos')} IS NOT NULL "
                f"THEN CAST(x.{q('__odibi_eff')} AS TIMESTAMP) ELSE e.{q(c)} END AS {q(c)}"
            )
        elif c == spec.is_current:
            kept.append(
                f"CASE WHEN x.{q('__odibi_epos')} IS NOT NULL THEN FALSE "
                f"ELSE e.{q(c)} END AS {q(c)}"
            )
        elif c in existing_cols:
            kept.append(f"e.{q(c)}")
        else:
            kept.append(f"NULL AS {q(c)}")
    opened_where = (
        f"NOT {deleted} AND (NOT EXISTS (SELECT 1 FROM e WHERE e.{cur} AND {match}) "
        f"OR EXISTS (SELECT 1 FROM e WHERE e.{cur} AND {match} AND ({changed})))"
    )
    new_items = []
    for c in out:
        if c == sk:
            new_items.append(
                f"(SELECT COALESCE(MAX(m.{q(sk)}), 0) FROM e m) + "
                f"ROW_NUMBER() OVER (ORDER BY {order_new}) AS {q(c)}"
            )
        elif c == spec.valid_from:
            new_items.append(f"CAST({eff} AS TIMESTAMP) AS {q(c)}")
        elif c == spec.valid_to:
            new_items.append(f"CAST(NULL AS TIMESTAMP) AS {q(c)}")
        elif c == spec.is_current:
            new_items.append(f"TRUE AS {q(c)}")
        elif c in data_cols:
            new_items.append(f"s.{q(c)}")
        else:
            new_items.append(f"NULL AS {q(c)}")
    names = ", ".join(q(c) for c in out)
    query = (
        f"WITH e AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM existing), "
        f"s AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM src), "
        f"x AS ({changes}) "
        f"SELECT {names} FROM ("
        f"SELECT {', '.join(kept)}, 0 AS {q(GRP)}, e.{q(POS)} AS {q(POS)} FROM e "
        f"LEFT JOIN x ON x.{q('__odibi_epos')} = e.{q(POS)} "
        + (f"WHERE x.{q('__odibi_epos')} IS NOT NULL " if only_changes else "")
        + f"UNION ALL SELECT {', '.join(new_items)}, 1 AS {q(GRP)}, "
        f"ROW_NUMBER() OVER (ORDER BY {order_new}) AS {q(POS)} FROM s WHERE {opened_where}"
        f") u ORDER BY {q(GRP)}, {q(POS)}"
    )
    return run(ctx, query, {"src": source, "existing": existing})
