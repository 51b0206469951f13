"""Every assertion type, severity, the gate and quarantine on pandas, polars and Spark: the same
project on the same data, run for real on each engine (GX validating each engine's frames, the
row rules running as each engine's SQL), records the same ``meta_quality`` rows, quarantines
the same rows and writes the same ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("great_expectations", reason="the quality extra is part of the dev install")

# An hour old: fresh within a week, stale within a minute.
STAMP = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")

ORDERS = (
    "order_id,amount,status,email,zip,updated_at\n"
    f"1,10.0,completed,a@x.com,02139,{STAMP}\n"
    f"2,-5.0,pending,b@x.com,2139,{STAMP}\n"
    f"2,30.0,lost,nobody,02139,{STAMP}\n"
    f"4,,completed,d@x.com,10001,{STAMP}\n"
    f"5,50.0,shipped,e@x.com,94107,{STAMP}\n"
    f"6,20.0,completed,f@x.com,94107,{STAMP}\n"
)

PROJECT = """\
project: shop
engine: {engine}
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: orders.csv, options: {options}}}
        transformer: cast_columns
        params: {{casts: {{order_id: bigint, amount: double, updated_at: timestamp}}}}
        quality:
          on_error: warn
          assertions:
            - {{type: not_null, columns: [order_id, amount], severity: warn}}
            - {{type: unique, columns: [order_id], severity: warn}}
            - {{type: unique, columns: [order_id, status]}}
            - {{type: between, column: amount, min: 0, max: 100, severity: quarantine}}
            - {{type: accepted_values, column: status, values: [completed, pending, shipped],
               severity: warn}}
            - {{type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: quarantine}}
            - {{type: row_count, min: 1, max: 3, severity: warn}}
            - {{type: schema, columns: [order_id, amount, status, email, zip, updated_at]}}
            - {{type: freshness, column: updated_at, max_age: 7d}}
            - {{type: freshness, column: updated_at, max_age: 1m, name: stale, severity: warn}}
            - {{type: distribution, column: amount, metric: max, threshold: "<=50"}}
            - {{type: expect, expectation: expect_column_value_lengths_to_be_between,
               kwargs: {{column: zip, min_value: 5, max_value: 5}}, severity: warn}}
            - {{type: volume_drop, threshold: 0.5}}
            - {{type: custom_sql, condition: "amount < 40", severity: quarantine}}
          quarantine: {{connection: d, path: quarantine}}
        write: {{connection: d, format: delta, path: orders_out}}
      - name: gated
        read: {{connection: d, format: csv, path: orders.csv, options: {options}}}
        transformer: cast_columns
        params: {{casts: {{order_id: bigint, amount: double}}}}
        validation:
          tests:
            - {{type: not_null, columns: [amount], on_fail: warn}}
            - {{type: unique, columns: [order_id], on_fail: warn}}
            - {{type: range, column: amount, min: 0, on_fail: warn}}
            - {{type: regex_match, column: email, pattern: "@", on_fail: warn, name: email_ok}}
          gate:
            require_pass_rate: 0.9
            on_fail: write_valid_only
            thresholds: [{{test: unique, min_pass_rate: 0.5}}, {{test: email_ok, min_pass_rate: 0.9}}]
            row_count: {{min: 2, max: 100}}
        write: {{connection: d, format: delta, path: gated_out}}
