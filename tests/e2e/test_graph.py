"""``odibi graph``: every format, with each node's last status and DQ score from the catalog."""

from __future__ import annotations

import json
import subprocess

import pytest

PROJECT = """\
project: shop
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: between, column: amount, min: 0, max: 100, severity: warn}
      - name: customers
        read: {connection: d, format: csv, path: customers.csv}
      - name: joined
        depends_on: [orders, customers]
        transform:
          steps: ["SELECT o.*, c.name FROM orders o JOIN customers c USING (customer_id)"]
      - name: broken
        depends_on: [joined]
        transform: {steps: ["SELECT nope FROM df"]}
      - name: after_broken
        depends_on: [broken]
        transform: {steps: ["SELECT * FROM df"]}
      - name: side_branch
        depends_on: [joined]
        transform: {steps: ["SELECT * FROM df"]}
  - pipeline: other
    nodes:
      - name: lonely
        read: {connection: d, format: csv, path: customers.csv}
"""
FILES = {
    "orders.csv": "order_id,customer_id,amount\n1,1,10\n2,1,250\n3,2,30\n4,2,5\n",
    "customers.csv": "customer_id,name\n1,Ada\n2,Bo\n",
}
SIDE = "side_branch"


@pytest.fixture
def shop(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, **FILES})
    assert project.run("--pipeline", "sales").exit_code == 1
    return project


def test_ascii_shows_the_tree_with_statuses_and_dq(shop):
    out = shop.odibi("graph", "{config}", "--pipeline", "sales")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith("sales (last run FAILURE at ") and lines[0].endswith(", DQ 75.0)")
    assert lines[1:] == [
        "orders [OK] DQ 75.0",
        "`-- joined [OK]",
        "    +-- broken [FAILED]",
        "    |   `-- after_broken [SKIPPED]",
        f"    `-- {SIDE} [OK]",
        "customers [OK]",
        "`-- joined (see above)",
    ]


def test_graph_before_any_run_is_drawn_plain(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, **FILES})
    out = project.odibi("graph", "{config}")
    assert out.exit_code == 0, out.output
    assert "sales (no runs yet)" in out.stdout and "other (no runs yet)" in out.stdout
    assert "lonely [no runs]" in out.stdout
    assert not project.path(".odibi").exists()  # drawing reads, never writes


def test_unknown_pipeline_is_a_usage_error(shop):
    out = shop.odibi("graph", "{config}", "--pipeline", "sale")
    assert out.exit_code == 2 and "did you mean 'sales'" in out.stderr


def test_dot_parses_with_graphviz(shop, graphviz_dot, tmp_path):
    out = shop.odibi("graph", "{config}", "--format", "dot", "--output", str(tmp_path / "g.dot"))
    assert out.exit_code == 0, out.output
    done = subprocess.run(
        [graphviz_dot, "-Tjson", str(tmp_path / "g.dot")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    drawn = json.loads(done.stdout)
    objects = {o["name"]: o for o in drawn["objects"]}
    clusters = {o["label"] for name, o in objects.items() if name.startswith("cluster")}
    assert clusters == {"sales", "other"}
    assert f"sales.{SIDE}" in objects
    assert objects["sales.broken"]["fillcolor"] == "#ffebe9"  # FAILURE
    assert objects["sales.after_broken"]["fillcolor"] == "#fff8c5"  # SKIPPED
    assert objects["other.lonely"]["fillcolor"] == "#f6f8fa"  # never ran
    assert objects["sales.orders"]["label"].startswith("orders\\nSUCCESS · DQ 75.0 · ")
    names = {o["_gvid"]: name for name, o in objects.items()}
    edges = {(names[e["tail"]], names[e["head"]]) for e in drawn["edges"]}
    assert edges == {
        ("sales.orders", "sales.joined"),
        ("sales.customers", "sales.joined"),
        ("sales.joined", "sales.broken"),
        ("sales.broken", "sales.after_broken"),
        ("sales.joined", f"sales.{SIDE}"),
    }


def test_mermaid_parses_with_mermaid(shop, chromium, mermaid_js):
    from playwright.sync_api import sync_playwright

    out = shop.odibi("graph", "{config}", "--format", "mermaid")
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert 'p0n0["orders<br/>SUCCESS · DQ 75.0 · ' in text
    assert f"{SIDE}<br/>" in text and ":::FAILURE" in text
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.add_script_tag(path=mermaid_js)
        parsed = page.evaluate("async (text) => JSON.stringify(await mermaid.parse(text))", text)
        assert json.loads(parsed)["diagramType"].startswith("flowchart")
        svg = page.evaluate("async (text) => (await mermaid.render('g', text)).svg", text)
        # A broken definition must be rejected, or this test proves nothing.
        rejected = page.evaluate(
            "async (t) => { try { await mermaid.parse(t); return false } catch { return true } }",
            text.replace("-->", "-->>", 1),
        )
        browser.close()
    assert rejected
    assert svg.count('class="node ') >= 7 and "after_broken" in svg


def test_ascii_draws_long_chains():
    from odibi_core.graph.formats import to_ascii
    from odibi_core.graph.model import GraphNode, PipelineGraph

    chain = PipelineGraph(
        "long", [GraphNode(f"n{i}", [f"n{i - 1}"] if i else []) for i in range(3000)]
    )
    lines = to_ascii([chain]).splitlines()
    assert lines[1] == "n0 [no runs]" and lines[-1].strip() == "`-- n2999 [no runs]"
    assert len(lines) == 1 + 3000
