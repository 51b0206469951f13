"""The built-in assertion types: SPEC §4 names, plus Odibi's test names mapped onto them."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from odibi_quality.anomaly import TYPES as ANOMALY_TYPES
from odibi_quality.rules import Dialect
from odibi_quality.types import AssertionType, CheckContext


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _ours() -> Any:
    from odibi_quality import expectations

    return expectations


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
    lambda p, ctx: [_gxe().ExpectColumnValuesToNotBeNull(column=c) for c in p.columns],
    lambda p: list(p.columns),
    rule=lambda p, d: " OR ".join(f"{d.quote(c)} IS NULL" for c in p.columns),
    description="no missing values (None, NaN, NaT) in the columns",
)


def _unique_expectations(p: ColumnsParams, ctx: CheckContext) -> list[Any]:
    gxe = _gxe()
    if len(p.columns) == 1:
        return [_ours().ExpectColumnValuesToBeDistinct(column=p.columns[0])]
    return [gxe.ExpectCompoundColumnsToBeUnique(column_list=p.columns)]


def _duplicated(p: ColumnsParams, d: Dialect) -> str:
    # Every row of a duplicate group fails (GX's rule); a single column ignores nulls.
    cols = ", ".join(d.quote(c) for c in p.columns)
    repeated = f"COUNT(*) OVER (PARTITION BY {cols}) > 1"
    if len(p.columns) == 1:
        return f"{d.quote(p.columns[0])} IS NOT NULL AND {repeated}"
    return repeated


unique = AssertionType(
    "unique",
    ColumnsParams,
    _unique_expectations,
    lambda p: list(p.columns),
    rule=_duplicated,
    description="no value (or combination of values) appears twice",
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
    lambda p, ctx: [
        _ours().ExpectColumnValuesToBeInRange(column=p.column, min_value=p.min, max_value=p.max)
    ],
    lambda p: [p.column],
    rule=_outside,
    description="values within [min, max] (inclusive)",
)


class AcceptedValuesParams(_Params):
    column: str
    values: list[Any] = Field(min_length=1)


accepted_values = AssertionType(
    "accepted_values",
    AcceptedValuesParams,
    lambda p, ctx: [_ours().ExpectColumnValuesToBeInValueSet(column=p.column, value_set=p.values)],
    lambda p: [p.column],
    rule=lambda p, d: f"{d.quote(p.column)} NOT IN ({', '.join(map(d.literal, p.values))})",
    description="values from a fixed list",
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
    lambda p, ctx: [_gxe().ExpectColumnValuesToMatchRegex(column=p.column, regex=p.pattern)],
    lambda p: [p.column],
    rule=_not_matching,
    description="values match a regular expression (re.search)",
)

# ---------------------------------------------------------------- table checks


class RowCountParams(_Params):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


row_count = AssertionType(
    "row_count",
    RowCountParams,
    lambda p, ctx: [_gxe().ExpectTableRowCountToBeBetween(min_value=p.min, max_value=p.max)],
    lambda p: [],
    table_level=True,
    description="the number of rows is within [min, max]",
)


class SchemaParams(_Params):
    #: Expected columns; default: the node's declared ``columns:``.
    columns: list[str] | None = None
    #: True: exactly these columns; False: at least these.
    strict: bool = True


def _schema_expectations(p: SchemaParams, ctx: CheckContext) -> list[Any]:
    expected = p.columns if p.columns is not None else ctx.declared_columns
    if p.strict:  # the frame GX sees also carries the columns other checks derived
        expected = [*expected, *ctx.derived_columns]
    return [_gxe().ExpectTableColumnsToMatchSet(column_set=expected, exact_match=p.strict)]


schema = AssertionType(
    "schema",
    SchemaParams,
    _schema_expectations,
    lambda p: None,
    table_level=True,
    description="the frame has the expected columns",
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


def _freshness_expectations(p: FreshnessParams, ctx: CheckContext) -> list[Any]:
    bound = time_bound(p.oldest_allowed(ctx), ctx.dtypes.get(p.column, ""))
    return [_gxe().ExpectColumnMaxToBeBetween(column=p.column, min_value=bound)]


def time_bound(oldest: Any, dtype: str) -> Any:
    """The instant ``oldest`` (a UTC ``pandas.Timestamp``) as GX compares it with a column of
    type ``dtype`` (as ``CheckContext.dtypes`` names it)."""
    if dtype == "timestamp":  # Spark hands GX its instants as naive local times
        bound: Any = oldest.tz_convert("UTC").to_pydatetime().astimezone().replace(tzinfo=None)
    elif dtype == "timestamp_ntz":  # wall times, read as UTC like pandas' naive ones
        bound = oldest.tz_convert("UTC").tz_localize(None).to_pydatetime()
    elif dtype == "date":
        bound = oldest.tz_convert("UTC").date()
    elif dtype.startswith("datetime64") and "," not in dtype:
        bound = oldest.tz_convert("UTC").tz_localize(None)  # naive times are read as UTC
    elif dtype.startswith("datetime64"):
        bound = oldest
    else:
        bound = oldest.strftime("%Y-%m-%d %H:%M:%S")  # ISO text compares in time order
    return bound


freshness = AssertionType(
    "freshness",
    FreshnessParams,
    _freshness_expectations,
    lambda p: [p.column],
    table_level=True,
    description="the newest value of a time column is recent enough",
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


def _distribution_expectations(p: DistributionParams, ctx: CheckContext) -> list[Any]:
    gxe = _gxe()
    low, high, strict = p.bounds()
    if p.metric == "null_percentage":
        # "null_percentage < 5" means at least 95% of values are present.
        share = (high if high is not None else 100.0) / 100.0
        return [gxe.ExpectColumnValuesToNotBeNull(column=p.column, mostly=max(1e-9, 1 - share))]
    cls = {
        "mean": gxe.ExpectColumnMeanToBeBetween,
        "min": gxe.ExpectColumnMinToBeBetween,
        "max": gxe.ExpectColumnMaxToBeBetween,
    }[p.metric]
    return [
        cls(
            column=p.column,
            min_value=low,
            max_value=high,
            strict_min=strict and low is not None,
            strict_max=strict and high is not None,
        )
    ]


distribution = AssertionType(
    "distribution",
    DistributionParams,
    _distribution_expectations,
    lambda p: [p.column],
    table_level=True,
    description="a column statistic (mean, min, max, null %) against a threshold",
)


class VolumeDropParams(_Params):
    threshold: float = Field(0.5, gt=0, le=1)
    lookback_days: int = Field(7, ge=1)


def _volume_expectations(p: VolumeDropParams, ctx: CheckContext) -> list[Any]:
    history = ctx.history(p.lookback_days)
    # Odibi fails when (count - avg) / avg < -threshold: the count must reach avg * (1 - t).
    minimum = math.ceil(sum(history) / len(history) * (1 - p.threshold)) if history else 0
    return [_gxe().ExpectTableRowCountToBeBetween(min_value=minimum, max_value=None)]


volume_drop = AssertionType(
    "volume_drop",
    VolumeDropParams,
    _volume_expectations,
    lambda p: [],
    table_level=True,
    description="row count did not drop by more than threshold vs. the recent average",
)


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
    lambda p, ctx: [
        _gxe().ExpectColumnValuesToBeInSet(
            column=p.column, value_set=[True], mostly=1 - p.threshold
        )
    ],
    lambda p: [p.column],
    # NULL (unknown) counts as invalid, in GX's column and in the rule alike.
    derive=lambda p, d: {p.column: f"COALESCE(({p.condition}), FALSE)"},
    rule=lambda p, d: f"NOT COALESCE(({p.condition}), FALSE)",
    description="a SQL condition holds for (nearly) every row",
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
