"""The values Odibi's transformers give (keys, session ids, names of added columns) and their
errors, on the pandas engine; tests/e2e/test_transformer_catalogue.py checks that the other
engines agree."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from odibi_core.config.models import NodeConfig, ProjectConfig
from odibi_core.engines.pandas_engine import PandasEngine
from odibi_core.errors import NodeError
from odibi_core.transforms import builtin as C
from odibi_core.transforms.naming import normalized_name
from odibi_core.transforms.registry import Transform, TransformContext

ENGINE = PandasEngine(ProjectConfig(project="t"))


def run(t: Transform, df: pd.DataFrame, params: dict[str, Any], **tables: pd.DataFrame):
    node = NodeConfig(name="n", depends_on=list(tables))
    # The DataFrame the engine's frame would be for user code.
    return ENGINE.native(t(TransformContext(engine=ENGINE, node=node, tables=tables), df, params))


def values(frame: pd.DataFrame, column: str) -> list[Any]:
    def plain(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if hasattr(v, "item") else v

    return [plain(v) for v in frame[column]]


PEOPLE = pd.DataFrame({"id": [1, 2, 3], "name": ["Ann", None, "Cy"], "city": ["x", "y", None]})


def test_surrogate_key_is_odibis_md5_of_the_joined_values() -> None:
    out = run(C.generate_surrogate_key, PEOPLE, {"columns": ["id", "name"]})
    assert list(out.columns) == ["id", "name", "city", "surrogate_key"]
    md5 = [hashlib.md5(s.encode()).hexdigest() for s in ("1-Ann", "2-", "3-Cy")]
    assert values(out, "surrogate_key") == md5


def test_numeric_key_is_the_first_15_hex_digits_of_the_md5() -> None:
    out = run(C.generate_numeric_key, PEOPLE, {"columns": ["id", "name"], "output_col": "k"})
    keys = [int(hashlib.md5(s.encode()).hexdigest()[:15], 16) for s in ("1|Ann", "2|", "3|Cy")]
    assert values(out, "k") == keys


def test_hash_columns_keeps_nulls() -> None:
    out = run(C.hash_columns, PEOPLE, {"columns": ["name"]})
    assert values(out, "name") == [
        hashlib.sha256(b"Ann").hexdigest(),
        None,
        hashlib.sha256(b"Cy").hexdigest(),
    ]


def test_sessions_are_named_user_and_number() -> None:
    t = dt.datetime(2024, 1, 1, 9)
    events = pd.DataFrame(
        {
            "user": ["u", "u", "v", "u"],
            "at": [t, t + dt.timedelta(minutes=31), t, t + dt.timedelta(minutes=40)],
        }
    )
    out = run(C.sessionize, events, {"timestamp_col": "at", "user_col": "user"})
    assert values(out, "session_id") == ["u-1", "u-2", "v-1", "u-2"]


def test_added_columns_take_odibis_names() -> None:
    t = dt.datetime(2024, 5, 17, 10, 30)
    df = pd.DataFrame({"ts": [t], "te": [t + dt.timedelta(days=2)], "email": ["a@b.c"]})
    named = {
        C.split_part: ({"col": "email", "delimiter": "@", "index": 2}, "email_part_2", "b.c"),
        C.date_add: ({"col": "ts", "value": 1, "unit": "day"}, "ts_future", t.replace(day=18)),
        C.date_trunc: ({"col": "ts", "unit": "month"}, "ts_trunc", dt.datetime(2024, 5, 1)),
        C.date_diff: ({"start_col": "ts", "end_col": "te"}, "diff_day", 2),
        C.convert_timezone: (
            {"col": "ts", "target_tz": "Europe/Paris"},
            "ts_converted",
            t.replace(hour=12),
        ),
        C.extract_date_parts: ({"source_col": "ts"}, "ts_month", 5),
    }
    for transform, (params, column, expected) in named.items():
        out = run(transform, df, params)
        got = out[column].iloc[0]
        got = got.to_pydatetime() if hasattr(got, "to_pydatetime") else got
        assert got == expected, transform.name


def test_pivot_and_unpivot_round_trip() -> None:
    long = pd.DataFrame({"id": [1, 1, 2], "m": ["a", "b", "a"], "v": [1, 2, 3]})
    wide = run(C.pivot, long, {"group_by": ["id"], "pivot_col": "m", "agg_col": "v"})
    assert list(wide.columns) == ["id", "a", "b"]
    assert values(wide, "b") == [2, None]
    back = run(C.unpivot, wide, {"id_cols": ["id"], "value_vars": ["a", "b"]})
    assert list(back.columns) == ["id", "variable", "value"]
    assert values(back, "variable") == ["a", "b", "a", "b"]


def test_validate_and_flag_names_the_broken_rules() -> None:
    rules = {"named": "name IS NOT NULL", "low_id": "id < 3"}
    out = run(C.validate_and_flag, PEOPLE, {"rules": rules})
    assert values(out, "_issues") == [None, "named", "low_id"]


def test_apply_mapping_looks_values_up_in_a_dependency() -> None:
    codes = pd.DataFrame({"code": ["x", "y", "x"], "label": ["ex", "why", "aa"]})
    params = {"column": "city", "mapping_source": "codes", "source_key": "code"}
    out = run(C.apply_mapping, PEOPLE, {**params, "source_value": "label"}, codes=codes)
    assert values(out, "city") == ["aa", "why", None]  # a repeated key: its smallest value
    assert len(out) == 3


def test_cross_check_fails_when_row_counts_differ() -> None:
    a, b = PEOPLE, PEOPLE.head(2)
    params = {"type": "row_count_diff", "inputs": ["a", "b"]}
    with pytest.raises(NodeError, match=r"'b' has 2 rows, 'a' 3"):
        run(C.cross_check, PEOPLE, params, a=a, b=b)
    assert len(run(C.cross_check, PEOPLE, {**params, "threshold": 0.5}, a=a, b=b)) == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("First Name", "first_name"),
        ("order-id", "order_id"),
        ("a.b  c", "a_b_c"),
        ("Price ($)", "price"),
        ("__x__", "x"),
    ],
)
def test_normalized_names_follow_odibis_rules(name: str, expected: str) -> None:
    assert normalized_name(name, "snake_case", True, True) == expected


def test_a_misspelt_column_is_named_with_a_suggestion() -> None:
    with pytest.raises(NodeError, match=r"column 'nmae' not in the data \(did you mean 'name'\?\)"):
        run(C.concat_columns, PEOPLE, {"columns": ["id", "nmae"], "output_col": "x"})


def test_a_struct_transform_on_text_says_to_parse_first() -> None:
    with pytest.raises(NodeError, match="not a struct; parse JSON text into one with parse_json"):
        run(C.flatten_struct, PEOPLE, {"column": "name"})


def test_params_are_checked_before_running() -> None:
    with pytest.raises(ValidationError, match="index is 1-based"):
        C.split_part.params_model.model_validate({"col": "a", "delimiter": ",", "index": 0})
    with pytest.raises(ValidationError, match="unknown type 'TEXTY'"):
        C.parse_json.params_model.model_validate({"column": "a", "json_schema": "a TEXTY"})
    with pytest.raises(ValidationError, match="either 'operations' or 'trim'/'case'"):
        C.clean_text.params_model.model_validate(
            {"columns": ["a"], "operations": ["trim"], "case": "lower"}
        )


def test_events_are_split_by_shift_with_minutes() -> None:
    t = dt.datetime
    events = pd.DataFrame(
        {"s": [t(2024, 1, 2, 3), t(2024, 1, 2, 13)], "e": [t(2024, 1, 2, 4), t(2024, 1, 2, 15)]}
    )
    shifts = [
        {"name": "Day", "start": "06:00", "end": "14:00"},
        {"name": "Night", "start": "14:00", "end": "06:00"},
    ]
    params = {"start_col": "s", "end_col": "e", "period": "shift", "shifts": shifts}
    out = run(C.split_events_by_period, events, {**params, "duration_col": "min"})
    # 03:00 falls in the night shift that began the evening before the event's day.
    assert values(out, "shift_name") == ["Night", "Day", "Night"]
    assert values(out, "min") == [60.0, 60.0, 60.0]


def test_a_midnight_end_gives_no_empty_piece() -> None:
    t = dt.datetime
    events = pd.DataFrame({"s": [t(2024, 1, 1, 20)], "e": [t(2024, 1, 3)]})
    out = run(C.split_events_by_period, events, {"start_col": "s", "end_col": "e"})
    assert len(out) == 2


def test_geocode_is_a_pass_through_stub_as_in_odibi() -> None:
    out = run(C.geocode, PEOPLE, {"address_col": "city"})
    assert out.equals(PEOPLE)


READINGS = pd.DataFrame({"temp_f": [212.0, 32.0, None], "p": [0, 14.696, 100], "flow": [1, 2, 3]})


def test_unit_convert_gives_pints_values_in_sql() -> None:
    conversions = {
        "temp_f": {"from": "degF", "to": "degC", "output": "temp_c"},
        "p": {"from": "psig", "to": "bar"},  # in place; gauge = absolute - 14.696 psia
        "flow": {"from": "gpm", "to": "m³/s", "output": "flow_si"},
    }
    out = run(C.unit_convert, READINGS, {"conversions": conversions})
    assert list(out.columns) == ["temp_f", "p", "flow", "temp_c", "flow_si"]
    assert values(out, "temp_c") == [pytest.approx(100.0), pytest.approx(0.0, abs=1e-9), None]
    assert values(out, "p") == [
        pytest.approx(1.01325, rel=1e-5), pytest.approx(2.0265, rel=1e-5),
        pytest.approx(7.90801, rel=1e-5),
    ]  # fmt: skip
    assert values(out, "flow_si") == [pytest.approx(6.30902e-05 * n, rel=1e-5) for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("errors", "expected"), [("null", [None, None, None]), ("ignore", [212.0, 32.0, None])]
)
def test_unit_convert_errors_null_or_ignore(errors: str, expected: list[Any]) -> None:
    params = {"conversions": {"temp_f": {"from": "degF", "to": "meter"}}, "errors": errors}
    assert values(run(C.unit_convert, READINGS, params), "temp_f") == expected


def test_unit_convert_errors_raise_names_the_column_and_units() -> None:
    params = {"conversions": {"temp_f": {"from": "degF", "to": "furlongs"}}, "errors": "raise"}
    with pytest.raises(NodeError, match="temp_f: cannot convert 'degF' to 'furlongs'"):
        run(C.unit_convert, READINGS, params)
    model = C.unit_convert.params_model
    assert model is not None
    bad = {"conversions": {"t": {"from": "K", "to": "degC"}}, "errors": "drop"}
    with pytest.raises(ValidationError, match="'null', 'raise' or 'ignore'"):
        model.model_validate(bad)
