"""Quality blocks through ``odibi run`` with real Great Expectations; ``meta_quality`` and the
quarantine table read back with the independent Delta reader."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

# Known defects, counted by hand: order_id 2 twice (2 rows of a duplicate group), one missing
# amount (NaN), one amount above 10000, one unknown status, two bad emails, one 4-digit zip.
ORDERS = """\
order_id,amount,status,email,zip
1,10.0,completed,a@x.org,12345
2,20.0,completed,bad-email,12345
2,30.0,weird,c@x.org,1234
4,,pending,d@x.org,54321
5,50000,shipped,noat,99999
6,60.0,pending,f@x.org,11111
"""

PROJECT = """\
project: q
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders_silver
        read: {{connection: d, format: csv, path: orders.csv}}
        quality:
          assertions:
{assertions}
          quarantine: {{connection: d, path: quarantine}}
        write: {{connection: d, format: parquet, path: silver.parquet}}
      - name: downstream
        depends_on: [orders_silver]
        write: {{connection: d, format: csv, path: downstream.csv}}
"""

ALL_WARN = """\
            - {type: not_null, columns: [order_id, amount], severity: warn}
            - {type: unique, columns: [order_id], severity: warn}
            - {type: between, column: amount, min: 0, max: 10000, severity: warn}
            - {type: accepted_values, column: status, values: [completed, pending, shipped], severity: warn}
            - {type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: warn, name: email_ok}
            - {type: row_count, min: 1, max: 100, severity: warn}
            - {type: expect, expectation: expect_column_value_lengths_to_be_between, kwargs: {column: zip, min_value: 5, max_value: 5}, severity: warn}
"""


def project_with(odibi_project, assertions: str):
    return odibi_project(
        {"odibi.yaml": PROJECT.format(assertions=assertions.rstrip("\n")), "orders.csv": ORDERS}
    )


def quality_rows(project) -> dict[str, dict]:
    return {r["assertion_name"]: r for r in project.catalog("meta_quality")}


def test_exact_violation_counts_land_in_meta_quality(odibi_project):
    project = project_with(odibi_project, ALL_WARN)
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = quality_rows(project)
    counts = {
        name: (r["status"], r["violation_count"], r["element_count"]) for name, r in rows.items()
    }
    assert counts == {
        "not_null": ("failed", 1, 12),  # 2 columns x 6 rows checked, one NaN
        "unique": ("failed", 2, 6),  # every row of the duplicate group counts
        "between": ("failed", 1, 6),
        "accepted_values": ("failed", 1, 6),
        "email_ok": ("failed", 2, 6),
        "row_count": ("passed", 0, 1),
        "expect": ("failed", 1, 6),
    }
    assert rows["email_ok"]["violation_pct"] == pytest.approx(100 * 2 / 6)
    assert json.loads(rows["email_ok"]["failing_examples"]) == ["bad-email", "noat"]
    assert rows["row_count"]["observed_value"] == "6"
    assert rows["unique"]["expectation_type"] == "expect_column_values_to_be_unique"
    assert {r["suite_name"] for r in rows.values()} == {"orders.orders_silver"}
    assert {r["severity"] for r in rows.values()} == {"warn"}
    (partition,) = project.path(".odibi/system/meta_quality").glob("pipeline_name=*")
    assert partition.name == "pipeline_name=orders"

    # The node's DQ score: mean of (1 - v/e), a table check counting 0 or 1.
    expected = (
        100
        * ((1 - 1 / 12) + (1 - 2 / 6) + (1 - 1 / 6) + (1 - 1 / 6) + (1 - 2 / 6) + 1 + (1 - 1 / 6))
        / 7
    )
    node_row = next(r for r in project.catalog("meta_runs") if r["node_name"] == "orders_silver")
    assert node_row["dq_score"] == pytest.approx(expected)
    run_row = next(r for r in project.catalog("meta_runs") if r["scope"] == "pipeline")
    assert run_row["dq_score"] == pytest.approx(expected)
    assert pq.read_table(project.path("silver.parquet")).num_rows == 6  # warn writes all


def test_an_error_failure_fails_the_node_and_writes_nothing(odibi_project):
    project = project_with(
        odibi_project,
        """\
            - {type: not_null, columns: [amount]}
            - {type: unique, columns: [order_id], severity: warn}
