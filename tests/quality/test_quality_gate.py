"""Odibi's ``validation.gate`` through ``odibi run`` with real Great Expectations: per-check
thresholds, row-count bounds and the change against the node's last successful run, each with
every ``on_fail``; what is written and what lands in the catalog, read back independently."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

# 6 rows; against the checks below: order 2 twice (unique), order 4 without an amount
# (not_null), order 5 with an email lacking '@' (email_ok). Rows 1 and 6 pass every check.
ORDERS = """\
order_id,amount,status,email
1,10.0,completed,a@x.org
2,20.0,completed,b@x.org
2,30.0,weird,c@x.org
4,,pending,d@x.org
5,50000,shipped,noat
6,60.0,pending,f@x.org
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
        validation:
          tests:
            - {{type: not_null, columns: [amount], on_fail: warn}}
            - {{type: unique, columns: [order_id], on_fail: warn}}
            - {{type: regex_match, column: email, pattern: "@", on_fail: warn, name: email_ok}}
          gate:
{gate}
        write: {{connection: d, format: parquet, path: silver.parquet}}
      - name: downstream
        depends_on: [orders_silver]
        write: {{connection: d, format: csv, path: downstream.csv}}
"""


def gated(odibi_project, gate: str, orders: str = ORDERS):
    indented = "\n".join(" " * 12 + line for line in gate.strip("\n").splitlines())
    return odibi_project({"odibi.yaml": PROJECT.format(gate=indented), "orders.csv": orders})


def gate_rows(project, run_id: str | None = None) -> dict[str, dict]:
    rows = project.catalog("meta_quality")
    if run_id is None:
        run_id = max(rows, key=lambda r: r["timestamp"])["run_id"]
    return {
        r["assertion_name"]: r
        for r in rows
        if r["run_id"] == run_id and "gate" in r["assertion_type"]
    }


def node_run(project, node: str = "orders_silver") -> dict:
    return max(
        (r for r in project.catalog("meta_runs") if r["node_name"] == node),
        key=lambda r: r["timestamp"],
    )


def written_ids(project) -> list[int]:
    return sorted(pq.read_table(project.path("silver.parquet")).column("order_id").to_pylist())


THRESHOLDS = """\
require_pass_rate: 0.0
on_fail: {on_fail}
thresholds:
  - {{test: not_null, min_pass_rate: 0.8}}
  - {{test: unique, min_pass_rate: 0.9}}
  - {{test: email_ok, min_pass_rate: 0.8}}
