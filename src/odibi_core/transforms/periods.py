"""split_events_by_period: cut events spanning several days, hours or shifts into one row per
period (Odibi's name and parameters). Each row is repeated once per period it may touch (a
generator over 0..n), clipped to the period, and kept when something is left. Imported when the
CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from odibi_core.transforms import _dialect
from odibi_core.transforms._sql import (
    _LEFT,
    _POS,
    _check_columns,
    _columns,
    _fail,
    _numbered,
    _Params,
)
from odibi_core.transforms.registry import TransformContext, transform

_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class ShiftDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HH_MM.fullmatch(value.strip()):
            raise ValueError(f"'{value}' is not a time of day as HH:MM")
        return value.strip()

    def minutes(self, which: str) -> int:
        hours, minutes = getattr(self, which).split(":")
        return int(hours) * 60 + int(minutes)


class SplitEventsByPeriodParams(_Params):
    start_col: str = Field(min_length=1)
    end_col: str = Field(min_length=1)
    period: Literal["day", "hour", "shift"] = "day"
    duration_col: str | None = None
    shifts: list[ShiftDefinition] | None = None
    shift_col: str | None = "shift_name"

    @model_validator(mode="after")
    def _shifts_for_shift(self) -> SplitEventsByPeriodParams:
        if self.period == "shift" and not self.shifts:
            raise ValueError("period: shift needs 'shifts' (a list of {name, start, end})")
        return self


@transform("split_events_by_period", params=SplitEventsByPeriodParams)
def split_events_by_period(
    ctx: TransformContext,
    df: Any,
    start_col: str,
    end_col: str,
    period: str = "day",
    duration_col: str | None = None,
    shifts: list[ShiftDefinition] | None = None,
    shift_col: str | None = "shift_name",
) -> Any:
    """One row per day, hour or shift an event overlaps, its start and end clipped to it;
    ``duration_col`` gets each piece's minutes and ``shift_col`` the shift's name. Pieces of
    no length are dropped (an event of no length stays, whole); a row missing a time, or
    ending before it starts, is passed on unchanged."""
    have = _columns(ctx, df)
    _check_columns(ctx, "split_events_by_period", [start_col, end_col], have)
    q = ctx.quote
    start, end = f"CAST({q(start_col)} AS TIMESTAMP)", f"CAST({q(end_col)} AS TIMESTAMP)"
    k, piece_start, piece_end = q("__odibi_k"), q("__odibi_ps"), q("__odibi_pe")
    day0 = f"CAST(CAST({start} AS DATE) AS TIMESTAMP)"
    name_expr = None
    if period == "shift":
        assert shifts
        # A night shift that starts the evening before the event's first day counts too.
        first = _dialect.plus(ctx, day0, "-1", "day")
        days = f"datediff(CAST({end} AS DATE), CAST({start} AS DATE)) + 1"
        if not _dialect.is_spark(ctx):
            days = f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE)) + 1"
        spans = []
        for i, s in enumerate(shifts):
            length = (s.minutes("end") - s.minutes("start")) % (24 * 60) or 24 * 60
            spans.append((i, s, s.minutes("start"), length))
        last = f"({days} + 1) * {len(shifts)} - 1"
        day_of = f"CAST(floor({k} / {len(shifts)}) AS BIGINT)"
        which = f"{k} % {len(shifts)}"
        offset = "CASE " + " ".join(f"WHEN {which} = {i} THEN {m}" for i, _, m, _ in spans)
        length = "CASE " + " ".join(f"WHEN {which} = {i} THEN {n}" for i, _, _, n in spans)
        name_expr = "CASE " + " ".join(
            f"WHEN {which} = {i} THEN {_dialect.text(ctx, s.name)}" for i, s, _, _ in spans
        )
        base = _dialect.plus(
            ctx, _dialect.plus(ctx, first, day_of, "day"), f"{offset} END", "minute"
        )
        lower, upper = base, _dialect.plus(ctx, base, f"{length} END", "minute")
        name_expr += " END"
    else:
        unit = period
        floor_start = day0 if unit == "day" else f"date_trunc('hour', {start})"
        floor_end = (
            f"CAST(CAST({end} AS DATE) AS TIMESTAMP)"
            if unit == "day"
            else f"date_trunc('hour', {end})"
        )
        seconds = (
            f"({_dialect.epoch_seconds(ctx, floor_end)} - "
            f"{_dialect.epoch_seconds(ctx, floor_start)})"
        )
        last = f"{seconds} / {86400 if unit == 'day' else 3600}"
        lower = _dialect.plus(ctx, floor_start, k, unit)
        upper = _dialect.plus(ctx, floor_start, f"{k} + 1", unit)
    # A row without both times, or ending before it starts, is passed on once, unchanged.
    valid = f"({start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start})"
    last = f"CASE WHEN {valid} THEN {last} ELSE 0 END"
    clipped_start = (
        f"CASE WHEN NOT {valid} THEN {start} WHEN {start} > {lower} THEN {start} ELSE {lower} END"
    )
    clipped_end = (
        f"CASE WHEN NOT {valid} THEN {end} WHEN {end} < {upper} THEN {end} ELSE {upper} END"
    )
    keep = f"({valid} AND {piece_start} < {piece_end}) OR (NOT {valid} AND {k} = 0)"
    if period != "shift":
        keep += f" OR ({start} = {end} AND {k} = 0)"

    new = {start_col: piece_start, end_col: piece_end}
    if duration_col:
        minutes = (
            f"({_dialect.epoch_seconds(ctx, piece_end)} - "
            f"{_dialect.epoch_seconds(ctx, piece_start)})"
        )
        new[duration_col] = f"(CAST({minutes} AS DOUBLE) / 60.0)"
    if name_expr is not None:
        name = shift_col or "shift_name"
        new[name] = q("__odibi_shift")
    clash = [c for c in have if c.startswith("__odibi_")]
    if clash:
        raise _fail(ctx, "split_events_by_period", f"column '{clash[0]}' uses a reserved name")
    items = [f"{new[c]} AS {q(c)}" if c in new else q(c) for c in have]
    items += [f"{e} AS {q(n)}" for n, e in new.items() if n not in have]
    shift_item = f", CASE WHEN {valid} THEN {name_expr} END AS {q('__odibi_shift')}"
    if name_expr is None:
        shift_item = ""
    query = (
        f"WITH {q(_LEFT)} AS ({_numbered(ctx)}), "
        f"r AS (SELECT *, {_dialect.counter(ctx, last)} AS {k} FROM {q(_LEFT)}), "
        f"p AS (SELECT *, {clipped_start} AS {piece_start}, {clipped_end} AS {piece_end}"
        f"{shift_item} FROM r) "
        f"SELECT {', '.join(items)} FROM p WHERE {keep} ORDER BY {q(_POS)}, {piece_start}"
    )
    return ctx.sql(query, df)
