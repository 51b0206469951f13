"""The Great Expectations metric and expectation behind ``luhn``. Importing this module
registers both with GX, so it is imported only when a node uses the assertion."""

from __future__ import annotations

from typing import Any

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from odibi_luhn.checksum import is_valid


class ColumnValuesValidLuhn(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_luhn"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        # GX hands over the column with missing values already removed.
        return column.map(is_valid)


class ExpectColumnValuesToBeValidLuhn(ColumnMapExpectation):
    """Expect column values to be digit strings with a valid Luhn checksum."""

    map_metric = "column_values.valid_luhn"
    success_keys = ("mostly",)
