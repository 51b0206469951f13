"""Secrets planted by every route a project has never reach any byte a run writes or prints:
console and debug logs, catalog tables (parquet decoded), stories, GX Data Docs, quarantine,
OTLP. Definitions keep the placeholders the user wrote."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parents[1] / "telemetry"))
from receivers import http_receiver

# One secret per route, each used where a run would echo it: failing SQL, a failing filter,
# a quality value set (GX renders it), SQL shown in the story, a connection field.
SECRETS = {
    "vars": "VarsRouteSecret0001",  # vars.db_password <- an env var with a plain name
    "dotenv": "DotenvRouteSecret0002",  # .env, DOTENV_PASSWORD
    "env": "EnvRouteSecret0003",  # the environment, API_TOKEN
    "declared": "DeclaredRouteSecret0004",  # secrets: [OPAQUE_THING]
    "connection": "ConnFieldSecret0005",  # a connection's account_key, typed in the file
    "alert": "AlertUrlSecret0006",  # a Slack webhook URL (the URL is the credential)
}
ALERT_URL = f"http://127.0.0.1:9/services/T0/B0/{SECRETS['alert']}"

PROJECT = f"""\
project: leak
secrets: [OPAQUE_THING]
retry: {{enabled: false}}
alerts: [{{type: slack, url: "{ALERT_URL}"}}]
vars:
  db_password: "${{env:PLAIN_NAME}}"
connections:
  raw: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
  vault: {{type: azure_adls, account_name: acct, container: c, account_key: {SECRETS["connection"]}}}
