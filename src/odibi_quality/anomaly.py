"""Anomaly assertions: checks whose bounds are learned from the node's own past runs.

``{type: anomaly, metric: row_count}`` compares this run's row count (or DQ score, a column's
null share, its mean, or the age of its newest value) with the same metric in the node's
earlier runs, read from the System Catalog (:mod:`odibi_quality.history`).

The method, robust to the odd bad day in the history:

* the baseline is the metric in the last ``lookback`` runs; with ``seasonality: weekday``
  (default) only runs on the same UTC weekday as this one, when there are at least
  ``min_history`` of them, else runs of any day;
* centre = median, spread = 1.4826 * MAD (the median absolute deviation, scaled so that it
  estimates the standard deviation of normal data), at least 1% of the median and a small
  floor per metric, so a perfectly steady history does not flag every change;
* expected range = centre +/- ``sensitivity`` * spread, one-sided where only one side is bad
  (``direction``; freshness flags only staler data, the DQ score only a lower one);
* with fewer than ``min_history`` earlier runs it does not judge: it passes, says so, and
  records the value for later runs.

The learned bounds become an ordinary GX expectation (so suites, results and Data Docs show
them); the verdict is explained in ``meta_quality.message`` and the story, e.g. "expected
9.6k-10.4k rows from the last 28 runs, got 4.1k" (with an en dash).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from odibi_quality.history import Point
from odibi_quality.measures import Measured, Part, instant, newest_part, number, table_part, within
from odibi_quality.results import FAILED, PASSED
from odibi_quality.types import AssertionType, CheckContext

if TYPE_CHECKING:
    from odibi_quality.results import AssertionResult
    from odibi_quality.rules import Dialect

Metric = Literal["row_count", "dq_score", "null_share", "freshness", "mean"]
Direction = Literal["both", "low", "high"]

#: Metrics measured on a column.
COLUMN_METRICS = {"null_share", "freshness", "mean"}
#: Metrics whose history is ``meta_runs`` (the rest: this assertion's own ``meta_quality`` rows).
RUN_METRICS = {"row_count", "dq_score"}
#: Only one side is an anomaly unless ``direction`` says otherwise.
DEFAULT_DIRECTION: dict[str, Direction] = {"freshness": "high", "dq_score": "low"}
#: Smallest spread per metric (rows, share 0..1, score points, seconds).
FLOOR = {"row_count": 1.0, "null_share": 0.005, "dq_score": 0.5, "freshness": 60.0, "mean": 0.0}
#: Values a metric cannot leave.
DOMAIN = {
    "row_count": (0.0, math.inf),
    "null_share": (0.0, 1.0),
    "dq_score": (0.0, 100.0),
    "freshness": (0.0, math.inf),
    "mean": (-math.inf, math.inf),
}
#: The GX expectation each column metric becomes: with the column, the key of its history in
#: ``meta_quality`` (so two anomaly checks of the same metric and column share it, and a
#: renamed check keeps it).
EXPECTATION = {
    "null_share": "expect_column_proportion_of_non_null_values_to_be_between",
    "freshness": "expect_column_max_to_be_between",
    "mean": "expect_column_mean_to_be_between",
}
MAD_TO_SIGMA = 1.4826
WEEKDAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]


@dataclass
class Baseline:
    """What the history says: the points used and the expected range (None: not judged)."""

    points: list[Point]
    #: "the last 28 runs" or "the last 8 runs on Mondays".
    described: str
    low: float | None = None
    high: float | None = None
    median: float | None = None
    #: Why it does not judge (too little history).
    not_judged: str | None = None


class AnomalyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Metric
    column: str | None = None
    #: Earlier runs in the baseline (the newest ones).
    lookback: int = Field(28, ge=3, le=1000)
    #: How many spreads from the median a value may be.
    sensitivity: float = Field(3.0, gt=0)
    #: Earlier runs needed before it judges (default: 7, or ``lookback`` if smaller).
    min_history: int | None = Field(None, ge=3)
    seasonality: Literal["weekday", "none"] = "weekday"
    direction: Direction | None = None

    _baseline: Baseline | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self) -> AnomalyParams:
        if self.metric in COLUMN_METRICS and not self.column:
            raise ValueError(f"metric '{self.metric}' needs a 'column'")
        if self.metric not in COLUMN_METRICS and self.column:
            raise ValueError(f"metric '{self.metric}' takes no 'column'")
        if self.min_history is not None and self.min_history > self.lookback:
            raise ValueError(
                f"min_history ({self.min_history}) is above lookback ({self.lookback})"
            )
        return self

    @property
    def needed(self) -> int:
        return self.min_history if self.min_history is not None else min(7, self.lookback)

    @property
    def sides(self) -> Direction:
        return self.direction or DEFAULT_DIRECTION.get(self.metric, "both")


def learn(params: AnomalyParams, history: list[Point], now: datetime) -> Baseline:
    """The expected range of the metric from ``history`` (newest first)."""
    chosen = history[: params.lookback]
    described = f"the last {len(chosen)} run{'s' if len(chosen) != 1 else ''}"
    if params.seasonality == "weekday":
        same = [p for p in history if p.timestamp.weekday() == now.weekday()][: params.lookback]
        if len(same) >= params.needed:
            chosen = same
            described = f"the last {len(same)} runs on {WEEKDAYS[now.weekday()]}"
    if len(chosen) < params.needed:
        found = f"{len(history)} earlier run{'s' if len(history) != 1 else ''}"
        return Baseline(chosen, described, not_judged=f"{found}, {params.needed} needed to judge")
    values = [p.value for p in chosen]
    centre = statistics.median(values)
    mad = statistics.median(abs(v - centre) for v in values)
    spread = max(MAD_TO_SIGMA * mad, 0.01 * abs(centre), FLOOR[params.metric])
    lowest, highest = DOMAIN[params.metric]
    low = max(lowest, centre - params.sensitivity * spread)
    high = min(highest, centre + params.sensitivity * spread)
    if params.metric == "row_count":  # whole rows
        low, high = float(math.ceil(low)), float(math.floor(high))
    return Baseline(
        chosen,
        described,
        low=low if params.sides in ("both", "low") else None,
        high=high if params.sides in ("both", "high") else None,
        median=centre,
    )


def judge(value: float, baseline: Baseline) -> bool:
    """Whether ``value`` is inside the expected range (always, when not judged)."""
    if baseline.not_judged is not None:
        return True
    if baseline.low is not None and value < baseline.low:
        return False
    return not (baseline.high is not None and value > baseline.high)


def explain(params: AnomalyParams, value: float | None, baseline: Baseline) -> str:
    """One line for the story and ``meta_quality.message``."""
    got = "nothing to measure" if value is None else _fmt(params.metric, value)
    if baseline.not_judged is not None:
        return f"not judged yet: {baseline.not_judged} (got {got})"
    if baseline.low is not None and baseline.high is not None:
        low, high = _fmt(params.metric, baseline.low), _fmt(params.metric, baseline.high)
        expected = f"{low}\u2013{high}"
    elif baseline.low is not None:
        expected = f"at least {_fmt(params.metric, baseline.low)}"
    else:
        expected = f"at most {_fmt(params.metric, baseline.high or 0.0)}"
    what = _PHRASE[params.metric].format(expected, col=params.column)
    return f"expected {what} from {baseline.described}, got {got}"


_PHRASE = {
    "row_count": "{} rows",
    "dq_score": "a DQ score of {}",
    "null_share": "{} nulls in {col}",
    "mean": "a mean {col} of {}",
    "freshness": "the newest {col} {} old",
}


def _fmt(metric: str, value: float) -> str:
    if metric == "row_count":
        return _short(value)
    if metric == "null_share":
        return f"{100 * value:.1f}%"
    if metric == "dq_score":
        return f"{value:.1f}"
    if metric == "freshness":
        return _age(value)
    return f"{value:.4g}"


def _short(value: float) -> str:
    """4100 → 4.1k, 1250000 → 1.25M; small counts as they are."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


