"""The ``date_dimension`` pattern: a generated calendar (no input), one row per day with
Odibi's 19 columns, a fiscal calendar and an optional unknown member (``date_sk`` 0).

Days are numbered with a cross join of digit tables and every attribute is plain arithmetic,
``CASE`` and functions DuckDB and Spark SQL share, so the rows are the same on every engine.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, model_validator

from odibi_core.patterns._shared import PatternParams, run
from odibi_core.transforms.registry import TransformContext, transform

_MAX_DAYS = 100_000
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class DateDimensionParams(PatternParams):
    start_date: date
    end_date: date
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    unknown_member: bool = False

    @model_validator(mode="after")
    def _range(self) -> DateDimensionParams:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days >= _MAX_DAYS:
            raise ValueError(f"the range is longer than {_MAX_DAYS} days")
        return self


@transform("date_dimension", params=DateDimensionParams)
def date_dimension(
    ctx: TransformContext,
    df: Any,
    start_date: date,
    end_date: date,
    fiscal_year_start_month: int = 1,
    unknown_member: bool = False,
) -> Any:
    """Generate a date dimension from start_date to end_date (fiscal calendar, unknown member)."""
    days = (end_date - start_date).days + 1
    digits = "(VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9))"
    width = len(str(days - 1))
    tables = ", ".join(f"{digits} AS d{i}(n)" for i in range(width))
    number = " + ".join(f"d{i}.n * {10**i}" for i in range(width))
    start = start_date.isoformat()
    first_dow = start_date.weekday()  # 0 = Monday
    fm = fiscal_year_start_month
    fiscal_year = "y" if fm == 1 else f"CASE WHEN m >= {fm} THEN y + 1 ELSE y END"
    day_names = " ".join(f"WHEN {i + 1} THEN '{n}'" for i, n in enumerate(_DAYS))
    month_names = " ".join(f"WHEN {i + 1} THEN '{n}'" for i, n in enumerate(_MONTHS))
    base = (
        f"SELECT d, CAST(year(d) AS INT) AS y, CAST(month(d) AS INT) AS m, "
        f"CAST(dayofmonth(d) AS INT) AS dm, CAST(((k + {first_dow}) % 7) + 1 AS INT) AS dw, k "
        f"FROM (SELECT DATE '{start}' + k AS d, k FROM "
        f"(SELECT {number} AS k FROM {tables}) nums WHERE k < {days}) dates"
    )
    rows = (
        "SELECT CAST(y * 10000 + m * 100 + dm AS INT) AS date_sk, d AS full_date, "
        f"CASE dw {day_names} END AS day_of_week, dw AS day_of_week_num, "
        "dm AS day_of_month, CAST(dayofyear(d) AS INT) AS day_of_year, "
        "dw >= 6 AS is_weekend, CAST(weekofyear(d) AS INT) AS week_of_year, m AS month, "
        f"CASE m {month_names} END AS month_name, CAST(FLOOR((m - 1) / 3) + 1 AS INT) AS quarter, "
        "CASE WHEN m <= 3 THEN 'Q1' WHEN m <= 6 THEN 'Q2' WHEN m <= 9 THEN 'Q3' ELSE 'Q4' END "
        f"AS quarter_name, y AS year, CAST({fiscal_year} AS INT) AS fiscal_year, "
        f"CAST(FLOOR(((m - {fm} + 12) % 12) / 3) + 1 AS INT) AS fiscal_quarter, "
        "dm = 1 AS is_month_start, d = last_day(d) AS is_month_end, "
        "(m = 1 AND dm = 1) AS is_year_start, (m = 12 AND dm = 31) AS is_year_end, "
        f"k AS __odibi_pos FROM ({base}) b"
    )
    columns = (
        "date_sk, full_date, day_of_week, day_of_week_num, day_of_month, day_of_year, "
        "is_weekend, week_of_year, month, month_name, quarter, quarter_name, year, "
        "fiscal_year, fiscal_quarter, is_month_start, is_month_end, is_year_start, is_year_end"
    )
    if unknown_member:
        rows += (
            " UNION ALL SELECT 0, DATE '1900-01-01', 'Unknown', 0, 0, 0, FALSE, 0, 0, 'Unknown', "
            "0, 'Unknown', 0, 0, 0, FALSE, FALSE, FALSE, FALSE, -1"
        )
    return run(ctx, f"SELECT {columns} FROM ({rows}) r ORDER BY __odibi_pos", {"df": df})
