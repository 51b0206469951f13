"""Edge semantics users rely on: on_error ignore, --node across pipelines, dry-run with
--resume, validation of formats and operations, YAML 1.2 booleans, masking, definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from odibi_core.errors import NodeError, SQLError, transient

TWO = """\
project: p
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: first
    nodes:
      - name: bad
        read: {connection: d, format: csv, path: missing.csv}
        on_error: ignore
      - name: after_bad
        depends_on: [bad]
      - name: fine
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: parquet, path: fine.parquet}
  - pipeline: second
    nodes:
      - name: other
        read: {connection: d, format: csv, path: in.csv}
"""


def test_ignore_keeps_the_pipeline_green_and_skips_dependants(odibi_project):
    project = odibi_project({"odibi.yaml": TWO, "in.csv": "a\n1\n"})
    run = project.run("--pipeline", "first")
    assert run.exit_code == 0, run.output
    rows = {r["node_name"]: r for r in project.catalog("meta_runs")}
    assert rows["bad"]["status"] == "FAILURE" and rows[None]["status"] == "SUCCESS"
    assert rows["after_bad"]["status"] == "SKIPPED"
    assert json.loads(rows["after_bad"]["metrics_json"])["skip_reason"] == (
        "dependency 'bad' failed (on_error: ignore)"
    )


def test_node_selection_runs_only_pipelines_that_hold_the_node(odibi_project):
    project = odibi_project({"odibi.yaml": TWO, "in.csv": "a\n1\n"})
    run = project.run("--node", "other")
    assert run.exit_code == 0, run.output
    assert {r["pipeline_name"] for r in project.catalog("meta_runs")} == {"second"}
    missing = project.run("--node", "othr")
    assert missing.exit_code == 2 and "did you mean 'other'" in missing.stderr
    assert len(project.catalog("meta_runs")) == 2  # nothing else ran


def test_dry_run_with_resume_shows_what_would_be_skipped(odibi_project):
    project = odibi_project({"odibi.yaml": TWO, "in.csv": "a\n1\n"})
    assert project.run("--pipeline", "first").exit_code == 0
    before = sorted(p.name for p in project.root.rglob("*"))
    plan = project.run("--pipeline", "first", "--resume", "--dry-run")
    assert plan.exit_code == 0
    assert "skip  fine" in plan.stdout and "resume" in plan.stdout
    assert "run   bad" in plan.stdout
    assert sorted(p.name for p in project.root.rglob("*")) == before


def test_formats_and_operations_are_checked_before_running(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {connection: d, format: csvv, path: in.csv}
        transform:
          steps:
            - {operation: drop_duplicate, params: {}}
            - {operation: split_part, params: {col: email, delimter: "@", index: 2}}
        write: {connection: d, format: parquett, path: out.parquet}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "read.format 'csvv' is not supported by the pandas engine" in run.stderr
    assert "did you mean 'csv'" in run.stderr
    assert "unknown operation 'drop_duplicate'" in run.stderr
    assert "did you mean 'drop_duplicates'" in run.stderr
    # a transformer as an operation step has its params checked like a function step
    assert "delimter" in run.stderr and "delimiter" in run.stderr, run.stderr
    assert "write.format 'parquett'" in run.stderr


def test_yaml_on_and_off_stay_words(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: off
        read: {connection: d, format: csv, path: a.csv}
      - name: b
        read: {connection: d, format: csv, path: b.csv}
      - name: joined
        depends_on: [off, b]
        transformer: join
        params: {right_dataset: b, on: [id], how: inner}
        write: {connection: d, format: csv, path: out.csv}
""",
            "a.csv": "id,x\n1,a\n2,b\n",
            "b.csv": "id,y\n2,B\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.path("out.csv").read_text().splitlines() == ["id,x,y", "2,b,B"]


def test_sensitive_true_masks_every_column(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: secrets
        sensitive: true
        read: {connection: d, format: csv, path: in.csv}
""",
            "in.csv": "k,v\nkey1,val1\n",
        }
    )
    assert project.run().exit_code == 0
    (story,) = project.path(".odibi/stories/p").glob("*/run_*.json")
    node = json.loads(story.read_text())["nodes"][0]
    assert node["sample"] == [{"k": "***", "v": "***"}]


def test_definitions_follow_edits_and_removed_nodes(odibi_project):
    yaml = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        description: first words
        read: {connection: d, format: csv, path: in.csv}
      - name: b
        read: {connection: d, format: csv, path: in.csv}
"""
    project = odibi_project({"odibi.yaml": yaml, "in.csv": "x\n1\n"})
    assert project.run().exit_code == 0
    project.write(
        {"odibi.yaml": yaml.replace("first words", "better words").split("      - name: b")[0]}
    )
    assert project.run().exit_code == 0
    nodes = project.catalog("meta_nodes")
    assert [n["node_name"] for n in nodes] == ["a"]
    assert "better words" in nodes[0]["config_json"]
    (pipeline,) = project.catalog("meta_pipelines")
    assert "better words" in pipeline["config_json"]


def test_transient_failures_are_told_apart_from_user_errors():
    assert transient(ConnectionResetError("peer reset")) and transient(TimeoutError())
    assert not transient(FileNotFoundError("x")) and not transient(PermissionError("x"))
    for deterministic in (ValueError("bad csv"), KeyError("k"), NotImplementedError(), TypeError()):
        assert not transient(deterministic)
    assert not transient(RuntimeError("plugin bug")) and not transient(NodeError("bad sql"))
    assert not transient(SQLError("Binder Error: no column x", "SELECT x FROM df"))
    assert transient(NodeError("blob timeout", retryable=True))
    wrapped = RuntimeError("fetch failed")
    wrapped.__cause__ = ConnectionError("reset")
    assert transient(wrapped)  # raised from a transient failure

    class CommitFailedError(Exception): ...  # deltalake's, matched by name

    class HttpResponseError(Exception):
        def __init__(self, status_code: int):
            self.status_code = status_code

    assert transient(CommitFailedError()) and transient(HttpResponseError(503))
    assert transient(HttpResponseError(429)) and not transient(HttpResponseError(404))


def test_a_closed_pipe_ends_output_quietly(odibi_project):
    project = odibi_project({"odibi.yaml": TWO, "in.csv": "a\n1\n"})
    exe = Path(sys.executable).with_name("odibi")
    proc = subprocess.Popen(
        [str(exe), "plugins", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=project.root,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before odibi writes anything (like `| head`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