def _age(seconds: float) -> str:
    for size, suffix in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.3g}{suffix}"
    return f"{seconds:.0f}s"


# ---------------------------------------------------------------- the assertion type


def _history(params: AnomalyParams, ctx: CheckContext) -> list[Point]:
    from odibi_quality import history

    if ctx.catalog is None:
        return []
    weekday = ctx.now.weekday() if params.seasonality == "weekday" else None
    if params.metric in RUN_METRICS:
        return history.run_metric(
            ctx.catalog, ctx.pipeline, ctx.node, params.metric, ctx.now, params.lookback, weekday
        )
    return history.assertion_values(
        ctx.catalog,
        ctx.pipeline,
        ctx.node,
        {"columns": params.column, "expectation_type": EXPECTATION[params.metric]},
        ctx.now,
        params.lookback,
        weekday,
    )


def _measure(params: AnomalyParams, d: Dialect, ctx: CheckContext) -> list[Part]:
    """The metric measured in SQL, against the bounds learned from the history."""
    baseline = learn(params, _history(params, ctx), ctx.now)
    params._baseline = baseline
    low, high = (None, None) if baseline.not_judged else (baseline.low, baseline.high)
    col = d.quote(params.column) if params.column else ""
    if params.metric == "row_count":
        return [
            table_part(
                "expect_table_row_count_to_be_between",
                {"n": "COUNT(*)"},
                lambda v: Measured(within(v["n"], low, high), observed_value=int(v["n"])),
                {"min_value": low, "max_value": high},
            )
        ]
    if params.metric == "mean":
        return [
            table_part(
                EXPECTATION["mean"],
                {"value": f"AVG({col})"},
                lambda v: Measured(
                    within(number(v["value"]), low, high), observed_value=number(v["value"])
                ),
                {"column": params.column, "min_value": low, "max_value": high},
            )
        ]
    if params.metric == "null_share":  # GX's expectation measures the share of values present

        def present(v: dict[str, Any]) -> Measured:
            share = int(v["values"]) / int(v["n"]) if v["n"] else None
            return Measured(
                within(share, None if high is None else 1 - high, None if low is None else 1 - low),
                observed_value=share,
            )

        return [
            table_part(
                EXPECTATION["null_share"],
                {"n": "COUNT(*)", "values": f"COUNT({col})"},
                present,
                {"column": params.column},
            )
        ]
    if params.metric == "freshness":
        oldest = None if high is None else ctx.now - timedelta(seconds=high)
        return [newest_part(d, params.column or "", oldest)]
    return []