""",
    )
    run = project.run()
    assert run.exit_code == 1
    assert "not_null(amount) 1 of 6 violate it" in run.stdout
    assert not project.path("silver.parquet").exists()
    status = {r["node_name"]: r["status"] for r in project.catalog("meta_runs")}
    assert status["orders_silver"] == "FAILURE" and status["downstream"] == "SKIPPED"
    rows = quality_rows(project)
    assert rows["not_null"]["status"] == "failed" and rows["unique"]["status"] == "failed"


def test_mostly_lets_a_small_share_through(odibi_project):
    project = project_with(
        odibi_project,
        """\
            - {type: between, column: amount, min: 0, max: 10000, mostly: 0.75}
            - {type: regex, column: email, pattern: "@", mostly: 0.9}
""",
    )
    run = project.run()
    assert run.exit_code == 1  # 1 of 5 non-null amounts passes 0.75; 2 of 6 emails fail 0.9
    rows = quality_rows(project)
    assert rows["between"]["status"] == "passed" and rows["between"]["violation_count"] == 1
    assert rows["regex"]["status"] == "failed"


def test_quarantine_splits_rows_and_a_retry_does_not_add_them_twice(odibi_project):
    project = project_with(
        odibi_project,
        """\
            - {type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: quarantine}
            - {type: between, column: amount, max: 10000, severity: quarantine}
""",
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    kept = pq.read_table(project.path("silver.parquet")).to_pylist()
    assert sorted(r["order_id"] for r in kept) == [1, 2, 4, 6]
    quarantined = project.delta("quarantine")
    # Odibi's metadata columns, its default choice of them (no _original_node) and its names.
    assert set(quarantined[0]) - set(ORDERS.splitlines()[0].split(",")) == {
        "_rejection_reason",
        "_rejected_at",
        "_source_batch_id",
        "_failed_tests",
        "_quarantine_key",
    }
    by_order = {r["order_id"]: r for r in quarantined}
    assert {k: r["_rejection_reason"] for k, r in by_order.items()} == {
        2: "Failed: regex (email)",
        5: "Failed: regex (email), between (amount)",
    }
    assert {k: r["_failed_tests"] for k, r in by_order.items()} == {2: "regex", 5: "regex,between"}
    (run_id,) = {r["_source_batch_id"] for r in quarantined}
    assert run_id == next(r["run_id"] for r in project.catalog("meta_runs"))
    assert all(r["_rejected_at"].tzinfo is not None for r in quarantined)
    assert project.path("downstream.csv").read_text().count("\n") == 1 + 4

    # A rerun over the same data replaces the rows it quarantines again (Odibi appends them).
    rerun = project.run()
    assert rerun.exit_code == 0, rerun.output
    again = project.delta("quarantine")
    assert sorted(r["order_id"] for r in again) == [2, 5]
    (second,) = {r["_source_batch_id"] for r in again}
    assert second != run_id


def test_add_columns_chooses_the_quarantine_metadata(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                assertions="""            - {type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: quarantine}"""
            ).replace(
                "quarantine: {connection: d, path: quarantine}",
                "quarantine: {connection: d, path: quarantine, max_rows: 1, add_columns: "
                "{_rejected_at: false, failed_tests: false, _original_node: true}}",
            ),
            "orders.csv": ORDERS,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = project.delta("quarantine")
    # max_rows: the first failing row is kept, both leave the output.
    assert [r["order_id"] for r in rows] == [2]
    assert pq.read_table(project.path("silver.parquet")).num_rows == 4
    extra = set(rows[0]) - set(ORDERS.splitlines()[0].split(","))
    assert extra == {"_rejection_reason", "_source_batch_id", "_original_node", "_quarantine_key"}
    assert {r["_original_node"] for r in rows} == {"orders_silver"}


FLAKY_AFTER_QUALITY = """
from pathlib import Path
from odibi_core import hookimpl


