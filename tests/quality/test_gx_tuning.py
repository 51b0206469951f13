"""What gx_runner changes in how GX runs (for the types only GX can check, and Data Docs): each private GX name
they rely on is pinned here, so a GX upgrade that moves one fails loudly, and each shortcut is
checked against the answer GX gives without it."""

from __future__ import annotations

import copy
import enum
import inspect
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from odibi_core.config.models import ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_quality import gx_runner
from odibi_quality.builtin_types import BUILTIN_TYPES
from odibi_quality.config import QualityConfig
from odibi_quality.types import CheckContext
from odibi_quality.validate import run


def test_the_gx_internals_we_tune_still_exist():
    # gx_runner switches off GX's per-batch frame fingerprint through a private constant and
    # memoises its class-name conversion; a GX upgrade that drops either must fail here.
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.expectations import expectation

    assert hasattr(pandas_execution_engine, "HASH_THRESHOLD")
    assert callable(expectation.camel_to_snake)


def test_metric_ids_still_go_through_the_converter_we_speed_up():
    from great_expectations.core import id_dict

    assert callable(id_dict.convert_to_json_serializable)
    # IDDict.to_id looks the converter up as a module global: replacing it reaches to_id.
    assert "convert_to_json_serializable" in id_dict.IDDict.to_id.__code__.co_names


def test_the_validator_we_call_directly_keeps_its_signature():
    # gx_runner builds the validator Batch.validate and ValidationDefinition.run build.
    from great_expectations.validator.v1_validator import Validator

    params = inspect.signature(Validator.__init__).parameters
    assert {"batch_definition", "batch_parameters", "result_format"} <= set(params)
    assert callable(Validator.validate_expectation_suite)


def test_expectation_configuration_is_still_a_property_we_can_extend():
    from great_expectations.expectations.expectation import Expectation

    assert isinstance(inspect.getattr_static(Expectation, "configuration"), property)


class _Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        0,
        -7,
        True,
        False,
        1.5,
        math.nan,
        {"batch_id": "odibi-frame", "column": "amount", "row_condition": None},
        {1: None, "nested": {"a": [1, "b", None, (2, 3)]}},
        [None, True, 2, "x", 2.5],
        (None, "a"),
        {"value_set": ["a", "b", None], "mostly": 0.9},
        np.int64(3),
        np.float64(2.5),
        np.bool_(True),
        {"when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "colour": _Colour.RED},
        pd.Timestamp("2024-01-02"),
        [np.int32(1), {"x": np.nan}],
    ],
)
def test_the_fast_json_conversion_answers_as_gx_does(value):
    from great_expectations.util import convert_to_json_serializable as general

    fast = gx_runner._json_ready(general)
    assert _same(fast(copy.deepcopy(value)), general(copy.deepcopy(value)))


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


QUALITY = QualityConfig.model_validate(
    {
        "assertions": [
            {"type": "unique", "columns": ["id"]},
            {"type": "not_null", "columns": ["amount"]},
            {"type": "between", "column": "amount", "min": 0, "max": 100},
            {"type": "accepted_values", "column": "status", "values": ["a", "b"]},
        ]
    }
)


def _pandas_counts(frame: pd.DataFrame) -> list[int]:
    amount = frame["amount"].dropna()
    status = frame["status"].dropna()
    return [
        int(frame["id"].dropna().duplicated(keep=False).sum()),
        int(frame["amount"].isna().sum()),
        int((~amount.between(0, 100)).sum()),
        int((~status.isin(["a", "b"])).sum()),
    ]


def test_repeated_validations_in_one_process_count_each_frame_afresh():
    # What broke a configuration cache keyed by id() before: objects from one validation are
    # freed and their ids reused by the next, so a stale answer would show up as wrong counts.
    rng = np.random.default_rng(7)
    types = {t.name: t for t in BUILTIN_TYPES}
    engine = PandasEngine(ProjectConfig(project="p"))
    for rows in (50, 1000, 50, 300, 1000):
        frame = pd.DataFrame(
            {
                "id": rng.integers(0, rows, rows),
                "amount": np.where(rng.random(rows) < 0.1, np.nan, rng.uniform(-20, 120, rows)),
                "status": rng.choice(["a", "b", "c", None], rows),
            }
        )
        ctx = CheckContext(pipeline="p", node="n", now=datetime.now(UTC))
        validation = run(engine, frame, QUALITY, types, ctx, "p.n")
        assert [r.violation_count for r in validation.results] == _pandas_counts(frame)
        assert [r.element_count for r in validation.results] == [rows] * 4