"""


@pytest.mark.parametrize(
    ("on_fail", "exit_code", "written"),
    [
        ("abort", 1, None),
        ("warn_and_write", 0, [1, 2, 2, 4, 5, 6]),
        # Only rows passing every row check: not order 2 (duplicate), 4 (no amount), 5 (email).
        ("write_valid_only", 0, [1, 6]),
    ],
)
def test_thresholds_hold_each_check_to_its_own_pass_rate(
    odibi_project, on_fail, exit_code, written
):
    # not_null: 5 of 6 rows pass (83.3% >= 80%); unique: 4 of 6 (66.7% < 90%);
    # email_ok (named): 5 of 6 (83.3% >= 80%). Only the unique threshold fails.
    project = gated(odibi_project, THRESHOLDS.format(on_fail=on_fail))
    run = project.run()
    assert run.exit_code == exit_code, run.output

    rows = gate_rows(project)
    assert set(rows) == {"gate", "gate.not_null", "gate.unique", "gate.email_ok"}
    summary = {
        name: (r["status"], r["violation_count"], r["element_count"]) for name, r in rows.items()
    }
    assert summary == {
        "gate": ("passed", 4, 6),  # 4 rows fail some check; 0% required
        "gate.not_null": ("passed", 1, 6),
        "gate.unique": ("failed", 2, 6),
        "gate.email_ok": ("passed", 1, 6),
    }
    assert json.loads(rows["gate.unique"]["observed_value"]) == pytest.approx(4 / 6)
    assert rows["gate.unique"]["message"] == "unique: 66.7% of rows pass, 90.0% required"
    assert rows["gate.unique"]["columns"] == "order_id"
    expected_severity = "error" if on_fail == "abort" else "warn"
    assert {r["severity"] for r in rows.values()} == {expected_severity}

    node = node_run(project)
    downstream = node_run(project, "downstream")
    if written is None:
        assert "quality gate: unique: 66.7% of rows pass, 90.0% required" in run.stdout
        assert not project.path("silver.parquet").exists()
        assert node["status"] == "FAILURE"
        assert "unique: 66.7% of rows pass" in node["error_message"]
        assert downstream["status"] == "SKIPPED"
    else:
        assert written_ids(project) == written
        assert node["status"] == "SUCCESS" and node["rows_out"] == len(written)
        # Dependants get what was written.
        assert project.path("downstream.csv").read_text().count("\n") == 1 + len(written)
    # The story lists the gate's rows with the assertions.
    (story,) = project.path(".odibi/stories/orders").glob("*/run_*.html")
    assert "gate.unique" in story.read_text()
    assert f"gate failed ({on_fail})" in story.read_text()
    # The run's summary counts the three checks, not the gate rows judging them.
    summary = json.loads(story.with_suffix(".json").read_text())["sections"]["quality"]
    assert (summary["assertions"], summary["gates"], summary["gates_failed"]) == (
        3,
        1,
        ["orders_silver"],
    )
    # The gate's rows are not assertions: the DQ score is the three checks' alone.
    expected_score = 100 * ((1 - 1 / 6) + (1 - 2 / 6) + (1 - 1 / 6)) / 3
    assert node["dq_score"] == pytest.approx(expected_score)


def test_a_threshold_on_a_type_applies_to_every_check_of_it(odibi_project):
    yaml = PROJECT.format(
        gate="            require_pass_rate: 0.0\n"
        "            thresholds: [{test: range, min_pass_rate: 0.9}]"
    ).replace(
        '            - {type: regex_match, column: email, pattern: "@", on_fail: warn, name: email_ok}',
        "            - {type: range, column: amount, min: 0, max: 100, on_fail: warn}\n"
        "            - {type: range, column: order_id, min: 0, max: 5, on_fail: warn}",
    )
    project = odibi_project({"odibi.yaml": yaml, "orders.csv": ORDERS})
    run = project.run()
    # Odibi's `range` is our `between`; both range checks are held to 90%. Amount: order 5 is
    # above 100 (5 of 6 rows pass); order_id: order 6 is above 5 (5 of 6). Both fail.
    assert run.exit_code == 1
    rows = gate_rows(project)
    # Named the Odibi way: the type as written, a second one by its position in the block.
    assert {n: r["status"] for n, r in rows.items() if n != "gate"} == {
        "gate.range": "failed",
        "gate.range_3": "failed",
    }
    assert "range: 83.3% of rows pass, 90.0% required" in run.stdout
    assert "range_3: 83.3% of rows pass, 90.0% required" in run.stdout


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ("{min: 10}", "6 rows, at least 10 required"),
        ("{max: 5}", "6 rows, at most 5 allowed"),
        ("{min: 1, max: 6}", None),
    ],
)
def test_row_count_bounds(odibi_project, bounds, message):
    project = gated(odibi_project, f"require_pass_rate: 0.0\nrow_count: {bounds}")
    run = project.run()
    rows = gate_rows(project)
    row = rows["gate.row_count"]
    assert json.loads(row["observed_value"]) == {"rows": 6, "previous": None, "change": None}
    if message is None:
        assert run.exit_code == 0, run.output
        assert (row["status"], row["violation_count"], row["element_count"]) == ("passed", 0, 1)
        assert written_ids(project) == [1, 2, 2, 4, 5, 6]
    else:
        assert run.exit_code == 1
        assert f"quality gate: {message}" in run.stdout
        assert (row["status"], row["violation_count"], row["message"]) == ("failed", 1, message)
        assert not project.path("silver.parquet").exists()


def orders(n: int) -> str:
    return "order_id,amount,status,email\n" + "".join(
        f"{i},{i}.0,completed,x{i}@x.org\n" for i in range(1, n + 1)
    )


def test_row_count_change_is_measured_against_the_last_successful_run(odibi_project, caplog):
    project = gated(
        odibi_project,
        "require_pass_rate: 0.0\nrow_count: {change_threshold: 0.3}",
        orders=orders(10),
    )
    first = project.run()
    assert first.exit_code == 0, first.output  # no earlier run: nothing to compare with
    assert json.loads(gate_rows(project)["gate.row_count"]["observed_value"]) == {
        "rows": 10,
        "previous": None,
        "change": None,
    }

    project.write({"orders.csv": orders(6)})  # 40% fewer than 10
    second = project.run()
    assert second.exit_code == 1
    message = (
        "6 rows, 40.0% fewer than the 10 of the last successful run, at most 30.0% change allowed"
    )
    assert f"quality gate: {message}" in second.stdout
    row = gate_rows(project)["gate.row_count"]
    assert row["status"] == "failed" and row["message"] == message
    assert json.loads(row["observed_value"]) == {"rows": 6, "previous": 10, "change": 0.4}
    assert len(pq.read_table(project.path("silver.parquet"))) == 10  # the first run's output

    # The failed run is not a baseline: 12 rows are +20% against 10 (not +100% against 6).
    project.write({"orders.csv": orders(12)})
    third = project.run()
    assert third.exit_code == 0, third.output
    assert json.loads(gate_rows(project)["gate.row_count"]["observed_value"]) == {
        "rows": 12,
        "previous": 10,
        "change": pytest.approx(0.2),
    }

    # Growth counts too, and warn_and_write writes anyway and says so.
    project.write(
        {
            "odibi.yaml": project.path("odibi.yaml")
            .read_text()
            .replace("row_count:", "on_fail: warn_and_write\n            row_count:"),
            "orders.csv": orders(24),
        }
    )
    caplog.clear()
    fourth = project.run()
    assert fourth.exit_code == 0, fourth.output
    warnings = [r.getMessage() for r in caplog.records if r.name == "odibi.quality"]
    assert any("quality gate failed (warn_and_write): 24 rows, 100.0% more" in w for w in warnings)
    row = gate_rows(project)["gate.row_count"]
    assert row["status"] == "failed" and row["severity"] == "warn"
    assert row["message"].startswith("24 rows, 100.0% more than the 12 of the last successful run")
    assert len(pq.read_table(project.path("silver.parquet"))) == 24
    assert node_run(project)["rows_out"] == 24


def test_a_failed_row_count_with_write_valid_only_drops_no_rows(odibi_project):
    # No row is to blame for too few rows: write_valid_only writes the rows passing every
    # row check, which here are all of them, and records the failure.
    project = gated(
        odibi_project,
        "require_pass_rate: 0.0\non_fail: write_valid_only\nrow_count: {min: 100}",
        orders=orders(3),
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert len(pq.read_table(project.path("silver.parquet"))) == 3
    row = gate_rows(project)["gate.row_count"]
    assert (row["status"], row["severity"]) == ("failed", "warn")


def test_every_gate_failure_is_named_in_one_message(odibi_project):
    project = gated(
        odibi_project,
        """\
