"""``odibi run`` collects no garbage while it starts up, then collects as usual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs the console script's own entry point, with the collector watched and the exit reported.
DRIVER = """
import gc, json, os, sys
counts = [0, 0, 0]
def watch(phase, info):
    if phase == "stop":
        counts[info["generation"]] += 1
gc.callbacks.append(watch)
def report(code):
    state = {"code": code, "collections": counts, "enabled": gc.isenabled(),
             "frozen": gc.get_freeze_count()}
    sys.stderr.write("GC " + json.dumps(state) + "\\n")
    sys.stderr.flush()
    real_exit(code)
real_exit, os._exit = os._exit, report
from odibi_core.cli import main
if len(sys.argv) > 3:
    from odibi_core.cli import startup_gc
    startup_gc.MAX_PAUSE_S = float(sys.argv[3])
if sys.argv[1] == "console":
    sys.argv = ["odibi", "run", sys.argv[2]]
    main.entry()
else:  # main() called by an application: its collector is left alone
    report(main.main(["run", sys.argv[2]]))
"""

CHAIN = "\n".join(
    [
        "project: gc",
        "connections: {d: {type: local, base_path: .}}",
        "pipelines:",
        "  - pipeline: chain",
        "    nodes:",
        "      - {name: n0, read: {connection: d, format: csv, path: in.csv}}",
        *(
            f"      - {{name: n{i}, depends_on: [n{i - 1}], transform: "
            f'{{steps: ["SELECT id, amount + {i} AS amount FROM df"]}}}}'
            for i in range(1, 12)
        ),
    ]
)


def _run(project, how: str, *extra: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, how, str(project.path("odibi.yaml")), *extra],
        capture_output=True,
        text=True,
        cwd=project.root,
        timeout=300,
    )
    lines = [x for x in proc.stderr.splitlines() if x.startswith("GC ")]
    assert lines, proc.stdout + proc.stderr
    return json.loads(lines[-1][3:])


@pytest.fixture
def chain(odibi_project):
    return odibi_project(
        {
            "odibi.yaml": CHAIN,
            "in.csv": "id,amount\n" + "\n".join(f"{i},{i * 1.5}" for i in range(50)) + "\n",
        }
    )


def test_console_script_pauses_collection_until_the_first_node_then_freezes(chain):
    console = _run(chain, "console")
    embedded = _run(chain, "main")
    assert console["code"] == embedded["code"] == 0
    # Started up without the pause, the data libraries' imports cost full collections and
    # hundreds of young ones; with it, neither (only collections after the first node).
    assert embedded["collections"][2] >= 1 and embedded["collections"][0] > 100
    assert console["collections"][2] == 0
    assert console["collections"][0] < embedded["collections"][0] / 3
    # The collector is back on, and what start-up built is frozen out of later collections.
    assert console["enabled"] and console["frozen"] > 50_000
    assert embedded["enabled"] and embedded["frozen"] == 0


def test_collection_resumes_when_the_run_fails_before_any_node(odibi_project):
    broken = odibi_project(
        {
            "odibi.yaml": "project: gc\npipelines: [{pipeline: p, nodes: [{name: a, depends_on: [b]}]}]\n"
        }
    )
    state = _run(broken, "console")
    assert state["code"] == 2  # a config error
    assert state["enabled"]


def test_collection_resumes_when_the_first_node_fails(odibi_project):
    failing = odibi_project(
        {
            "odibi.yaml": """
                project: gc
                connections: {d: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: missing
                        read: {connection: d, format: csv, path: nowhere.csv}
            """
        }
    )
    state = _run(failing, "console")
    assert state["code"] == 1
    assert state["enabled"] and state["frozen"] > 0


GC_PROBE = """
import gc, json, time
from odibi_core import hookimpl, transform


@transform("probe_gc")
def probe_gc(ctx, df, wait: float = 0.0, out: str = "gc.json"):
    before, started = gc.isenabled(), time.monotonic()
    while not gc.isenabled() and time.monotonic() - started < wait:
        time.sleep(0.05)
    with open(out, "w") as handle:
        json.dump({"before": before, "after": gc.isenabled()}, handle)
    return df


@hookimpl
def odibi_register_transforms():
    return [probe_gc]
"""


def test_a_long_first_node_gets_its_collector_back_after_the_longest_pause(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """
                project: gc
                connections: {d: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: slow
                        read: {connection: d, format: csv, path: in.csv}
                        transformer: probe_gc
                        params: {wait: 20}
            """,
            "in.csv": "id\n1\n",
            "plugins/probe.py": GC_PROBE,
        }
    )
    state = _run(project, "console", "4")  # the longest pause, shortened for the test
    assert state["code"] == 0
    seen = json.loads(project.path("gc.json").read_text())
    assert seen == {"before": False, "after": True}  # paused at first, resumed by the bound
