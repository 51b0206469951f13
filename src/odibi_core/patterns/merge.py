"""The ``merge`` pattern: Odibi's merge into a target by key, written by the pattern itself.

``upsert`` updates the target's rows whose keys the batch has (in place) and appends the others;
``append_only`` appends only rows whose keys the target lacks; ``delete_match`` deletes the
target's rows whose keys the batch has. With ``audit_cols``, ``created_col`` is the load time
when a row is inserted and kept on update, ``updated_col`` the load time of its last change.
``update_condition``, ``insert_condition`` and ``delete_condition`` are SQL over ``source.``
(the batch) and ``target.`` columns, as in a Delta MERGE: a matched row is deleted where
``delete_condition`` holds, else updated where ``update_condition`` holds; a new row is inserted
where ``insert_condition`` holds.

The target is read back through the IO layer (so any connection works). A Delta target takes a
MERGE of only the rows that change (when nothing is deleted); other targets are rewritten whole.
Then, on Delta, ``optimize_write``/``zorder_by`` compact it and ``vacuum_hours`` vacuums it;
on Spark ``register_table`` names it in the metastore. The node's output is its input, as in
Odibi.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from odibi_core.io import modes
from odibi_core.patterns._shared import (
    GRP,
    POS,
    PatternParams,
    check_columns,
    columns,
    fail,
    input_columns,
    now_sql,
    run,
    spark_only,
)
from odibi_core.patterns._target import (
    merge_target,
    optimize,
    pattern_target,
    read_target,
    register_table,
    vacuum,
    write_target,
)
from odibi_core.transforms.registry import TransformContext, transform

#: Odibi's merge keys that need Delta features deltalake does not offer.
_UNSUPPORTED = {
    "cluster_by": "liquid clustering is not supported; zorder_by orders a Delta table's files",
    "table_properties": "Delta table properties are not supported on the pattern's write",
}


class MergeAudit(PatternParams):
    created_col: str | None = None
    updated_col: str | None = None


class MergeParams(PatternParams):
    target: str | None = None
    connection: str | None = None
    path: str | None = None
    keys: list[str] = Field(min_length=1)
    strategy: Literal["upsert", "append_only", "delete_match"] = "upsert"
    audit_cols: MergeAudit | None = None
    update_condition: str | None = None
    insert_condition: str | None = None
    delete_condition: str | None = None
    optimize_write: bool = False
    zorder_by: list[str] | None = None
    vacuum_hours: int | None = Field(None, ge=0)
    register_table: str | None = None
    cluster_by: Any = None
    table_properties: Any = None

    lists = ("keys", "zorder_by")

    @field_validator("register_table")
    @classmethod
    def _spark_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        return spark_only(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> MergeParams:
        if self.target and (self.connection or self.path):
            raise ValueError("give either 'target' or 'connection' + 'path', not both")
        if bool(self.connection) != bool(self.path):
            raise ValueError("'connection' and 'path' go together")
        for key, why in _UNSUPPORTED.items():
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: {why}")
        if self.strategy == "delete_match" and self.audit_cols:
            raise ValueError("audit_cols are not used with strategy 'delete_match'")
        if self.strategy != "upsert" and self.update_condition:
            raise ValueError(
                f"update_condition applies to strategy 'upsert', not {self.strategy!r}"
            )
        if self.strategy == "delete_match" and self.insert_condition:
            raise ValueError("insert_condition does not apply to strategy 'delete_match'")
        if self.strategy == "append_only" and self.delete_condition:
            raise ValueError("delete_condition does not apply to strategy 'append_only'")
        return self


@transform("merge", params=MergeParams)
def merge(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Merge the rows into a target by key (upsert, append_only, delete_match)."""
    p = MergeParams.model_construct(**params)
    have = input_columns(ctx, "merge", df)
    check_columns(ctx, "merge", p.keys, have, "the input")
    where = pattern_target(ctx, "merge", p.target, p.connection, p.path)
    if where is None:
        raise fail(ctx, "merge", "needs 'target' (connection.path) or 'connection' + 'path'")
    delta = where[2] == "delta"
    after = [k for k in ("optimize_write", "zorder_by", "vacuum_hours") if getattr(p, k)]
    if after and not delta:
        raise fail(ctx, "merge", f"{after[0]} applies to Delta tables; '{where[1]}' is {where[2]}")
    if p.register_table and ctx.engine.name != "spark":
        raise fail(ctx, "merge", f"register_table needs engine: spark (not {ctx.engine.name})")
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
        where_insert = f" WHERE {p.insert_condition}" if p.insert_condition else ""
        first = run(ctx, f"SELECT {', '.join(items)} FROM df source{where_insert}", {"df": df})
        write_target(ctx, first, where)
    else:
        target_cols = columns(ctx, existing)
        check_columns(ctx, "merge", p.keys, target_cols, "the target")
        merge = _Merge(ctx, existing, target_cols, df, incoming, p, audit)
        deletes = p.strategy == "delete_match" or bool(p.delete_condition)
        # A MERGE writes only what changes; deletes (and other formats) rewrite the table.
        if not (delta and not deletes and merge_target(ctx, merge.rows(True), where, p.keys)):
            write_target(ctx, merge.rows(False), where)
    if p.optimize_write or p.zorder_by:
        optimize(ctx, where, p.zorder_by)
    if p.vacuum_hours is not None:
        vacuum(ctx, where, p.vacuum_hours)
    if p.register_table:
        register_table(ctx, where, p.register_table, "merge")
    return df


