"""Quality blocks on the Spark engine: the same project, run once with pandas and once with
Spark (both for real, GX validating each engine's frames), records the same results."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")
pytest.importorskip("great_expectations", reason="the quality extra is part of the dev install")

ORDERS = (
    "order_id,amount,status,email,zip,note\n"
    "1,10.0,completed,a@x.com,02139,\n"
    "2,-5.0,pending,b@x.com,2139,\n"
    "2,30.0,lost,nobody,02139,\n"
    "4,,completed,d@x.com,10001,\n"
    "5,50.0,shipped,e@x.com,94107,\n"
)

PROJECT = """\
project: shop
engine: {engine}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: orders.csv,
                options: {options}}}
        quality:
          on_error: warn
          assertions:
            - {{type: not_null, columns: [order_id, amount]}}
            - {{type: unique, columns: [order_id]}}
            - {{type: unique, columns: [order_id, status]}}
            - {{type: between, column: amount, min: 0, max: 100}}
            - {{type: accepted_values, column: status, values: [completed, pending, shipped],
               severity: warn}}
            - {{type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: warn}}
            - {{type: row_count, min: 1, max: 3, severity: warn}}
            - {{type: schema, columns: [order_id, amount, status, email, zip, note]}}
            - {{type: distribution, column: amount, metric: max, threshold: "<=50"}}
            - {{type: expect, expectation: expect_column_value_lengths_to_be_between,
               kwargs: {{column: zip, min_value: 5, max_value: 5}}, severity: warn}}
            - {{type: not_null, column: note, name: empty_note, severity: warn}}
            - {{type: between, column: note, min: 0, name: nothing_to_check}}
"""

# Read as text on both engines (pandas keeps text, Spark would infer types): the comparison is
# about the checks, not about CSV type inference.
OPTIONS = {
    "pandas": "{dtype: {zip: str}}",
    "spark": "{inferSchema: false}",
}


def _results(project) -> dict[str, tuple]:
    return {
        r["assertion_name"]: (r["status"], r["severity"], r["violation_count"], r["element_count"])
        for r in project.catalog("meta_quality")
    }


def test_a_quality_block_gives_the_same_results_on_pandas_and_spark(odibi_project):
    runs = {}
    for engine in ("pandas", "spark"):
        text = PROJECT.format(engine=engine, options=OPTIONS[engine])
        if engine == "spark":  # the same types the pandas reader gives
            text = text.replace(
                "        quality:",
                "        transformer: cast_columns\n"
                "        params: {casts: {order_id: bigint, amount: double}}\n"
                "        quality:",
            )
        project = odibi_project({"odibi.yaml": text, "orders.csv": ORDERS}, name=engine)
        run = project.odibi("run", "{config}")
        assert run.exit_code == 0, run.output  # on_error: warn: failures are reported, not fatal
        runs[engine] = (_results(project), project.catalog("meta_runs"))
    pandas_results, spark_results = runs["pandas"][0], runs["spark"][0]
    assert len(pandas_results) == 12
    assert spark_results == pandas_results
    # A sample of what both found, exactly.
    assert pandas_results["not_null"][2] == 1  # the missing amount
    assert pandas_results["unique"][2] == 2  # both rows of order 2
    assert pandas_results["between"][2] == 1  # -5.0 (the null passes)
    assert pandas_results["row_count"][0] == "failed"
    assert pandas_results["nothing_to_check"][:2] == ("failed", "warn")

    def score(rows):
        return next(r["dq_score"] for r in rows if r["scope"] == "pipeline")

    assert score(runs["spark"][1]) == score(runs["pandas"][1])


def test_what_quality_cannot_do_on_spark_yet_is_reported_by_validate(odibi_project):
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
            - {type: regex, column: x, pattern: y, severity: quarantine}
            - {type: custom_sql, condition: "x > 0"}
          quarantine: {connection: d, path: bad}
          gate: {require_pass_rate: 0.9}
""",
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "not on the spark engine yet: gate, quarantine, custom_sql" in run.output