def _conclude(
    result: AssertionResult,
    params: AnomalyParams,
    ctx: CheckContext,
    results: list[AssertionResult],
) -> AssertionResult:
    """This run's value of the metric, the verdict against the baseline, and why."""
    baseline = params._baseline
    if baseline is None or result.status not in (PASSED, FAILED):
        return result  # it could not run: GX's error stands
    value = _value(params, result, ctx, results)
    ok = value is not None and judge(value, baseline)
    if value is None and baseline.not_judged is not None:
        ok = True
    result.status = PASSED if ok else FAILED
    result.element_count, result.violation_count = 1, 0 if ok else 1
    result.observed_value = (
        int(value) if value is not None and params.metric == "row_count" else value
    )
    result.message = explain(params, value, baseline)
    return result


def _value(
    params: AnomalyParams, result: AssertionResult, ctx: CheckContext, results: list[Any]
) -> float | None:
    observed = result.observed_value
    if params.metric == "dq_score":
        # The node's score as meta_runs will store it if this check passes, so it compares
        # like with like with the scores of earlier runs.
        return 100.0 * sum(1.0 if r is result else r.score for r in results) / len(results)
    if observed is None:
        return None
    if params.metric == "null_share":
        return 1.0 - float(observed)
    if params.metric == "freshness":
        moment = instant(observed)
        return None if moment is None else max(0.0, (ctx.now - moment).total_seconds())
    return float(observed)


anomaly = AssertionType(
    "anomaly",
    AnomalyParams,
    None,
    lambda p: [p.column] if p.column else [],
    table_level=True,
    description="a metric (row_count, dq_score, null_share, freshness, mean) within the "
    "range learned from the node's past runs",
    conclude=_conclude,
    measure=_measure,
)

TYPES = [anomaly]
