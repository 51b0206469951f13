"""Assertions measured in SQL through the node's engine, as GX would judge them.

A type's ``measure`` returns one :class:`Part` per GX expectation it stands for: the aggregates
the expectation needs over the node's frame and a ``judge`` that turns their values into what
GX's result would say (success, counts, observed value). Every part of a node is computed by
one query over the frame with the row rules' flags (:class:`odibi_quality.rules.RowRules`), so
a check costs a scan of the frame, not an import of GX; failing examples of row checks are a
small query each.

The semantics follow the GX expectations each type renders as (Data Docs, ``expectation_type``):
a column map check counts its failing values among the rows it applies to, ``mostly`` is a
share of those rows, and a check with no value to look at passes (the caller turns that into a
warning, as before).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from odibi_quality.rules import Dialect

#: Stands for the assertion's own row-rule flag column in a part's aggregates.
FAILS = "{fails}"
#: Failing values kept per row expectation (GX's ``partial_unexpected_count`` before).
EXAMPLES = 5


@dataclass(frozen=True)
class Measured:
    """What one expectation found (the fields of GX's result that Odibi keeps)."""

    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    observed_value: Any = None
    #: Values the assertion's columns hold, 0 when it had nothing to look at.
    present: int | None = None


@dataclass
class Part:
    """One expectation of an assertion, said in SQL."""

    expectation_type: str
    #: ``{name: SQL aggregate}`` over the flagged frame (``FAILS`` is the assertion's flag).
    aggregates: dict[str, str]
    #: A table expectation: the aggregates' values → what GX would report. None for a row
    #: expectation, which :func:`judge_rows` judges.
    judge: Callable[[dict[str, Any]], Measured] | None = None
    #: A row expectation: the SQL of the value shown for a failing row and the predicate that
    #: picks the failing rows; examples are fetched only when some row failed.
    examples: tuple[str, str] | None = None
    #: A row expectation: the share of its rows that must pass (an assertion's own ``mostly``
    #: replaces it, as it replaced a GX expectation's).
    mostly: float | None = None
    #: The GX expectation's kwargs (what Data Docs show), without importing GX.
    kwargs: dict[str, Any] = field(default_factory=dict)


def row_part(
    expectation_type: str,
    d: Dialect,
    failing: str,
    column: str | None,
    *,
    among: str | None = None,
    shown: str | None = None,
    mostly: float | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Part:
    """A column map expectation: ``failing`` (SQL, or ``FAILS``) true for a failing row,
    counted among the rows where ``among`` holds (all rows when None); ``column``'s values
    (all rows when None) are what it had to look at."""
    aggregates = {
        "n": "COUNT(*)",
        "bad": f"SUM(CASE WHEN COALESCE(({failing}), FALSE) THEN 1 ELSE 0 END)",
        "base": "COUNT(*)" if among is None else f"SUM(CASE WHEN {among} THEN 1 ELSE 0 END)",
        "present": "",
    }
    aggregates["present"] = (
        f"COUNT({d.quote(column)})" if column is not None else aggregates["base"]
    )
    show = shown if shown is not None else (d.quote(column) if column is not None else "NULL")
    return Part(expectation_type, aggregates, None, (show, failing), mostly, dict(kwargs or {}))


def judge_rows(part: Part, values: dict[str, Any]) -> Measured:
    """GX's verdict on a column map expectation: ``mostly`` of its rows pass (all of them
    without it); with no row to look at it passes."""
    bad, base = int(values["bad"] or 0), int(values["base"] or 0)
    needed = 1.0 if part.mostly is None else part.mostly
    ok = base == 0 or (base - bad) / base >= needed
    return Measured(ok, int(values["n"] or 0), bad, present=int(values["present"] or 0))


def table_part(
    expectation_type: str,
    aggregates: dict[str, str],
    judge: Callable[[dict[str, Any]], Measured],
    kwargs: dict[str, Any] | None = None,
) -> Part:
    return Part(expectation_type, aggregates, judge, kwargs=dict(kwargs or {}))


def newest_part(d: Dialect, column: str, oldest: datetime | None) -> Part:
    """The newest value of ``column`` is at ``oldest`` or later (None: anything goes). Text
    is read as ISO times, times without a zone as UTC."""

    def judge(v: dict[str, Any]) -> Measured:
        newest = instant(v["newest"])
        ok = newest is not None and (oldest is None or newest >= oldest)
        return Measured(ok, observed_value=plain(v["newest"]))

    return table_part(
        "expect_column_max_to_be_between",
        {"newest": f"MAX({d.quote(column)})"},
        judge,
        {"column": column, "min_value": None if oldest is None else str(oldest)},
    )


def within(
    value: Any, low: Any, high: Any, strict_low: bool = False, strict_high: bool = False
) -> bool:
    """GX's ``*_to_be_between``: a missing value is never within."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if low is not None and (value <= low if strict_low else value < low):
        return False
    return not (high is not None and (value >= high if strict_high else value > high))


def plain(value: Any) -> Any:
    """A value from the engine (via Arrow) as JSON keeps it: numbers as numbers, times and
    anything else as text (as GX's results printed them)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def number(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return None if math.isnan(out) else out


def instant(value: Any) -> datetime | None:
    """A time column's value as an aware UTC instant; naive times are read as UTC (pandas',
    polars' and DuckDB's timestamps without a zone, Spark's ``timestamp_ntz``); a date is its
    midnight; ISO text is parsed. None when it is none of those."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return instant(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None
