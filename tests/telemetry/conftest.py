"""Projects for the telemetry tests, and an environment without the developer's OTEL_* set."""

from __future__ import annotations

import json
import os

import pytest

PROJECT = """\
project: shop
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    nodes:
      - name: raw
        read: {connection: d, format: csv, path: in.csv}
      - name: clean
        depends_on: [raw]
        transform: {steps: ["SELECT x * 2 AS y FROM df"]}
        write: {connection: d, format: csv, path: out.csv}
      - name: broken
        depends_on: [clean]
        transform: {steps: ["SELECT nope FROM df"]}
      - name: after_broken
        depends_on: [broken]
"""

# A project-local plugin that checks one node's output: a check span and an assertion metric
# without Great Expectations (fast), read as data by key like quality results are.
CHECKER = """\
from odibi_core import hookimpl
from odibi_core.runner.checks import OutputCheck


@hookimpl
def odibi_check_node_output(ctx, node, frame):
    if node.name != "clean":
        return None
    assertion = {"name": "y_small", "assertion_type": "between", "severity": "warn",
                 "status": "failed", "violation_count": 1, "element_count": 3}
    return OutputCheck("rowcheck", dq_score=75.0, data={"assertions": [assertion]})
"""

FILES = {"odibi.yaml": PROJECT, "in.csv": "x\n1\n2\n3\n", "plugins/checker.py": CHECKER}


@pytest.fixture(autouse=True)
def _no_ambient_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def shop(odibi_project):
    """The sales pipeline: raw → clean (checked, written) → broken (fails) → after_broken."""
    return odibi_project(FILES)


@pytest.fixture
def healthy(odibi_project):
    """The sales pipeline without its failing nodes (a run that succeeds)."""
    text = PROJECT.split("      - name: broken")[0]
    return odibi_project({**FILES, "odibi.yaml": text})


def story_of(project) -> dict:
    (path,) = project.root.glob(".odibi/stories/sales/*/run_*.json")
    return json.loads(path.read_text())
