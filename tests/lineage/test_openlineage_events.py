"""OpenLineage run events through the real CLI, against an HTTP receiver on 127.0.0.1 that
plays the lineage server: START and COMPLETE/FAIL per pipeline and node job, datasets with
schema facets, the parent facet, and delivery that never fails a run."""

from __future__ import annotations

import pytest

from http_receiver import http_receiver

ORDERS = """\
order_id,amount,status
1,10.0,completed
2,20.0,completed
3,30.0,pending
"""


@pytest.fixture(scope="module")
def receiver():
    with http_receiver() as r:
        yield r


def project_files(url: str, lineage_extra: str = "", fail: bool = False) -> dict[str, str]:
    select = "no_such_column" if fail else "order_id, amount"
    return {
        "odibi.yaml": f"""\
project: shop
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
lineage: {{url: "{url}", namespace: shop_jobs{lineage_extra}}}
pipelines:
  - pipeline: bronze
    nodes:
      - name: raw
        read: {{connection: d, format: csv, path: orders.csv}}
      - name: clean
        depends_on: [raw]
        transform: {{steps: ["SELECT {select} FROM raw WHERE amount > 15"]}}
        write: {{connection: d, format: delta, path: silver/orders}}
""",
        "orders.csv": ORDERS,
    }


def events(receiver, path: str) -> list[dict]:
    return receiver.bodies(path)


def schema(dataset: dict) -> list[tuple[str, str]]:
    return [(f["name"], f["type"]) for f in dataset["facets"]["schema"]["fields"]]


