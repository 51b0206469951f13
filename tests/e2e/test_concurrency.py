"""Several ``odibi`` processes writing one catalog at once, and a run killed midway."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = """
import sys
from odibi_core.runner.api import run_project
from odibi_core.runner.context import RunOptions

config, pipeline, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
failed = 0
for _ in range(runs):
    results = run_project(config, RunOptions(pipelines=[pipeline]))
    for r in results:
        if r.status != "SUCCESS" or r.catalog_error:
            failed += 1
            errors = [n.error_message for n in r.nodes.values() if n.error_message]
            print(r.status, r.catalog_error, errors, file=sys.stderr)
print(failed)
"""

PIPELINE = """\
  - pipeline: {name}
    nodes:
      - name: load
        read:
          connection: d
          format: csv
          path: in.csv
          incremental: {{mode: stateful, column: id}}
      - name: total
        depends_on: [load]
        transform: {{steps: ["SELECT COUNT(*) AS n FROM load"]}}
        write: {{connection: d, format: delta, path: out_{name}, mode: append}}
"""


@pytest.mark.slow
def test_four_processes_times_25_runs_lose_no_row(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": "project: p\n"
            # Small thresholds so maintenance runs while other processes append.
            "system: {maintenance: {max_files: 8, max_commits: 20}}\n"
            "story: {auto_generate: false}\n"
            "connections: {d: {type: local, base_path: .}}\npipelines:\n"
            + PIPELINE.format(name="a")
            + PIPELINE.format(name="b"),
            "in.csv": "id\n1\n2\n3\n",
            "worker.py": WORKER,
        }
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(project.path("worker.py")),
                str(project.path("odibi.yaml")),
                pipeline,
                "25",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pipeline in ("a", "a", "b", "b")
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1][-2000:] for o in outputs]
    assert [o[0].strip() for o in outputs] == ["0", "0", "0", "0"], [o[1][-3000:] for o in outputs]

    rows = project.catalog("meta_runs")
    pipeline_rows = [r for r in rows if r["scope"] == "pipeline"]
    assert len(pipeline_rows) == 100 and len({r["run_id"] for r in pipeline_rows}) == 100
    assert {r["status"] for r in rows} == {"SUCCESS"}
    assert len([r for r in rows if r["scope"] == "node"]) == 200
    per_pipeline = {p: sum(r["pipeline_name"] == p for r in pipeline_rows) for p in "ab"}
    assert per_pipeline == {"a": 50, "b": 50}
    for name in "ab":
        assert len(project.delta(f"out_{name}")) == 50  # every run's append landed
    state = project.catalog("meta_state")
    assert sorted((s["pipeline_name"], s["node_name"], s["value"]) for s in state) == [
        ("a", "load", "3"),
        ("b", "load", "3"),
    ]
    definitions = project.catalog("meta_pipelines")
    assert sorted(d["pipeline_name"] for d in definitions) == ["a", "b"]


NAP = """
import time
from odibi_core import hookimpl, transform


@transform("nap")
def nap(ctx, df, seconds: float):
    time.sleep(seconds)
    return df


@hookimpl
def odibi_register_transforms():
    return [nap]
"""


def test_a_run_killed_midway_leaves_the_catalog_readable(odibi_project, monkeypatch):
    monkeypatch.setenv("NAP", "0")
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: slow
        read: {connection: d, format: csv, path: in.csv}
        transformer: nap
        params: {seconds: ${NAP}}
        write: {connection: d, format: delta, path: out, mode: append}
""",
            "in.csv": "id\n1\n",
            "plugins/nap.py": NAP,
        }
    )
    assert project.run().exit_code == 0
    exe = Path(sys.executable).with_name("odibi")
    proc = subprocess.Popen(
        [str(exe), "run", str(project.path("odibi.yaml"))],
        env={**__import__("os").environ, "NAP": "30"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first_line = proc.stdout.readline()  # printed when the pipeline starts
    assert first_line.startswith(b"pipeline p"), first_line
    time.sleep(1.0)  # well inside the node's 30 s nap
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    readable = project.odibi("catalog", "runs", "{config}", "--format", "json")
    assert readable.exit_code == 0
    assert len(json.loads(readable.stdout)["rows"]) == 1  # the killed run left no row
    assert project.run().exit_code == 0
    assert len([r for r in project.catalog("meta_runs") if r["scope"] == "pipeline"]) == 2
    assert len(project.delta("out")) == 2