@hookimpl
def odibi_check_node_output(ctx, node, frame):
    # Project plugins load after odibi_quality, so this runs after quarantine was written.
    marker = Path(ctx.project.root) / "failed_once"
    if not marker.exists():
        marker.write_text("x")
        raise ConnectionError("storage blip after the quality check")
    return None
"""


def test_a_retried_node_does_not_quarantine_twice(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                assertions="""\
            - {type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: quarantine}"""
            ).replace("retry: {enabled: false}", "retry: {max_attempts: 2, backoff_seconds: 0}"),
            "orders.csv": ORDERS,
            "plugins/flaky.py": FLAKY_AFTER_QUALITY,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    node = next(r for r in project.catalog("meta_runs") if r["node_name"] == "orders_silver")
    assert node["attempt"] == 2
    assert sorted(r["order_id"] for r in project.delta("quarantine")) == [2, 5]


def test_odibi_validation_and_contracts_spelling(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders_silver
        read: {connection: d, format: csv, path: orders.csv}
        contracts:
          - {type: row_count, min: 1}
        validation:
          mode: warn
          tests:
            - {type: not_null, columns: [amount]}
            - {type: range, column: amount, min: 0, max: 100, on_fail: warn}
            - {type: regex_match, column: email, pattern: "@", on_fail: quarantine}
            - {type: distribution, column: amount, metric: mean, threshold: ">1000"}
          quarantine: {connection: d, path: rejected}
        write: {connection: d, format: parquet, path: silver.parquet}
""",
            "orders.csv": ORDERS,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output  # mode: warn records the error-severity failure only
    rows = project.catalog("meta_quality")
    by_type = {r["assertion_type"]: r for r in rows}
    assert set(by_type) == {"row_count", "not_null", "between", "regex", "distribution"}
    assert by_type["between"]["severity"] == "warn" and by_type["between"]["violation_count"] == 1
    assert by_type["regex"]["severity"] == "quarantine"
    assert by_type["distribution"]["severity"] == "warn"  # Odibi's default for distribution
    assert by_type["not_null"]["severity"] == "error" and by_type["not_null"]["status"] == "failed"
    assert sorted(r["order_id"] for r in project.delta("rejected")) == [2, 5]


def test_a_missing_column_is_an_error_never_a_silent_pass(odibi_project):
    project = project_with(
        odibi_project,
        """\
            - {type: not_null, columns: [no_such_column], severity: warn}
            - {type: between, column: amount, min: 0}
""",
    )
    run = project.run()
    rows = quality_rows(project)
    assert rows["not_null"]["status"] == "error"
    assert "no_such_column" in rows["not_null"]["message"]
    assert run.exit_code == 0  # severity warn: recorded, the node goes on


def test_empty_and_all_null_columns_do_not_pass_silently(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                assertions="""\
            - {type: between, column: amount, min: 0}
            - {type: accepted_values, column: status, values: [a]}"""
            ).replace("orders.csv", "nulls.csv"),
            "nulls.csv": "order_id,amount,status,email,zip\n1,,,,\n2,,,,\n",
        }
    )
    project.run()
    rows = quality_rows(project)
    for name in ("between", "accepted_values"):
        assert rows[name]["status"] == "failed" and rows[name]["severity"] == "warn"
        assert rows[name]["message"] == "no non-null values to check"