def test_a_run_emits_start_and_complete_per_job_with_datasets_and_schemas(odibi_project, receiver):
    # A server behind a path prefix, written without the trailing '/'.
    project = odibi_project(project_files(f"{receiver.base}/ol/ok"))
    run = project.run()
    assert run.exit_code == 0, run.output
    got = events(receiver, "/ol/ok/api/v1/lineage")
    assert [(e["eventType"], e["job"]["name"]) for e in got] == [
        ("START", "bronze"),
        ("START", "bronze.raw"),
        ("COMPLETE", "bronze.raw"),
        ("START", "bronze.clean"),
        ("COMPLETE", "bronze.clean"),
        ("COMPLETE", "bronze"),
    ]
    assert {e["job"]["namespace"] for e in got} == {"shop_jobs"}
    pipeline_run = got[0]["run"]["runId"]
    runs = [r for r in project.catalog("meta_runs") if r["scope"] == "pipeline"]
    assert pipeline_run == runs[0]["run_id"]  # the catalog's run_id is the lineage run id
    for e in got[1:5]:
        parent = e["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == pipeline_run and parent["job"]["name"] == "bronze"
        assert e["job"]["facets"]["jobType"]["jobType"] == "NODE"
    assert got[1]["run"]["runId"] == got[2]["run"]["runId"] != got[3]["run"]["runId"]

    csv = str(project.path("orders.csv").resolve())
    silver = str(project.path("silver/orders").resolve())
    raw_done = got[2]
    (read,) = raw_done["inputs"]
    assert (read["namespace"], read["name"]) == ("file", csv)
    assert [c for c, _ in schema(read)] == ["order_id", "amount", "status"]
    # raw hands its rows on in memory: named so the graph stays connected.
    (handed,) = raw_done["outputs"]
    assert (handed["namespace"], handed["name"]) == ("odibi://shop", "bronze.raw")

    clean_done = got[4]
    (upstream,) = clean_done["inputs"]
    assert upstream["name"] == "bronze.raw" and len(schema(upstream)) == 3
    (written,) = clean_done["outputs"]
    assert (written["namespace"], written["name"]) == ("file", silver)
    assert [c for c, _ in schema(written)] == ["order_id", "amount"]
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert "SELECT order_id, amount FROM raw" in clean_done["job"]["facets"]["sql"]["query"]

    pipeline_done = got[5]
    assert [(d["namespace"], d["name"]) for d in pipeline_done["inputs"]] == [("file", csv)]
    assert [(d["namespace"], d["name"]) for d in pipeline_done["outputs"]] == [("file", silver)]
    assert all(e["producer"] and e["schemaURL"] for e in got)


def test_a_failed_node_sends_fail_with_its_error(odibi_project, receiver):
    project = odibi_project(project_files(f"{receiver.base}/ol/fail/", fail=True))
    run = project.run()
    assert run.exit_code == 1
    got = events(receiver, "/ol/fail/api/v1/lineage")
    states = [(e["eventType"], e["job"]["name"]) for e in got]
    assert ("FAIL", "bronze.clean") in states and states[-1] == ("FAIL", "bronze")
    failed = next(e for e in got if e["eventType"] == "FAIL" and e["job"]["name"] == "bronze.clean")
    assert "no_such_column" in failed["run"]["facets"]["errorMessage"]["message"]
    assert failed["outputs"] == []


def test_inputs_are_the_datasets_a_node_read(odibi_project, receiver):
    files = project_files(f"{receiver.base}/ol/inputs")
    files["odibi.yaml"] += """\
  - pipeline: gold
    nodes:
      - name: report
        inputs:
          orders: $bronze.clean
          statuses: {connection: d, format: csv, path: orders.csv}
        transform: {steps: ["SELECT COUNT(*) AS n FROM orders"]}
        write: {connection: d, format: csv, path: report.csv}
"""
    project = odibi_project(files)
    assert project.run("--pipeline", "bronze").exit_code == 0
    run = project.run("--pipeline", "gold")
    assert run.exit_code == 0, run.output
    got = events(receiver, "/ol/inputs/api/v1/lineage")
    started, done = (e for e in got if e["job"]["name"] == "gold.report")
    csv = str(project.path("orders.csv").resolve())
    silver = str(project.path("silver/orders").resolve())
    # Before the run only the read block is known; after it, where $bronze.clean wrote too.
    assert [(d["namespace"], d["name"]) for d in started["inputs"]] == [("file", csv)]
    assert [(d["namespace"], d["name"]) for d in done["inputs"]] == [
        ("file", silver),
        ("file", csv),
    ]
    assert [c for c, _ in schema(done["inputs"][0])] == ["order_id", "amount"]


def test_the_api_key_is_sent_as_a_bearer_token_and_kept_out_of_events(odibi_project, receiver):
    key = "LineageKeySecret4242"
    project = odibi_project(project_files(f"{receiver.base}/ol/key/", f", api_key: {key}"))
    assert project.run().exit_code == 0
    requests = [r for r in receiver.requests if r.path == "/ol/key/api/v1/lineage"]
    assert requests and all(r.headers["Authorization"] == f"Bearer {key}" for r in requests)
    assert key not in str([r.body for r in requests])


def test_an_unreachable_server_never_fails_the_run(odibi_project):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    project = odibi_project(project_files(dead))
    run = project.run(env={"ODIBI_LINEAGE_TIMEOUT": "1"})
    assert run.exit_code == 0, run.output
    assert "lineage: event" in run.output and "not delivered" in run.output


def test_no_lineage_url_sends_nothing_and_imports_no_client(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
            project: shop
            connections: {d: {type: local, base_path: .}}
            pipelines:
              - pipeline: p
                nodes:
                  - name: raw
                    read: {connection: d, format: csv, path: orders.csv}
            """,
            "orders.csv": ORDERS,
        }
    )
    code = (
        "import sys; from odibi_core.cli.main import main; rc = main(['run', 'odibi.yaml']);"
        "print(rc, 'openlineage' in sys.modules)"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-2:] == ["0", "False"]


def test_a_refused_event_is_retried_once(odibi_project, receiver):
    project = odibi_project(project_files(f"{receiver.base}/fail-once/ol/"))
    assert project.run().exit_code == 0
    got = events(receiver, "/fail-once/ol/api/v1/lineage")
    # The first START got a 500 and came again; every event arrived.
    assert [e["eventType"] for e in got][:2] == ["START", "START"]
    assert got[0]["run"]["runId"] == got[1]["run"]["runId"]
    assert len(got) == 7


def test_parallel_node_runs_each_start_before_they_end(odibi_project, receiver):
    files = project_files(f"{receiver.base}/ol/parallel/")
    files["odibi.yaml"] += """\
      - name: other
        read: {connection: d, format: csv, path: orders.csv}
        write: {connection: d, format: parquet, path: other.parquet}
"""
    project = odibi_project(files)
    run = project.run("--parallel", "--workers", "3")
    assert run.exit_code == 0, run.output
    got = events(receiver, "/ol/parallel/api/v1/lineage")
    assert (got[0]["eventType"], got[-1]["eventType"]) == ("START", "COMPLETE")
    by_job: dict[str, list[str]] = {}
    for e in got[1:-1]:
        by_job.setdefault(e["job"]["name"], []).append(e["eventType"])
    assert by_job == {
        "bronze.raw": ["START", "COMPLETE"],
        "bronze.clean": ["START", "COMPLETE"],
        "bronze.other": ["START", "COMPLETE"],
    }
    outputs = {d["name"].rsplit("/", 1)[-1] for d in got[-1]["outputs"]}
    assert outputs == {"orders", "other.parquet"}
