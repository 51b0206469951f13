"""Anomaly assertions through ``odibi run``: bounds learned from histories seeded in the real
catalog (``meta_runs`` and ``meta_quality`` rows written through the catalog's own API, or by
running the pipeline), verdicts read back from ``meta_quality`` with the independent reader."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from odibi_catalog_quality import schema as quality_schema
from odibi_core.catalog import tables
from odibi_core.catalog.manager import Catalog
from odibi_core.catalog.rows import CatalogRows
from odibi_quality.anomaly import AnomalyParams, judge, learn
from odibi_quality.history import Point

PROJECT = """\
project: a
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: orders.csv}}
        quality:
          assertions:
{assertions}
        write: {{connection: d, format: parquet, path: out.parquet}}
"""


def orders_csv(rows: int, null_every: int = 0, amount: float = 10.0) -> str:
    lines = ["id,amount"]
    for i in range(rows):
        value = "" if null_every and i % null_every == 0 else f"{amount + (i % 3)}"
        lines.append(f"{i},{value}")
    return "\n".join(lines) + "\n"


def project_with(odibi_project, assertions: str, csv: str):
    return odibi_project(
        {"odibi.yaml": PROJECT.format(assertions=assertions.rstrip("\n")), "orders.csv": csv}
    )


def catalog_of(project) -> Catalog:
    return Catalog(str(project.path(".odibi/system")))


def seed_runs(project, values: list[tuple[datetime, float]], metric: str = "rows") -> None:
    """Successful node runs of ``p.orders`` in ``meta_runs``: (end time, rows_out or DQ)."""
    rows = []
    for when, value in values:
        rows.append(
            {
                "run_id": str(uuid.uuid4()),
                "project": "a",
                "pipeline_name": "p",
                "node_name": "orders",
                "scope": "node",
                "status": "SUCCESS",
                "started_at": when - timedelta(seconds=5),
                "timestamp": when,
                "date": when.date(),
                "duration_ms": 5000,
                "rows_in": int(value) if metric == "rows" else 100,
                "rows_out": int(value) if metric == "rows" else 100,
                "attempt": 1,
                "dq_score": value if metric == "dq" else None,
            }
        )
    catalog_of(project).append(CatalogRows(tables.META_RUNS, rows, tables.schema("meta_runs")))


def seed_quality(project, column: str, expectation: str, values: list[tuple[datetime, float]]):
    """``meta_quality`` rows an anomaly check of ``column`` would have left in earlier runs."""
    rows = [
        {
            "run_id": str(uuid.uuid4()),
            "pipeline_name": "p",
            "node_name": "orders",
            "assertion_name": "old_name",
            "assertion_type": "anomaly",
            "columns": column,
            "severity": "warn",
            "status": "passed",
            "violation_count": 0,
            "element_count": 1,
            "violation_pct": 0.0,
            "observed_value": repr(value),
            "expectation_type": expectation,
            "suite_name": "p.orders",
            "failing_examples": "[]",
            "message": None,
            "timestamp": when,
            "date": when.date(),
        }
        for when, value in values
    ]
    catalog_of(project).append(CatalogRows("meta_quality", rows, quality_schema()))


def daily(days: int, value, start: int = 1) -> list[tuple[datetime, float]]:
    """One run a day going back ``days`` days from yesterday; ``value(day_ago, when)``."""
    now = datetime.now(UTC)
    return [
        (now - timedelta(days=d), value(d, now - timedelta(days=d))) for d in range(start, days + 1)
    ]


def noisy(centre: float, spread: float, seed: int):
    rng = random.Random(seed)
    return lambda d, when: round(rng.gauss(centre, spread))


def latest(project, name: str) -> dict:
    rows = [r for r in project.catalog("meta_quality") if r["assertion_name"] == name]
    return max(rows, key=lambda r: r["timestamp"])


ROW_COUNT = "            - {type: anomaly, metric: row_count, name: volume, seasonality: none}\n"


def test_a_drop_in_rows_is_found_and_explained(odibi_project):
    project = project_with(odibi_project, ROW_COUNT, orders_csv(4100))
    seed_runs(project, daily(28, noisy(10000, 130, seed=1)))
    run = project.run()
    assert run.exit_code == 1, run.output  # severity error: the node fails, nothing written
    assert not project.path("out.parquet").exists()
    assert "volume failed: expected 9." in run.output and "got 4.1k" in run.output
    row = latest(project, "volume")
    assert row["status"] == "failed" and row["observed_value"] == "4100"
    assert row["message"].startswith("expected 9.")
    assert "k rows from the last 28 runs, got 4.1k" in row["message"]
    assert row["expectation_type"] == "expect_table_row_count_to_be_between"
    story = next(project.path(".odibi/stories").rglob("run_*.html")).read_text()
    assert "rows from the last 28 runs, got 4.1k" in story


def test_normal_noise_is_not_flagged(odibi_project):
    project = project_with(odibi_project, ROW_COUNT, orders_csv(10190))
    seed_runs(project, daily(28, noisy(10000, 130, seed=2)))
    run = project.run()
    assert run.exit_code == 0, run.output
    row = latest(project, "volume")
    assert row["status"] == "passed", row["message"]
    assert "from the last 28 runs, got 10.2k" in row["message"]


def test_noise_from_the_history_itself_is_almost_never_flagged():
    # 400 new values drawn like the history: at 3 spreads about 0.3% lie outside by chance.
    rng = random.Random(7)
    now = datetime.now(UTC)
    params = AnomalyParams(metric="row_count", seasonality="none")
    flagged = 0
    for _ in range(400):
        history = [Point(now - timedelta(days=d), rng.gauss(10000, 200)) for d in range(1, 29)]
        baseline = learn(params, history, now)
        flagged += not judge(rng.gauss(10000, 200), baseline)
    assert flagged <= 8  # well under 2%; a real anomaly (below) always is
    assert not judge(9000, learn(params, [Point(now, 10000 + (i % 5)) for i in range(28)], now))


def test_weekday_seasonality(odibi_project):
    # Today's weekday carries twice the volume (a Monday loading the weekend, say).
    today = datetime.now(UTC).weekday()

    def volume(d, when):
        return 20000 + (d % 5) * 40 if when.weekday() == today else 10000 + (d % 5) * 20

    assertions = (
        "            - {type: anomaly, metric: row_count, name: seasonal}\n"
        "            - {type: anomaly, metric: row_count, name: flat, seasonality: none, severity: warn}\n"
    )
    project = project_with(odibi_project, assertions, orders_csv(20050))
    seed_runs(project, daily(70, volume))  # ten weeks: ten runs on today's weekday
    run = project.run()
    assert run.exit_code == 0, run.output
    weekday = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]
    seasonal, flat = latest(project, "seasonal"), latest(project, "flat")
    assert seasonal["status"] == "passed", seasonal["message"]
    assert f"rows from the last 10 runs on {weekday[today]}, got 20.1k" in seasonal["message"]
    assert flat["status"] == "failed" and "from the last 28 runs" in flat["message"]

    # An ordinary weekday's volume on today's weekday is the anomaly now.
    project.write({"orders.csv": orders_csv(10040)})
    run = project.run()
    assert run.exit_code == 1, run.output
    assert latest(project, "seasonal")["status"] == "failed"
    assert latest(project, "flat")["status"] == "passed"


def test_weekday_falls_back_to_all_days_without_enough_of_them(odibi_project):
    project = project_with(
        odibi_project,
        "            - {type: anomaly, metric: row_count, name: volume}\n",
        orders_csv(10000),
    )
    seed_runs(project, daily(20, lambda d, when: 10000 + d))  # at most three of each weekday
    assert project.run().exit_code == 0
    assert "from the last 20 runs" in latest(project, "volume")["message"]


def test_too_little_history_is_not_judged(odibi_project):
    project = project_with(odibi_project, ROW_COUNT, orders_csv(5))
    seed_runs(project, daily(3, lambda d, when: 10000))
    run = project.run()
    assert run.exit_code == 0, run.output
    row = latest(project, "volume")
    assert row["status"] == "passed"
    assert row["message"] == "not judged yet: 3 earlier runs, 7 needed to judge (got 5)"


def test_null_share_mean_and_freshness_learn_from_meta_quality(odibi_project):
    assertions = (
        "            - {type: anomaly, metric: null_share, column: amount, name: nulls}\n"
        "            - {type: anomaly, metric: mean, column: amount, name: avg, severity: warn}\n"
        "            - {type: anomaly, metric: freshness, column: updated, name: fresh, severity: warn}\n"
    )
    now = datetime.now(UTC)
    # 25% nulls today against ~2% before; mean 11 as before; data 3 days old against ~1 hour.
    stale = (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    lines = orders_csv(400, null_every=4).splitlines()
    csv = "\n".join([lines[0] + ",updated", *(f"{line},{stale}" for line in lines[1:])]) + "\n"
    project = project_with(odibi_project, assertions, csv)
    seed_quality(
        project,
        "amount",
        "expect_column_proportion_of_non_null_values_to_be_between",
        daily(14, lambda d, w: 0.98 - 0.001 * (d % 4)),
    )
    seed_quality(
        project, "amount", "expect_column_mean_to_be_between", daily(14, lambda d, w: 11.0)
    )
    seed_quality(
        project,
        "updated",
        "expect_column_max_to_be_between",
        daily(14, lambda d, w: 3600.0 + 60 * (d % 3)),
    )
    run = project.run()
    assert run.exit_code == 1, run.output  # the null share is an error-severity anomaly
    nulls, avg, fresh = latest(project, "nulls"), latest(project, "avg"), latest(project, "fresh")
    assert nulls["status"] == "failed"
    assert float(nulls["observed_value"]) == pytest.approx(0.25)
    assert "nulls in amount from the last 14 runs, got 25.0%" in nulls["message"]
    assert avg["status"] == "passed", avg["message"]
    assert fresh["status"] == "failed"
    assert fresh["message"].startswith("expected the newest updated at most 1.")
    assert fresh["message"].endswith("h old from the last 14 runs, got 3d")
    assert float(fresh["observed_value"]) == pytest.approx(3 * 86400, rel=0.01)


def test_values_recorded_by_one_run_are_learned_by_the_next(odibi_project):
    assertions = (
        "            - {type: anomaly, metric: mean, column: amount, name: avg, "
        "lookback: 3, severity: warn}\n"
    )
    project = project_with(odibi_project, assertions, orders_csv(30, amount=10.0))
    for _ in range(3):
        assert project.run().exit_code == 0
    assert "not judged yet: 2 earlier runs, 3 needed" in latest(project, "avg")["message"]
    project.write({"orders.csv": orders_csv(30, amount=50.0)})
    assert project.run().exit_code == 0  # warn: recorded, written
    row = latest(project, "avg")
    assert row["status"] == "failed"
    assert row["message"].startswith(
        "expected a mean amount of 10.67\u201311.33 from the last 3 runs"
    )
    assert row["message"].endswith("days, got 51")  # the three runs were today: same weekday


def test_a_falling_dq_score_is_found(odibi_project):
    assertions = (
        "            - {type: not_null, columns: [amount], severity: warn}\n"
        "            - {type: anomaly, metric: dq_score, name: dq}\n"
    )
    project = project_with(odibi_project, assertions, orders_csv(100, null_every=2))
    seed_runs(project, daily(14, lambda d, w: 99.5 + 0.1 * (d % 3)), metric="dq")
    run = project.run()
    assert run.exit_code == 1, run.output
    row = latest(project, "dq")
    assert row["status"] == "failed"
    assert float(row["observed_value"]) == pytest.approx(75.0)  # (0.5 + 1) / 2
    assert row["message"] == "expected a DQ score of at least 96.6 from the last 14 runs, got 75.0"


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        ("{type: anomaly, metric: mean}", "metric 'mean' needs a 'column'"),
        ("{type: anomaly, metric: row_count, column: id}", "takes no 'column'"),
        ("{type: anomaly, metric: rows}", "Input should be 'row_count', 'dq_score'"),
        ("{type: anomaly, metric: row_count, lookback: 5, min_history: 6}", "above lookback"),
        ("{type: anomaly, metric: row_count, severity: quarantine}", "cannot quarantine"),
    ],
)
def test_bad_anomaly_blocks_are_reported_by_validate(odibi_project, assertion, message):
    project = project_with(odibi_project, f"            - {assertion}\n", orders_csv(3))
    result = project.odibi("validate", "{config}")
    assert result.exit_code == 2
    assert message in result.output