"""

# Read as text on every engine (Spark would infer types, pandas would make zip a number); the
# cast makes the types the same: the comparison is about the checks, not about CSV reading.
OPTIONS = {
    "pandas": "{dtype: {zip: str}}",
    "polars": "{dtype: {zip: str}}",
    "spark": "{inferSchema: false}",
}


def _run(odibi_project, engine: str) -> dict:
    text = PROJECT.format(engine=engine, options=OPTIONS[engine])
    project = odibi_project({"odibi.yaml": text, "orders.csv": ORDERS}, name=engine)
    run = project.run()
    assert run.exit_code == 0, run.output  # on_error: warn and a gate that writes valid rows
    quality = {}
    for r in project.catalog("meta_quality"):
        observed = r["observed_value"]
        if r["assertion_type"] == "freshness":  # the newest time, as each engine prints it
            observed = None
        quality[(r["node_name"], r["assertion_name"])] = (
            r["assertion_type"],
            r["columns"],
            r["severity"],
            r["status"],
            r["violation_count"],
            r["element_count"],
            None if observed is None else json.loads(observed),
            r["expectation_type"],
            r["message"],
        )
    quarantine = sorted(
        (r["order_id"], r["amount"], r["_failed_tests"], r["_rejection_reason"])
        for r in project.delta("quarantine")
    )
    nodes = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    return {
        "quality": quality,
        "quarantine": quarantine,
        "keys": sorted(r["_quarantine_key"] for r in project.delta("quarantine")),
        "written": {
            out: sorted((r["order_id"], r["amount"]) for r in project.delta(out))
            for out in ("orders_out", "gated_out")
        },
        "dq": {name: round(r["dq_score"], 9) for name, r in nodes.items()},
    }


def test_every_check_on_pandas_as_counted_by_hand(odibi_project):
    got = _run(odibi_project, "pandas")
    q = {name: row[3:6] for (node, name), row in got["quality"].items() if node == "orders"}
    assert q == {
        "not_null": ("failed", 1, 12),
        "unique": ("failed", 2, 6),
        "unique_2": ("passed", 0, 6),
        "between": ("failed", 1, 6),
        "accepted_values": ("failed", 1, 6),
        "regex": ("failed", 1, 6),
        "row_count": ("failed", 1, 1),
        "schema": ("passed", 0, 1),
        "freshness": ("passed", 0, 1),
        "stale": ("failed", 1, 1),
        "distribution": ("passed", 0, 1),
        "expect": ("failed", 1, 6),
        "volume_drop": ("passed", 0, 1),
        "custom_sql": ("failed", 2, 6),  # 50.0, and the missing amount (unknown is invalid)
    }
    # Quarantined: -5.0 (between), 'nobody' (regex), 50.0 and the missing amount (custom_sql).
    assert [(r[0], r[2], r[3]) for r in got["quarantine"]] == [
        (2, "between", "Failed: between (amount)"),
        (2, "regex", "Failed: regex (email)"),
        (4, "custom_sql", "Failed: custom_sql"),
        (5, "custom_sql", "Failed: custom_sql"),
    ]
    assert got["written"]["orders_out"] == [(1, 10.0), (6, 20.0)]
    # The gate: rows 2 (twice, duplicated, one negative) and 4 (no amount) fail a row check:
    # 50% pass, so write_valid_only keeps 1, 5 and 6.
    assert sorted(r[0] for r in got["written"]["gated_out"]) == [1, 5, 6]
    gate = {name: row[3:6] for (node, name), row in got["quality"].items() if node == "gated"}
    assert gate["gate"] == ("failed", 3, 6)
    assert gate["gate.unique"] == ("passed", 2, 6)
    assert gate["gate.email_ok"] == ("failed", 1, 6)  # "nobody"
    assert gate["gate.row_count"] == ("passed", 0, 1)


def test_polars_gives_the_same_rows_as_pandas(odibi_project):
    assert _run(odibi_project, "polars") == _run(odibi_project, "pandas")


def test_spark_gives_the_same_rows_as_pandas(odibi_project):
    pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")
    spark, pandas = _run(odibi_project, "spark"), _run(odibi_project, "pandas")
    assert spark["quality"] == pandas["quality"]
    assert spark["quarantine"] == pandas["quarantine"]
    assert spark["written"] == pandas["written"]
    assert spark["dq"] == pandas["dq"]
    # The quarantine keys are digests of each engine's text of the values: not compared.
    assert len(set(spark["keys"])) == len(spark["quarantine"])


MASK_ONLY = """
from pydantic import BaseModel
from odibi_core import hookimpl
from odibi_quality.types import AssertionType


class P(BaseModel):
    column: str


@hookimpl
def odibi_register_assertion_types():
    return [
        AssertionType(
            "odd", P, lambda p, ctx: [], lambda p: [p.column],
            failing_rows=lambda frame, p, ctx: frame[p.column] % 2 == 1,
        )
    ]
"""


def test_a_type_with_only_a_pandas_mask_cannot_gate_or_quarantine_on_spark(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: a.csv}
        quality:
          assertions:
            - {type: odd, column: x, severity: quarantine}
            - {type: regex, column: x, pattern: y, severity: quarantine}
            - {type: custom_sql, condition: "x > 0"}
          quarantine: {connection: d, path: bad}
          gate: {require_pass_rate: 0.9}
""",
            "plugins/odd.py": MASK_ONLY,
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "'odd' tells its failing rows only on pandas and polars" in run.output
    assert "regex" not in run.output and "custom_sql" not in run.output
