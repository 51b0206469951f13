"""Odibi's own GX expectations for the commonest row checks, imported only with GX.

GX's built-in column map metrics first drop the rows where the column is null, copying every
column of the frame they are given, and do it again to collect failing examples: on 1M rows
that filtering cost more than the checks. These metrics keep nulls in place and let them pass
inside the condition instead (missing values are ``not_null``'s business), so nothing is
copied. Counts are the same; ``mostly`` is then a share of all rows rather than of non-null ones.

They also remember their ``configuration``. GX rebuilds it from scratch (a pydantic ``dict()``
of every field) each time it is read, and one validation reads it hundreds of times, mostly on
short-lived copies it makes itself, each read for a single key.
"""

from __future__ import annotations

from typing import Any

from great_expectations.execution_engine import PandasExecutionEngine, SparkDFExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.metric_provider import MetricPartialFunctionTypes


class _NullsPass(ColumnMapMetricProvider):
    filter_column_isnull = False


class ColumnValuesInRange(_NullsPass):
    condition_metric_name = "odibi.column_values.in_range"
    condition_value_keys = ("min_value", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls, column: Any, min_value: Any = None, max_value: Any = None, **kwargs: Any
    ) -> Any:
        ok = column.isna()
        inside = column.notna()
        if min_value is not None:
            inside &= column >= min_value
        if max_value is not None:
            inside &= column <= max_value
        return ok | inside.fillna(False)

    @column_condition_partial(engine=SparkDFExecutionEngine)
    def _spark(
        cls, column: Any, min_value: Any = None, max_value: Any = None, **kwargs: Any
    ) -> Any:
        from pyspark.sql import functions as F

        inside = F.lit(True)
        if min_value is not None:
            inside = inside & (column >= F.lit(min_value))
        if max_value is not None:
            inside = inside & (column <= F.lit(max_value))
        return column.isNull() | F.coalesce(inside, F.lit(False))


class ColumnValuesInValueSet(_NullsPass):
    condition_metric_name = "odibi.column_values.in_value_set"
    condition_value_keys = ("value_set",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: Any, value_set: Any = (), **kwargs: Any) -> Any:
        return column.isna() | column.isin(list(value_set))

    @column_condition_partial(engine=SparkDFExecutionEngine)
    def _spark(cls, column: Any, value_set: Any = (), **kwargs: Any) -> Any:
        from pyspark.sql import functions as F

        return column.isNull() | F.coalesce(column.isin(list(value_set)), F.lit(False))


class ColumnValuesDistinct(_NullsPass):
    condition_metric_name = "odibi.column_values.distinct"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        # Every row of a duplicate group fails, as in GX's own uniqueness check.
        return column.isna() | ~column.duplicated(keep=False)

    @column_condition_partial(
        engine=SparkDFExecutionEngine,
        partial_fn_type=MetricPartialFunctionTypes.WINDOW_CONDITION_FN,
    )
    def _spark(cls, column: Any, **kwargs: Any) -> Any:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        return column.isNull() | (F.count(F.lit(1)).over(Window.partitionBy(column)) <= 1)


class _RemembersConfiguration(ColumnMapExpectation):
    """A column map expectation that builds its ``configuration`` once per instance.

    The cache lives on the instance (a slot, so pydantic neither copies nor pickles it: a copy
    made with ``copy(update=...)`` or ``deepcopy`` starts empty), and any attribute assignment
    empties it. Fields must therefore be replaced, not mutated in place, which holds for the
    expectations Odibi builds. Every read returns a new ``ExpectationConfiguration`` with its
    own ``kwargs`` and ``meta`` dicts, so a caller changing the one it got changes no other.
    """

    __slots__ = ("_odibi_configuration",)

    @property
    def configuration(self) -> ExpectationConfiguration:
        built = getattr(self, "_odibi_configuration", None)
        if built is None:
            built = super().configuration
            object.__setattr__(self, "_odibi_configuration", built)
        return ExpectationConfiguration(
            type=built.type,
            kwargs=dict(built.kwargs),
            meta=dict(built.meta),
            notes=built.notes,
            description=built.description,
            severity=built.severity,
            id=built.id,
            rendered_content=built.rendered_content,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        object.__setattr__(self, "_odibi_configuration", None)


class ExpectColumnValuesToBeInRange(_RemembersConfiguration):
    """Expect non-null column values within [min_value, max_value] (inclusive)."""

    min_value: Any = None
    max_value: Any = None
    map_metric = "odibi.column_values.in_range"
    success_keys = ("min_value", "max_value", "mostly")


class ExpectColumnValuesToBeInValueSet(_RemembersConfiguration):
    """Expect non-null column values to come from ``value_set``."""

    value_set: list[Any]
    map_metric = "odibi.column_values.in_value_set"
    success_keys = ("value_set", "mostly")


class ExpectColumnValuesToBeDistinct(_RemembersConfiguration):
    """Expect non-null column values to appear once each."""

    map_metric = "odibi.column_values.distinct"
    success_keys = ("mostly",)
