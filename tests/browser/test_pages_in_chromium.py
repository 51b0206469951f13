"""Stories, the pipeline index, Data Docs and ``odibi graph --format html`` opened in a real
browser (Debian's chromium) from file://: no console errors, nothing fetched, pictures drawn.
Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import json
from pathlib import Path

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
        columns:
          email: {pii: true}
        quality:
          data_docs: true
          assertions:
            - {name: ids, type: not_null, columns: [order_id]}
            - {name: amounts, type: between, column: amount, min: 0, max: 100, severity: warn}
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
"""
ORDERS = "order_id,customer_id,amount,email\n1,1,10,a@x.org\n2,1,250,b@x.org\n3,2,30,c@x.org\n"


class Watched:
    """A page plus everything it tried to fetch or complained about."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.fetched: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.fetched.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def documents_only(self) -> list[str]:
        """Requests other than the file:// documents navigated to."""
        return [u for u in self.fetched if not u.startswith("file://")]


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield instance
        instance.close()


def test_story_index_and_data_docs_in_chromium(odibi_project, browser, artifacts):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT,
            "orders.csv": ORDERS,
            "customers.csv": "customer_id,name\n1,Ada\n2,Bo\n",
        }
    )
    project.run()
    project.write({"orders.csv": ORDERS + "4,2,5,d@x.org\n"})
    project.run()
    last = Path(project.odibi("story", "last", "{config}", "--format", "path").stdout.strip())
    story = json.loads(last.with_suffix(".json").read_text())

    view = Watched(browser, last.as_uri())
    page = view.page
    page.screenshot(path=str(artifacts / "story.png"), full_page=True)
    statuses = page.eval_on_selector_all(
        "svg.dag g.dag-node", "els => els.map(e => [e.dataset.node, e.dataset.status])"
    )
    assert dict(statuses) == {
        "orders": "SUCCESS",
        "customers": "SUCCESS",
        "joined": "SUCCESS",
        "broken": "FAILURE",
        "after_broken": "SKIPPED",
    }
    # The picture is laid out: every box inside the SVG, none on top of another.
    boxes = page.eval_on_selector_all(
        "svg.dag g.dag-node rect", "els => els.map(e => e.getBBox()).map(b => [b.x, b.y])"
    )
    assert len({tuple(b) for b in boxes}) == 5
    assert page.is_visible("#run-dq") and page.inner_text("#run-dq") == "87.5"
    assert page.get_attribute("#node-broken", "open") is not None  # failures start open
    assert page.get_attribute("#node-orders", "open") is None
    page.click("svg.dag a[href='#node-orders-detail']")
    assert page.evaluate("location.hash") == "#node-orders-detail"
    assert page.get_attribute("#node-orders", "open") is not None  # opened by the link
    quality = page.inner_text("#node-orders")
    assert "amounts" in quality and "250" in quality and "b@x.org" not in page.content()
    assert page.eval_on_selector_all("svg.spark", "els => els.length") >= 4  # trends drawn
    assert story["run_id"] in page.inner_text("header")

    page.click("a.data-docs")
    page.wait_for_load_state("load")
    assert page.url.endswith("/gx/index.html")
    page.screenshot(path=str(artifacts / "data-docs-index.png"), full_page=True)
    page.click("text=orders")
    page.wait_for_load_state("load")
    assert "shop" in page.content() or "sales.orders" in page.content()
    page.screenshot(path=str(artifacts / "data-docs-node.png"), full_page=True)

    index = Watched(browser, (last.parent.parent / "index.html").as_uri())
    index.page.screenshot(path=str(artifacts / "story-index.png"), full_page=True)
    assert index.page.eval_on_selector_all("#runs a", "els => els.length") == 2
    assert index.page.eval_on_selector_all(".trend svg.spark", "els => els.length") == 3
    # One DQ line per checked node (only "orders" has checks).
    assert index.page.eval_on_selector_all("#node-dq svg.spark", "els => els.length") == 1
    index.page.click("#runs a >> nth=0")
    index.page.wait_for_load_state("load")
    assert index.page.url == last.as_uri()

    for watched in (view, index):
        assert watched.problems == []
        assert watched.documents_only() == []


def test_graph_page_in_chromium(odibi_project, browser, artifacts, tmp_path):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT,
            "orders.csv": ORDERS,
            "customers.csv": "customer_id,name\n1,Ada\n2,Bo\n",
        }
    )
    project.run()
    out = tmp_path / "graph.html"
    assert project.odibi("graph", "{config}", "--format", "html", "-o", str(out)).exit_code == 0
    view = Watched(browser, out.as_uri())
    view.page.screenshot(path=str(artifacts / "graph.png"), full_page=True)
    statuses = dict(
        view.page.eval_on_selector_all(
            "svg.dag g.dag-node", "els => els.map(e => [e.dataset.node, e.dataset.status])"
        )
    )
    assert statuses["broken"] == "FAILURE" and statuses["orders"] == "SUCCESS"
    assert "DQ 83.3" in view.page.text_content("svg.dag")
    assert view.problems == [] and view.documents_only() == []
