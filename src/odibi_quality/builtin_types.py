"""The built-in assertion types: SPEC §4 names, plus Odibi's test names mapped onto them."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from odibi_quality.anomaly import TYPES as ANOMALY_TYPES
from odibi_quality.measures import FAILS, Measured, Part, newest_part, row_part, table_part
from odibi_quality.measures import number as _number
from odibi_quality.measures import within as _within
from odibi_quality.rules import Dialect
from odibi_quality.types import AssertionType, CheckContext


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# ---------------------------------------------------------------- not_null


class ColumnsParams(_Params):
    columns: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _column_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "column" in data and "columns" not in data:
            data = {**data, "columns": data["column"]}
            data.pop("column")
        return data

    _one = field_validator("columns", mode="before")(lambda cls, v: _as_list(v))


not_null = AssertionType(
    "not_null",
    ColumnsParams,
    None,
    lambda p: list(p.columns),
    rule=lambda p, d: " OR ".join(f"{d.quote(c)} IS NULL" for c in p.columns),
    description="no missing values (None, NaN, NaT) in the columns",
    measure=lambda p, d, ctx: [
        row_part(
            "expect_column_values_to_not_be_null",
            d,
            f"{d.quote(c)} IS NULL",
            c,
            kwargs={"column": c},
        )
        for c in p.columns
    ],
)


def _duplicated(p: ColumnsParams, d: Dialect) -> str:
    # Every row of a duplicate group fails (GX's rule); a single column ignores nulls.
    cols = ", ".join(d.quote(c) for c in p.columns)
    repeated = f"COUNT(*) OVER (PARTITION BY {cols}) > 1"
    if len(p.columns) == 1:
        return f"{d.quote(p.columns[0])} IS NOT NULL AND {repeated}"
    return repeated


def _unique_measure(p: ColumnsParams, d: Dialect, ctx: CheckContext) -> list[Part]:
    if len(p.columns) == 1:
        (column,) = p.columns
        return [
            row_part(
                "expect_column_values_to_be_unique",
                d,
                FAILS,
                column,
                among=f"{d.quote(column)} IS NOT NULL",
                kwargs={"column": column},
            )
        ]
    # GX leaves out the rows where every column is missing.
    some = " OR ".join(f"{d.quote(c)} IS NOT NULL" for c in p.columns)
    return [
        row_part(
            "expect_compound_columns_to_be_unique",
            d,
            FAILS,
            None,
            among=f"({some})",
            shown=d.struct(p.columns),
            kwargs={"column_list": list(p.columns)},
        )
    ]


unique = AssertionType(
    "unique",
    ColumnsParams,
    None,
    lambda p: list(p.columns),
    rule=_duplicated,
    description="no value (or combination of values) appears twice",
    measure=_unique_measure,
)

# ---------------------------------------------------------------- single-column checks


class BetweenParams(_Params):
    # What ``odibi explain between`` shows (min, max or both).
    model_config = ConfigDict(json_schema_extra={"examples": [{"column": "amount", "min": 0}]})

    column: str
    min: Any = Field(None, validation_alias="min", alias="min")
    max: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for long, short in (("min_value", "min"), ("max_value", "max")):
                if long in data and short not in data:
                    data[short] = data.pop(long)
        return data

    @model_validator(mode="after")
    def _one_bound(self) -> BetweenParams:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        return self


def _outside(p: BetweenParams, d: Dialect) -> str:
    col = d.quote(p.column)
    parts = []
    if p.min is not None:
        parts.append(f"{col} < {d.literal(p.min)}")
    if p.max is not None:
        parts.append(f"{col} > {d.literal(p.max)}")
    return " OR ".join(parts)


between = AssertionType(
    "between",
    BetweenParams,
    None,
    lambda p: [p.column],
    rule=_outside,
    description="values within [min, max] (inclusive)",
    measure=lambda p, d, ctx: [
        row_part(
            "expect_column_values_to_be_between",
            d,
            FAILS,
            p.column,
            among=f"{d.quote(p.column)} IS NOT NULL",
            kwargs={"column": p.column, "min_value": p.min, "max_value": p.max},
        )
    ],
)


class AcceptedValuesParams(_Params):
    column: str
    values: list[Any] = Field(min_length=1)


def _not_accepted(p: AcceptedValuesParams, d: Dialect) -> str:
    column = d.quote(p.column)
    if all(isinstance(v, str) for v in p.values):  # text values: compare as text, whatever
        column = d.text(column)  # the column's type (an all-null column reads as numbers)
    return f"{column} NOT IN ({', '.join(map(d.literal, p.values))})"


accepted_values = AssertionType(
    "accepted_values",
    AcceptedValuesParams,
    None,
    lambda p: [p.column],
    rule=lambda p, d: _not_accepted(p, d),
    description="values from a fixed list",
    measure=lambda p, d, ctx: [
        row_part(
            "expect_column_values_to_be_in_set",
            d,
            FAILS,
            p.column,
            among=f"{d.quote(p.column)} IS NOT NULL",
            kwargs={"column": p.column, "value_set": list(p.values)},
        )
    ],
)


class RegexParams(_Params):
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


def _not_matching(p: RegexParams, d: Dialect) -> str:
    return f"NOT ({d.matches(d.text(d.quote(p.column)), p.pattern)})"


regex = AssertionType(
    "regex",
    RegexParams,
    None,
    lambda p: [p.column],
    rule=_not_matching,
    description="values match a regular expression (re.search)",
    measure=lambda p, d, ctx: [
        row_part(  # GX's own expectation: among the values present only
            "expect_column_values_to_match_regex",
            d,
            FAILS,
            p.column,
            among=f"{d.quote(p.column)} IS NOT NULL",
            kwargs={"column": p.column, "regex": p.pattern},
        )
    ],
)

# ---------------------------------------------------------------- table checks


class RowCountParams(_Params):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


row_count = AssertionType(
    "row_count",
    RowCountParams,
    None,
    lambda p: [],
    table_level=True,
    description="the number of rows is within [min, max]",
    measure=lambda p, d, ctx: [_row_count_part(p.min, p.max)],
)


def _row_count_part(low: int | None, high: int | None) -> Part:
    return table_part(
        "expect_table_row_count_to_be_between",
        {"n": "COUNT(*)"},
        lambda v: Measured(_within(int(v["n"]), low, high), observed_value=int(v["n"])),
        {"min_value": low, "max_value": high},
    )


class SchemaParams(_Params):
    #: Expected columns; default: the node's declared ``columns:``.
    columns: list[str] | None = None
    #: True: exactly these columns; False: at least these.
    strict: bool = True


schema = AssertionType(
    "schema",
    SchemaParams,
    None,
    lambda p: None,
    table_level=True,
    description="the frame has the expected columns",
    measure=lambda p, d, ctx: [_schema_part(p, ctx)],
)


def _schema_part(p: SchemaParams, ctx: CheckContext) -> Part:
    expected = p.columns if p.columns is not None else ctx.declared_columns
    actual = list(ctx.frame_columns)

    def judge(v: dict[str, Any]) -> Measured:
        ok = set(actual) == set(expected) if p.strict else set(expected) <= set(actual)
        return Measured(ok, observed_value=actual)

    return table_part(
        "expect_table_columns_to_match_set",
        {},
        judge,
        {"column_set": list(expected), "exact_match": p.strict},
    )


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class FreshnessParams(_Params):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"column": "updated_at", "max_age": "24h"}]}
    )

    column: str = "updated_at"
    max_age: str

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _AGE.match(value):
            raise ValueError("max_age must be a duration like 30m, 24h or 7d")
        return value

    def oldest_allowed(self, ctx: CheckContext) -> Any:
        import pandas as pd

        match = _AGE.match(self.max_age)
        assert match
        age = timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2)])
        return pd.Timestamp(ctx.now - age)


freshness = AssertionType(
    "freshness",
    FreshnessParams,
    None,
    lambda p: [p.column],
    table_level=True,
    description="the newest value of a time column is recent enough",
    measure=lambda p, d, ctx: [newest_part(d, p.column, p.oldest_allowed(ctx).to_pydatetime())],
)


class ExpectParams(_Params):
    expectation: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    def expectation_class(self) -> Any:
        name = self.expectation
        if "_" in name or name.islower():
            name = "".join(part.capitalize() for part in name.split("_"))
        cls = getattr(_gxe(), name, None)
        if cls is None:
            raise ValueError(f"Great Expectations has no expectation '{self.expectation}'")
        return cls


def _expect_columns(p: ExpectParams) -> list[str] | None:
    if "column" in p.kwargs:
        return [p.kwargs["column"]]
    if "column_list" in p.kwargs:
        return list(p.kwargs["column_list"])
    return None


expect = AssertionType(
    "expect",
    ExpectParams,
    lambda p, ctx: [p.expectation_class()(**p.kwargs)],
    _expect_columns,
    description="any Great Expectations expectation by name, with its kwargs",
)


class DistributionParams(_Params):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"column": "amount", "metric": "mean", "threshold": ">0"}]}
    )

    column: str
    metric: Literal["mean", "min", "max", "null_percentage"]
    threshold: str

    @field_validator("threshold")
    @classmethod
    def _comparison(cls, value: str) -> str:
        if not re.match(r"^\s*(>=|<=|>|<|==)\s*-?\d+(\.\d+)?\s*$", value):
            raise ValueError("threshold must look like '>100', '<=0.5' or '==3'")
        return value

    def bounds(self) -> tuple[float | None, float | None, bool]:
        match = re.match(r"^\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?)\s*$", self.threshold)
        assert match
        op, number = match.group(1), float(match.group(2))
        strict = op in (">", "<")
        if op in (">", ">="):
            return number, None, strict
        if op in ("<", "<="):
            return None, number, strict
        return number, number, False


distribution = AssertionType(
    "distribution",
    DistributionParams,
    None,
    lambda p: [p.column],
    table_level=True,
    description="a column statistic (mean, min, max, null %) against a threshold",
    measure=lambda p, d, ctx: [_distribution_part(p, d)],
)


def _distribution_part(p: DistributionParams, d: Dialect) -> Part:
    low, high, strict = p.bounds()
    col = d.quote(p.column)
    if p.metric == "null_percentage":
        share = (high if high is not None else 100.0) / 100.0
        mostly = max(1e-9, 1 - share)

        def present(v: dict[str, Any]) -> Measured:
            n, values = int(v["n"]), int(v["values"])
            return Measured(n == 0 or values / n >= mostly)

        return table_part(
            "expect_column_values_to_not_be_null",
            {"n": "COUNT(*)", "values": f"COUNT({col})"},
            present,
            {"column": p.column, "mostly": mostly},
        )
    sql = {"mean": "AVG", "min": "MIN", "max": "MAX"}[p.metric]

    def judge(v: dict[str, Any]) -> Measured:
        value = _number(v["value"])
        ok = _within(value, low, high, strict and low is not None, strict and high is not None)
        return Measured(ok, observed_value=value)

    return table_part(
        f"expect_column_{p.metric}_to_be_between",
        {"value": f"{sql}({col})"},
        judge,
        {"column": p.column, "min_value": low, "max_value": high},
    )


class VolumeDropParams(_Params):
    threshold: float = Field(0.5, gt=0, le=1)
    lookback_days: int = Field(7, ge=1)


volume_drop = AssertionType(
    "volume_drop",
    VolumeDropParams,
    None,
    lambda p: [],
    table_level=True,
    description="row count did not drop by more than threshold vs. the recent average",
    measure=lambda p, d, ctx: [_row_count_part(_volume_minimum(p, ctx), None)],
)


def _volume_minimum(p: VolumeDropParams, ctx: CheckContext) -> int:
    # Odibi fails when (count - avg) / avg < -threshold: the count must reach avg * (1 - t).
    history = ctx.history(p.lookback_days)
    return math.ceil(sum(history) / len(history) * (1 - p.threshold)) if history else 0


class CustomSqlParams(_Params):
    #: A SQL boolean expression over the frame's columns, true for valid rows.
    condition: str
    #: Share of rows allowed to fail (0..1).
    threshold: float = Field(0.0, ge=0, lt=1)

    @property
    def column(self) -> str:
        digest = hashlib.sha1(self.condition.encode()).hexdigest()[:8]
        return f"__odibi_custom_sql_{digest}"


custom_sql = AssertionType(
    "custom_sql",
    CustomSqlParams,
    None,
    lambda p: [p.column],
    # NULL (unknown) counts as invalid, in GX's column and in the rule alike.
    derive=lambda p, d: {p.column: f"COALESCE(({p.condition}), FALSE)"},
    rule=lambda p, d: f"NOT COALESCE(({p.condition}), FALSE)",
    description="a SQL condition holds for (nearly) every row",
    measure=lambda p, d, ctx: [
        row_part(  # the condition as the column GX checked: false where it does not hold
            "expect_column_values_to_be_in_set",
            d,
            FAILS,
            None,
            shown="FALSE",
            mostly=1 - p.threshold,
            kwargs={"column": p.column, "value_set": [True]},
        )
    ],
)


BUILTIN_TYPES = [
    not_null,
    unique,
    between,
    accepted_values,
    regex,
    row_count,
    schema,
    freshness,
    expect,
    distribution,
    volume_drop,
    custom_sql,
    *ANOMALY_TYPES,
]
