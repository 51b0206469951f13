"""The DQ trend of each checked node: lines in the story index and ``odibi catalog quality
--trend``, after real runs whose data gets worse."""

from __future__ import annotations

import json
import re

import pytest

PROJECT = """\
project: t
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: not_null, columns: [amount], severity: warn, name: amount_present}
            - {type: between, column: amount, min: 0, max: 100, severity: warn, name: amount_ok}
      - name: customers
        read: {connection: d, format: csv, path: customers.csv}
        quality:
          assertions:
            - {type: unique, columns: [id], severity: warn}
      - name: plain
        depends_on: [orders]
        write: {connection: d, format: csv, path: plain.csv}
"""


def orders(nulls: int) -> str:
    rows = [f"{i},{'' if i < nulls else 10}" for i in range(10)]
    return "id,amount\n" + "\n".join(rows) + "\n"


@pytest.fixture
def three_runs(odibi_project):
    """Three runs: orders with 0, 2 and 5 missing amounts of 10; customers always clean."""
    project = odibi_project({"odibi.yaml": PROJECT, "customers.csv": "id\n1\n2\n3\n"})
    for nulls in (0, 2, 5):
        project.write({"orders.csv": orders(nulls)})
        run = project.run()
        assert run.exit_code == 0, run.output
    return project


def test_the_story_index_draws_a_dq_line_per_checked_node(three_runs):
    index = (three_runs.path(".odibi/stories/p/index.html")).read_text()
    table = index[index.index('<table id="node-dq">') : index.index('<table id="runs">')]
    rows = re.findall(r'<tr data-node="([^"]+)">(.*?)</tr>', table, re.S)
    assert [name for name, _ in rows] == ["orders", "customers"]  # "plain" has no checks
    orders_row = dict(rows)["orders"]
    assert "<polyline" in orders_row and "DQ score of orders per run" in orders_row
    cells = re.findall(r'<td class="num">([^<]*)</td>', orders_row)
    # not_null: 1 - 5/10 and between passes (nulls are not its business): (0.5 + 1) / 2.
    assert cells == ["75.0", "75.0", "3"]
    points = re.search(r'points="([^"]+)"', orders_row).group(1).split()
    heights = [int(p.split(",")[1]) for p in points]
    assert len(heights) == 3 and heights[0] < heights[1] < heights[2]  # SVG y grows downward
    summaries = json.loads(three_runs.path(".odibi/stories/p/index.json").read_text())
    assert summaries["version"] == 2
    assert all("node_dq" in e["summary"] for e in summaries["runs"].values())


def test_an_index_cached_before_node_scores_is_summarized_again(three_runs):
    index_json = three_runs.path(".odibi/stories/p/index.json")
    old = json.loads(index_json.read_text())
    for entry in old["runs"].values():
        entry["summary"].pop("node_dq")
    index_json.write_text(json.dumps({**old, "version": 1}))
    three_runs.write({"orders.csv": orders(0)})
    assert three_runs.run().exit_code == 0
    index = three_runs.path(".odibi/stories/p/index.html").read_text()
    assert '<td class="num">4</td>' in index  # all four runs have the orders score again


def test_catalog_quality_trend(three_runs):
    result = three_runs.odibi("catalog", "quality", "{config}", "--trend", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["node_name"]: r for r in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"orders", "customers"}
    orders_trend = rows["orders"]
    assert orders_trend["scores"] == pytest.approx([100.0, 90.0, 75.0])
    assert orders_trend["latest"] == pytest.approx(75.0)
    assert orders_trend["change"] == pytest.approx(-25.0)
    assert orders_trend["failed_assertions"] == 2
    assert orders_trend["most_failed"] == "amount_present (2)"
    assert orders_trend["trend"] == "█▅▁"
    assert rows["customers"]["trend"] == "███" and rows["customers"]["most_failed"] is None

    table = three_runs.odibi("catalog", "quality", "{config}", "--trend")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["pipeline_name", "node_name", "runs", "trend"]
    assert lines[1].split()[:4] == ["p", "orders", "3", "█▅▁"]  # worst latest score first
