"""The ``scd2`` pattern: Odibi's SCD type 2 transformer. It reads the existing history
(``target``, or ``connection`` + ``path``, or the node's own write target) and returns the
full history after this load; with no ``write`` block it writes the history itself, as Odibi's
does."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from odibi_core.patterns._shared import (
    PatternParams,
    check_columns,
    columns,
    fail,
    read_target,
    split_target,
    write_target,
)
from odibi_core.patterns.history import HistorySpec, build_history
from odibi_core.transforms.registry import TransformContext, transform


class Scd2Params(PatternParams):
    keys: list[str] = Field(min_length=1)
    track_cols: list[str] = Field(min_length=1)
    effective_time_col: str | None = None
    target: str | None = None
    connection: str | None = None
    path: str | None = None
    start_time_col: str = "valid_from"
    end_time_col: str = "valid_to"
    current_flag_col: str = "is_current"

    @field_validator("keys", "track_cols", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

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
    if df is None:
        raise fail(ctx, "scd2", "needs input rows: give the node 'read' or 'depends_on'")
    have = columns(ctx, df)
    wanted = [*p.keys, *p.track_cols] + ([p.effective_time_col] if p.effective_time_col else [])
    check_columns(ctx, "scd2", wanted, have, "the input")
    target = f"{p.connection}.{p.path}" if p.connection else p.target
    where = split_target(ctx, target)
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
    )
    history = build_history(ctx, df, have, existing, existing_cols, spec)
    if ctx.node.write is None:
        write_target(ctx, history, where)
    return history