class _Merge:
    """The SQL of one merge: ``target`` (the table's rows) and ``source`` (the batch's)."""

    def __init__(
        self,
        ctx: TransformContext,
        existing: Any,
        target_cols: list[str],
        df: Any,
        incoming: list[str],
        p: MergeParams,
        audit: MergeAudit,
    ) -> None:
        self.ctx, self.existing, self.df, self.p = ctx, existing, df, p
        self.target_cols, self.incoming, self.audit = target_cols, incoming, audit
        extra = [*incoming, audit.created_col, audit.updated_col]
        self.out = target_cols + [c for c in extra if c and c not in target_cols]

    def rows(self, only_changes: bool) -> Any:
        """The target's rows after the merge; with ``only_changes``, just the rows a MERGE
        inserts or updates (no deletes)."""
        p, q = self.p, self.ctx.quote
        match = modes.key_match(p.keys, q, "target", "source")
        deleting = p.delete_condition if p.strategy == "upsert" else None
        if p.strategy == "delete_match":
            gone = f"({p.delete_condition})" if p.delete_condition else "TRUE"
            kept = (
                f"SELECT {self._pick()}, 0 AS {q(GRP)}, target.{q(POS)} FROM target "
                f"WHERE NOT EXISTS (SELECT 1 FROM source WHERE {match} AND {gone})"
            )
            return self._union([kept])
        if p.strategy == "append_only":
            parts = [] if only_changes else [self._kept_as_is()]
        else:
            parts = [self._updated(only_changes, deleting)]
        inserted = f"NOT EXISTS (SELECT 1 FROM target WHERE {match})"
        if p.insert_condition:
            inserted += f" AND ({p.insert_condition})"
        added = [self._new_value(c) for c in self.out]
        parts.append(
            f"SELECT {', '.join(added)}, 1 AS {q(GRP)}, source.{q(POS)} FROM source "
            f"WHERE {inserted}"
        )
        return self._union(parts)

    def _kept_as_is(self) -> str:
        q = self.ctx.quote
        return f"SELECT {self._pick()}, 0 AS {q(GRP)}, target.{q(POS)} FROM target"

    def _updated(self, only_changes: bool, deleting: str | None) -> str:
        """The target's rows, matched ones taking the batch's values where they stand."""
        q, p = self.ctx.quote, self.p
        update = f"source.{q(POS)} IS NOT NULL"
        if p.update_condition:
            update += f" AND ({p.update_condition})"
        items = []
        for c in self.out:
            old = f"target.{q(c)}" if c in self.target_cols else "NULL"
            if c == self.audit.updated_col:
                new = now_sql()
            elif c in self.incoming and c != self.audit.created_col:
                new = f"source.{q(c)}"
            else:
                new = old
            items.append(f"CASE WHEN {update} THEN {new} ELSE {old} END AS {q(c)}")
        where = []
        if deleting:
            where.append(f"NOT (source.{q(POS)} IS NOT NULL AND ({deleting}))")
        if only_changes:
            where.append(update)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return (
            f"SELECT {', '.join(items)}, 0 AS {q(GRP)}, target.{q(POS)} FROM target "
            f"LEFT JOIN source ON {modes.key_match(p.keys, q, 'target', 'source')}{clause}"
        )

    def _new_value(self, c: str) -> str:
        q = self.ctx.quote
        if c in (self.audit.created_col, self.audit.updated_col):
            return f"{now_sql()} AS {q(c)}"
        if c in self.incoming:
            return f"source.{q(c)}"
        return f"NULL AS {q(c)}"

    def _pick(self) -> str:
        q = self.ctx.quote
        return ", ".join(
            f"target.{q(c)}" if c in self.target_cols else f"NULL AS {q(c)}" for c in self.out
        )

    def _union(self, parts: list[str]) -> Any:
        ctx, q = self.ctx, self.ctx.quote
        query = (
            f"WITH target AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM existing), "
            f"source AS (SELECT *, {ctx.row_position()} AS {q(POS)} FROM batch) "
            f"SELECT {', '.join(q(c) for c in self.out)} FROM ({' UNION ALL '.join(parts)}) u "
            f"ORDER BY {q(GRP)}, {q(POS)}"
        )
        return run(ctx, query, {"existing": self.existing, "batch": self.df})