require_pass_rate: 0.9
thresholds:
  - {test: unique, min_pass_rate: 1.0}
row_count: {max: 3}
""",
    )
    run = project.run()
    assert run.exit_code == 1
    assert (
        "quality gate: 33.3% of rows pass every check, 90.0% required; "
        "unique: 66.7% of rows pass, 100.0% required; 6 rows, at most 3 allowed"
    ) in run.stdout
    assert {n: r["status"] for n, r in gate_rows(project).items()} == {
        "gate": "failed",
        "gate.unique": "failed",
        "gate.row_count": "failed",
    }


BAD_GATE = """\
project: q
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders_silver
        read: {connection: d, format: csv, path: orders.csv}
        validation:
          tests:
            - {type: not_null, columns: [amount]}
            - {type: row_count, min: 1}
          gate:
            require_pass_rate: 0.9
            treshold: 1
            thresholds:
              - test: not_nul
                min_pass_rate: 0.99
              - test: row_count
                min_pass_rate: 1.5
              - {test: not_null}
            row_count:
              min: 10
              max: 5
            on_fail: explode
"""


def test_bad_gate_keys_are_reported_by_validate_with_their_lines(odibi_project):
    project = odibi_project({"odibi.yaml": BAD_GATE, "orders.csv": ORDERS})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    lines = {
        14: "gate: unknown key 'treshold' (did you mean 'thresholds'?)",
        16: "gate: threshold on 'not_nul' names no check of this node (did you mean "
        "'not_null'?); its checks: not_null, row_count",
        18: "gate: threshold on 'row_count': row_count checks the table as a whole",
        19: "gate: min_pass_rate: Input should be less than or equal to 1",
        20: "gate: missing required key 'min_pass_rate'",
        21: "gate: row_count: min (10) is above max (5)",
        24: "gate: on_fail: Input should be 'abort', 'warn_and_write' or 'write_valid_only'",
    }
    for line, message in lines.items():
        assert any(
            f"odibi.yaml:{line}:" in row and message in row for row in run.stderr.splitlines()
        ), (line, message, run.stderr)
    # odibi run refuses the project the same way, before running anything.
    assert project.run().exit_code == 2
    assert not project.path(".odibi/system/meta_runs").exists()


def test_a_gate_under_quality_is_located_there(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: unique, columns: [order_id], name: ids}
          gate:
            thresholds:
              - {test: idz, min_pass_rate: 1}
""",
            "orders.csv": ORDERS,
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "odibi.yaml:13:" in run.stderr and "(did you mean 'ids'?)" in run.stderr


