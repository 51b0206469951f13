"""The patterns' params models and the node's ``pattern`` key: mistakes are caught before a run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from odibi_core.config.models import NodeConfig
from odibi_core.patterns.date_dimension import DateDimensionParams
from odibi_core.patterns.delete_detection import DetectDeletesParams
from odibi_core.patterns.dimension import DimensionParams
from odibi_core.patterns.fact import FactParams
from odibi_core.patterns.scd2 import Scd2Params


def test_a_pattern_is_its_transformer_with_params():
    node = NodeConfig.model_validate(
        {"name": "d", "pattern": {"type": "dimension", "params": {"natural_key": "id"}}}
    )
    assert (node.transformer, node.params) == ("dimension", {"natural_key": "id"})


def test_pattern_and_transformer_together_are_refused():
    with pytest.raises(ValidationError, match="either 'pattern' or 'transformer'"):
        NodeConfig.model_validate(
            {"name": "d", "transformer": "fact", "pattern": {"type": "dimension"}}
        )


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        (DimensionParams, {"natural_key": "id", "surrogate_key": "sk", "scd_type": 3}, "scd_type"),
        (DimensionParams, {"natural_key": "id", "surrogate_key": "sk", "scd_type": 2}, "track_cols"),
        (DimensionParams, {"natural_key": "id", "surrogate_key": "id"}, "different columns"),
        (DateDimensionParams, {"start_date": "2025-02-01", "end_date": "2025-01-01"}, "before"),
        (DateDimensionParams, {"start_date": "2025-01-01", "end_date": "2025-01-02",
                               "fiscal_year_start_month": 13}, "fiscal_year_start_month"),
        (FactParams, {"orphan_handling": "quarantine"}, "needs a 'quarantine' block"),
        (FactParams, {"orphan_handling": "drop"}, "orphan_handling"),
        (FactParams, {"deduplicate": True}, "needs 'keys'"),
        (FactParams, {"quarantine": {"connection": "c"}}, "exactly one of 'path' or 'table'"),
        (Scd2Params, {"keys": ["id"], "track_cols": ["a"], "connection": "c"}, "go together"),
        (Scd2Params, {"keys": ["id"], "track_cols": ["a"], "vacuum_hours": -1}, "vacuum_hours"),
        (Scd2Params, {"keys": ["id"], "track_cols": ["a"], "use_delta_merge": "x"},
         "use_delta_merge"),
        (DetectDeletesParams, {"mode": "snapshot_diff"}, "needs 'keys'"),
        (DetectDeletesParams, {"mode": "snapshot_diff", "keys": ["id"], "path": "p"},
         "go together"),
        (DetectDeletesParams, {"mode": "snapshot_diff", "keys": ["id"], "source_table": "t"},
         "is for mode sql_compare"),
        (DetectDeletesParams, {"mode": "sql_compare", "keys": ["id"], "source_connection": "db"},
         "'source_table' or 'source_query'"),
        (DetectDeletesParams, {"mode": "x"}, "mode"),
        (DetectDeletesParams, {"max_delete_percent": 120}, "max_delete_percent"),
    ],
)  # fmt: skip
def test_bad_params_are_named(model, params, message):
    with pytest.raises(ValidationError, match=message):
        model.model_validate(params)


def test_register_table_is_refused_off_spark_only():
    params = {"keys": ["id"], "track_cols": ["a"], "target": "t", "register_table": "s.t"}
    with pytest.raises(ValidationError, match="the polars engine has none"):
        Scd2Params.model_validate(params, context={"engine": "polars"})
    assert Scd2Params.model_validate(params, context={"engine": "spark"}).register_table == "s.t"


def test_scd2_takes_the_pattern_spellings_of_its_columns():
    # Odibi's ``pattern: {type: scd2}`` documents valid_from_col/valid_to_col/is_current_col
    # and time_col; its transformer, start_time_col/end_time_col/current_flag_col.
    base = {"keys": "id", "track_cols": ["a"], "target": "t"}
    p = Scd2Params.model_validate({**base, "valid_from_col": "f", "valid_to_col": "t",
                                   "is_current_col": "c", "time_col": "ts"})  # fmt: skip
    got = (p.start_time_col, p.end_time_col, p.current_flag_col, p.effective_time_col)
    assert got == ("f", "t", "c", "ts")
    with pytest.raises(ValidationError, match="valid_to_col"):
        Scd2Params.model_validate({**base, "end_time_col": "x", "valid_to_col": "y"})
