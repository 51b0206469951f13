"""The ``scd2`` pattern: Odibi's SCD type 2 transformer. It reads the existing history
(``target``, or ``connection`` + ``path``, or the node's own write target) and returns the
full history after this load; with no ``write`` block it writes the history itself, as Odibi's
does.

Writing itself into a Delta table, it MERGEs only the versions this load closes or opens
(``use_delta_merge``, the default; other formats are rewritten whole), may then vacuum files
older than ``vacuum_hours``, and on Spark registers the table in the metastore
(``register_table``).
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator

from odibi_core.patterns._shared import (
    PatternParams,
    check_columns,
    columns,
    fail,
    input_columns,
    spark_only,
)
from odibi_core.patterns._target import (
    merge_target,
    pattern_target,
    read_target,
    register_table,
    vacuum,
    write_target,
)
from odibi_core.patterns.history import HistorySpec, build_history
from odibi_core.transforms.registry import TransformContext, transform


class Scd2Params(PatternParams):
    keys: list[str] = Field(min_length=1)
    track_cols: list[str] = Field(min_length=1)
    # The second spelling of each is the one Odibi's ``pattern: {type: scd2}`` documents.
    effective_time_col: str | None = Field(
        None, validation_alias=AliasChoices("effective_time_col", "time_col")
    )
    target: str | None = None
    connection: str | None = None
    path: str | None = None
    start_time_col: str = Field(
        "valid_from", validation_alias=AliasChoices("start_time_col", "valid_from_col")
    )
    end_time_col: str = Field(
        "valid_to", validation_alias=AliasChoices("end_time_col", "valid_to_col")
    )
    current_flag_col: str = Field(
        "is_current", validation_alias=AliasChoices("current_flag_col", "is_current_col")
    )
    delete_col: str | None = None
    use_delta_merge: bool = True
    register_table: str | None = None
    vacuum_hours: int | None = Field(None, ge=0)

    lists = ("keys", "track_cols")

    @field_validator("register_table")
    @classmethod
    def _spark_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        return spark_only(value, info)

    @model_validator(mode="after")
    def _one_target(self) -> Scd2Params:
        if self.target and (self.connection or self.path):
            raise ValueError("give either 'target' or 'connection' + 'path', not both")
        if bool(self.connection) != bool(self.path):
            raise ValueError("'connection' and 'path' go together")
        return self


@transform("scd2", params=Scd2Params)
def scd2(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """SCD type 2 history: close changed versions, open new ones, keep the rest."""
    p = Scd2Params.model_construct(**params)
    have = input_columns(ctx, "scd2", df)
    optional = [c for c in (p.effective_time_col, p.delete_col) if c]
    wanted = [*p.keys, *p.track_cols, *optional]
    check_columns(ctx, "scd2", wanted, have, "the input")
    where = pattern_target(ctx, "scd2", p.target, p.connection, p.path)
    if where is None:
        raise fail(ctx, "scd2", "needs 'target' (or connection + path) or a write block")
    existing = read_target(ctx, where)
    existing_cols = columns(ctx, existing) if existing is not None else []
    if existing is not None:
        check_columns(ctx, "scd2", [*p.keys, p.current_flag_col], existing_cols, "the history")
    spec = HistorySpec(
        keys=p.keys,
        track_cols=p.track_cols,
        valid_from=p.start_time_col,
        valid_to=p.end_time_col,
        is_current=p.current_flag_col,
        effective_col=p.effective_time_col,
        delete_col=p.delete_col,
    )
    history = build_history(ctx, df, have, existing, existing_cols, spec)
    if ctx.node.write is not None:
        own = [k for k in ("register_table", "vacuum_hours") if getattr(p, k) is not None]
        if own:
            raise fail(
                ctx,
                "scd2",
                f"'{own[0]}' applies when scd2 writes its own target; this node has a write "
                "block (drop one or the other)",
            )
        return history
    if p.register_table and ctx.engine.name != "spark":
        raise fail(ctx, "scd2", f"register_table needs engine: spark (not {ctx.engine.name})")
    delta = where[2] == "delta"
    if p.vacuum_hours is not None and not delta:
        raise fail(ctx, "scd2", f"vacuum_hours applies to Delta tables; '{where[1]}' is {where[2]}")
    if delta and p.use_delta_merge and existing is not None:
        changes = build_history(ctx, df, have, existing, existing_cols, spec, only_changes=True)
        # A change at the very time of the version it replaces repeats a key: rewrite then.
        if merge_target(ctx, changes, where, [*p.keys, p.start_time_col]):
            history = read_target(ctx, where)
        else:
            write_target(ctx, history, where)
    else:
        write_target(ctx, history, where)
    if p.vacuum_hours is not None:
        vacuum(ctx, where, p.vacuum_hours)
    if p.register_table:
        register_table(ctx, where, p.register_table, "scd2")
    return history