pipelines:
  - pipeline: p
    nodes:
      - name: bad_sql
        read: {{connection: raw, format: csv, path: a.csv}}
        transform:
          steps: ["SELECT * FROM df WHERE status = '${{vars.db_password}}' AND nonexistent_col = 1
                   AND status <> '{ALERT_URL}'"]
      - name: bad_filter
        read: {{connection: raw, format: csv, path: a.csv,
               filter: "status = '${{DOTENV_PASSWORD}}' AND bogus"}}
      - name: dq
        read: {{connection: raw, format: csv, path: a.csv}}
        transform:
          steps: ["SELECT *, status <> '${{API_TOKEN}}' AS flagged FROM df"]
        quality:
          data_docs: true
          assertions:
            - {{type: accepted_values, column: status, values: [completed, "${{API_TOKEN}}"],
               severity: warn}}
            - {{type: accepted_values, column: status,
               values: [completed, pending, "${{OPAQUE_THING}}"], severity: quarantine}}
          quarantine: {{connection: out, path: quarantine}}
        write: {{connection: out, format: parquet, path: dq.parquet}}
      - name: filt
        read: {{connection: raw, format: csv, path: a.csv,
               filter: "status <> '{SECRETS["connection"]}' AND status <> '${{OPAQUE_THING}}'"}}
        write: {{connection: out, format: delta, path: filt}}
"""

FILES = {
    "odibi.yaml": PROJECT,
    ".env": f"DOTENV_PASSWORD={SECRETS['dotenv']}\n",
    "data/a.csv": "id,status\n1,completed\n2,pending\n3,weird\n",
}
INPUTS = {"odibi.yaml", ".env", "data/a.csv"}


def _texts_of(path: Path) -> list[str]:
    """What a file says: decoded rows for parquet (compressed bytes hide text), else bytes."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [json.dumps(table.to_pylist(), default=str), str(table.schema)]
    return [path.read_bytes().decode("utf-8", errors="replace")]


def test_no_secret_reaches_any_output(odibi_project):
    project = odibi_project(FILES)
    env = {
        "PLAIN_NAME": SECRETS["vars"],
        "API_TOKEN": SECRETS["env"],
        "OPAQUE_THING": SECRETS["declared"],
        "OTEL_TRACES_SAMPLER": "always_on",
    }
    with http_receiver() as received:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = received.endpoint
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        run = project.odibi("-v", "run", "{config}", subprocess_=True, env=env)
    assert run.exit_code == 1, run.output

    # The secrets were used: the failing nodes' messages quote the SQL, masked.
    node_runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert node_runs["bad_sql"]["status"] == "FAILURE"
    assert "status = '***'" in node_runs["bad_sql"]["error_message"]
    assert "status = '***'" in node_runs["bad_filter"]["error_message"]
    assert node_runs["dq"]["status"] == node_runs["filt"]["status"] == "SUCCESS"
    assert "DEBUG" in run.stderr  # -v: debug logs were printed, and scanned below
    written = [p for p in project.root.rglob("*") if p.is_file()]
    written = [p for p in written if p.relative_to(project.root).as_posix() not in INPUTS]
    assert any("/gx/" in p.as_posix() for p in written), "GX Data Docs were built"
    assert any("quarantine" in p.as_posix() for p in written), "rows were quarantined"
    assert received.traces, "spans reached the OTLP receiver"

    outputs = {"console": [run.stdout, run.stderr]}
    for path in written:
        outputs[path.relative_to(project.root).as_posix()] = _texts_of(path)
    outputs["otlp"] = [
        req.SerializeToString().decode("utf-8", errors="replace")
        for req in received.traces + received.metrics
    ]
    leaks = [
        f"{route} secret in {where}"
        for where, texts in outputs.items()
        for text in texts
        for route, secret in SECRETS.items()
        if secret in text
    ]
    assert not leaks, leaks

    # Definitions are stored as written: placeholders, not their values.
    (nodes_json,) = {r["config_json"] for r in project.catalog("meta_pipelines")}
    assert "status = '${vars.db_password}' AND nonexistent_col = 1" in nodes_json
    assert "status = '${DOTENV_PASSWORD}' AND bogus" in nodes_json
    by_node = {r["node_name"]: r["config_json"] for r in project.catalog("meta_nodes")}
    assert "${API_TOKEN}" in by_node["dq"] and "${OPAQUE_THING}" in by_node["dq"]
    # A secret typed in clear cannot be restored to a placeholder: it is masked.
    assert "status <> '***'" in by_node["filt"]


def test_a_config_error_never_quotes_a_secret(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: leak
                connections: {raw: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: n
                        read: {connection: raw, format: "${DB_PASSWORD}", path: a.csv}
                """
        }
    )
    run = project.odibi("validate", "{config}", env={"DB_PASSWORD": "ConfigErrorSecret77"})
    assert run.exit_code == 2, run.output
    assert "ConfigErrorSecret77" not in run.output
    assert "***" in run.output


def test_an_alert_url_is_never_quoted(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: leak
                alerts: [{type: teams, url: "hooks.example.com/workflows/AlertUrlSecret77"}]
                connections: {raw: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: n
                        read: {connection: raw, format: csv, path: a.csv}
                """
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    assert "alerts[0].url: url must be an http:// or https:// URL (got '***')" in run.output
    assert "AlertUrlSecret77" not in run.output


def test_scrubbing_never_damages_state_stories_or_definitions(odibi_project):
    """A short declared secret (a year, a column name) masks text, never machine data: the
    incremental mark, the story's JSON and the catalog's names and keys stay intact, and a
    literal equal to another node's substituted value stays literal."""
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: shape
                secrets: [vars.pin, STATUS_COL]
                vars: {pin: "2026", region: emea}
                connections: {raw: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: orders
                        read: {connection: raw, format: csv, path: orders.csv,
                               incremental: {mode: stateful, column: updated_at}}
                      - name: a
                        read: {connection: raw, format: csv, path: "${vars.region}.csv"}
                      - name: b
                        read: {connection: raw, format: csv, path: emea.csv}
                """,
            "orders.csv": "id,status,updated_at\n1,new,2026-12-01 09:00:00\n",
            "emea.csv": "x\n1\n",
        }
    )
    env = {"STATUS_COL": "status"}
    assert project.run(env=env).exit_code == 0
    project.write(
        {
            "orders.csv": "id,status,updated_at\n1,new,2026-12-01 09:00:00\n"
            "2,new,2026-12-02 09:00:00\n"
        }
    )
    second = project.run(env=env)
    assert second.exit_code == 0, second.output
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]).startswith("2026-12-02")
    orders = [r for r in project.catalog("meta_runs") if r["node_name"] == "orders"]
    assert sorted(r["rows_out"] for r in orders) == [1, 1]  # the mark held: only the new row
    assert {r["status"] for r in project.catalog("meta_runs")} == {"SUCCESS"}
    for story in project.root.glob(".odibi/stories/p/*/run_*.json"):
        data = json.loads(story.read_text())  # still JSON, times intact
        datetime.fromisoformat(data["started_at"])
    assert project.odibi("story", "list", "{config}").exit_code == 0
    by_node = {r["node_name"]: r["config_json"] for r in project.catalog("meta_nodes")}
    assert "${vars.region}.csv" in by_node["a"]
    assert '"path":"emea.csv"' in by_node["b"]


def test_a_dry_run_plan_never_prints_a_secret(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: dry
                connections:
                  raw: {type: local, base_path: "./tenants/${TENANT_TOKEN}"}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: n
                        read: {connection: raw, format: csv, path: a.csv}
                        write: {connection: raw, format: delta, path: "t/${TENANT_TOKEN}"}
                """
        }
    )
    run = project.run("--dry-run", env={"TENANT_TOKEN": "TenantSecret0016"})
    assert run.exit_code == 0, run.output
    assert "writes delta:t/***" in run.output and "tenants/***/a.csv" in run.output
    assert "TenantSecret0016" not in run.output