def test_bad_quality_blocks_are_reported_by_validate(odibi_project):
    project = project_with(
        odibi_project,
        """\
            - {type: not_nul, columns: [a]}
            - {type: between, column: amount, mni: 0}
            - {type: row_count, min: 1, severity: quarantine}
""",
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    err = run.stderr
    assert "unknown assertion type 'not_nul' (did you mean 'not_null'?)" in err
    assert "between: unknown key 'mni'" in err
    assert "cannot quarantine rows" in err
    assert "odibi.yaml:12:" in err  # located at the assertion's line


def test_catalog_quality_command_filters_by_status(odibi_project):
    project = project_with(odibi_project, ALL_WARN)
    assert project.run().exit_code == 0
    out = project.odibi(
        "catalog",
        "quality",
        "{config}",
        "--status",
        "failed",
        "--since",
        "1d",
        "--pipeline",
        "orders",
        "--format",
        "json",
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert sorted(r["assertion_name"] for r in data["rows"]) == [
        "accepted_values",
        "between",
        "email_ok",
        "expect",
        "not_null",
        "unique",
    ]
    assert data["stats"]["files_read"] == 1
    table = project.odibi("catalog", "quality", "{config}")
    assert table.exit_code == 0 and "row_count" in table.stdout and "passed" in table.stdout


def test_custom_sql_freshness_volume_and_distribution(odibi_project):
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    recent = (now - __import__("datetime").timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read: {connection: d, format: csv, path: events.csv, options: {parse_dates: [updated_at]}}
        quality:
          assertions:
            - {type: custom_sql, condition: "amount * 2 < 100", severity: quarantine, name: small}
            - {type: freshness, column: updated_at, max_age: 2h, name: fresh}
            - {type: freshness, column: updated_at, max_age: 1m, name: stale, severity: warn}
            - {type: distribution, column: amount, metric: max, threshold: "<=100", name: dist}
            - {type: volume_drop, threshold: 0.5, lookback_days: 7, name: volume}
          quarantine: {connection: d, path: rejected}
""",
            "events.csv": f"id,amount,updated_at\n1,10,{recent}\n2,60,{recent}\n3,,{recent}\n",
        }
    )
    assert project.run().exit_code == 0
    rows = {r["assertion_name"]: r for r in project.catalog("meta_quality")}
    assert (rows["small"]["violation_count"], rows["small"]["element_count"]) == (2, 3)
    assert rows["fresh"]["status"] == "passed" and rows["stale"]["status"] == "failed"
    assert rows["dist"]["status"] == "passed" and rows["volume"]["status"] == "passed"
    assert sorted(r["id"] for r in project.delta("rejected")) == [2, 3]  # NULL is not valid

    # Volume drop compares with the node's rows_out in the catalog (1 above, after quarantine):
    # 6 rows pass, then 1 row is below half the average (1 + 6) / 2 and fails.
    six = "".join(f"{i},1,{recent}\n" for i in range(6))
    project.write({"events.csv": f"id,amount,updated_at\n{six}"})
    assert project.run().exit_code == 0
    project.write({"events.csv": f"id,amount,updated_at\n1,10,{recent}\n"})
    assert project.run().exit_code == 1
    latest = max(project.catalog("meta_quality"), key=lambda r: r["timestamp"])["run_id"]
    volume = next(
        r
        for r in project.catalog("meta_quality")
        if r["run_id"] == latest and r["assertion_name"] == "volume"
    )
    assert volume["status"] == "failed" and volume["observed_value"] == "1"


def test_a_schema_check_beside_custom_sql_sees_only_the_frames_columns(odibi_project):
    # custom_sql hands GX a derived column; an exact schema check must not count it.
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read: {connection: d, format: csv, path: events.csv}
        quality:
          assertions:
            - {type: schema, columns: [id, amount], name: shape}
            - {type: custom_sql, condition: "amount < 100", name: small, severity: warn}
""",
            "events.csv": "id,amount\n1,10\n2,600\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = {r["assertion_name"]: r for r in project.catalog("meta_quality")}
    assert rows["shape"]["status"] == "passed"
    assert (rows["small"]["status"], rows["small"]["violation_count"]) == ("failed", 1)


def test_a_custom_sql_the_engine_cannot_run_errors_alone(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read: {connection: d, format: csv, path: events.csv}
        quality:
          on_error: warn
          assertions:
            - {type: custom_sql, condition: "no_such_column > 0", name: broken}
            - {type: custom_sql, condition: "amount < 100", name: small, severity: quarantine}
          quarantine: {connection: d, path: bad}
        write: {connection: d, format: csv, path: out.csv}
""",
            "events.csv": "id,amount\n1,10\n2,600\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = {r["assertion_name"]: r for r in project.catalog("meta_quality")}
    assert rows["broken"]["status"] == "error" and "no_such_column" in rows["broken"]["message"]
    assert (rows["small"]["status"], rows["small"]["violation_count"]) == ("failed", 1)
    assert [r["id"] for r in project.delta("bad")] == [2]
    assert project.path("out.csv").read_text().splitlines() == ["id,amount", "1,10"]


def test_statistic_checks_of_a_good_run_render_their_data_docs_without_errors(odibi_project):
    # GX's metrics give numpy scalars, which its renderer could not format (a traceback per
    # check in the log of a successful run) until they are made Python numbers.
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: amounts
        read: {connection: d, format: csv, path: in.csv}
        quality:
          data_docs: true
          assertions:
            - {type: distribution, column: amount, metric: mean, threshold: ">1", name: mean}
            - {type: distribution, column: amount, metric: min, threshold: ">=0.5", name: low}
            - {type: expect, expectation: expect_column_stdev_to_be_between,
               kwargs: {column: amount, min_value: 0}}
""",
            "in.csv": "amount\n1.5\n2.5\n3.25\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert "Traceback" not in run.output and "ERROR" not in run.output, run.output
    rows = quality_rows(project)
    assert json.loads(rows["mean"]["observed_value"]) == pytest.approx(2.4166666)
    (story,) = project.path(".odibi/stories/p").glob("*/run_*.html")
    page = (story.with_suffix("") / "gx" / "amounts.html").read_text()
    assert "2.4166666" in page and "1.5" in page  # the observed mean and minimum


def test_data_docs_are_built_beside_the_story_and_render_offline(odibi_project):
    import re

    # Data Docs are asked for (GX renders them); without data_docs nothing imports GX.
    yaml = PROJECT.format(assertions=ALL_WARN.rstrip("\n"))
    yaml = yaml.replace("        quality:\n", "        quality:\n          data_docs: true\n")
    project = odibi_project({"odibi.yaml": yaml, "orders.csv": ORDERS})
    assert project.run().exit_code == 0
    (story,) = project.path(".odibi/stories/orders").glob("*/run_*.html")
    docs = story.with_suffix("") / "gx"
    page = docs / "orders_silver.html"
    assert page.exists() and (docs / "index.html").exists()
    assert f'href="{story.stem}/gx/orders_silver.html"' in story.read_text()
    html = page.read_text()
    assert "orders.orders_silver" in html and "Content-Security-Policy" in html
    # Nothing is fetched from a network: no remote scripts, stylesheets or images remain.
    assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=\"https?://", html)
    assert "<script" not in html
    assert 'href="orders_silver.html"' in (docs / "index.html").read_text()


@pytest.mark.parametrize(
    ("on_fail", "exit_code", "written"),
    [("abort", 1, None), ("warn_and_write", 0, 6), ("write_valid_only", 0, 3)],
)
def test_odibi_validation_gate(odibi_project, on_fail, exit_code, written):
    # Rows failing a row check: order 2 twice (duplicate) and order 5 (out of range); the
    # missing amount is not_null's business. 3 of 6 rows pass: 50%, below the 90% required.
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: q
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders_silver
        read: {{connection: d, format: csv, path: orders.csv}}
        validation:
          tests:
            - {{type: unique, columns: [order_id], on_fail: warn}}
            - {{type: range, column: amount, min: 0, max: 100, on_fail: warn}}
          gate: {{require_pass_rate: 0.9, on_fail: {on_fail}}}
        write: {{connection: d, format: parquet, path: silver.parquet}}
""",
            "orders.csv": ORDERS,
        }
    )
    run = project.run()
    assert run.exit_code == exit_code, run.output
    if written is None:
        assert "quality gate: 50.0% of rows pass every check, 90.0% required" in run.stdout
        assert not project.path("silver.parquet").exists()
    else:
        assert pq.read_table(project.path("silver.parquet")).num_rows == written


def test_a_misspelt_quarantine_column_is_named_with_odibis_spelling(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                assertions="""\
            - {type: regex, column: email, pattern: "@", severity: quarantine}"""
            ).replace(
                "quarantine: {connection: d, path: quarantine}",
                "quarantine: {connection: d, path: quarantine, add_columns: "
                "{_rejection_reasn: true}}",
            ),
            "orders.csv": ORDERS,
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "unknown key '_rejection_reasn' (did you mean '_rejection_reason'?)" in run.output