def test_thresholds_on_a_check_that_cannot_run_or_cannot_point_at_rows(odibi_project):
    yaml = PROJECT.format(
        gate="            require_pass_rate: 0.0\n"
        "            thresholds:\n"
        "              - {test: not_null, min_pass_rate: 0.5}\n"
        "              - {test: expect, min_pass_rate: 0.8}"
    ).replace(
        "            - {type: not_null, columns: [amount], on_fail: warn}",
        "            - {type: not_null, columns: [no_such_column], on_fail: warn}\n"
        "            - {type: expect, expectation: expect_column_value_lengths_to_be_between,"
        " kwargs: {column: status, min_value: 5, max_value: 7}, on_fail: warn}",
    )
    project = odibi_project({"odibi.yaml": yaml, "orders.csv": ORDERS})
    run = project.run()
    assert run.exit_code == 1
    # A check that could not run never passes its threshold silently.
    assert "not_null could not run, so its pass rate is unknown" in run.stdout
    rows = gate_rows(project)
    assert rows["gate.not_null"]["status"] == "failed"
    # `expect` has no row mask, so GX's counts: 'completed' (twice) is longer than 7.
    expect = rows["gate.expect"]
    assert (expect["status"], expect["violation_count"], expect["element_count"]) == (
        "failed",
        2,
        6,
    )
    assert json.loads(expect["observed_value"]) == pytest.approx(4 / 6)
    assert "expect: 66.7% of rows pass, 80.0% required" in run.stdout


def test_row_count_change_compares_rows_before_the_gate_drops_any(odibi_project):
    # Four of six rows fail a check every run and write_valid_only drops them: 2 of 6 are
    # written each time. The same input again is no change (6 against 6, not 6 against 2).
    project = gated(
        odibi_project,
        "require_pass_rate: 0.9\non_fail: write_valid_only\nrow_count: {change_threshold: 0.3}",
    )
    assert project.run().exit_code == 0
    assert node_run(project)["rows_out"] == 2
    assert json.loads(node_run(project)["metrics_json"])["rows_before_checks"] == 6
    second = project.run()
    assert second.exit_code == 0, second.output
    row = gate_rows(project)["gate.row_count"]
    assert row["status"] == "passed"
    assert json.loads(row["observed_value"]) == {"rows": 6, "previous": 6, "change": 0.0}
