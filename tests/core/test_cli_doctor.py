"""``odibi doctor`` through the real CLI: the machine's checks, a project's needs, and its
connections probed with a short timeout (a listening port answers, a closed one fails)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _project(odibi_project, open_port: int, closed_port: int, engine: str = "pandas"):
    return odibi_project(
        {
            "odibi.yaml": f"""
            project: p
            engine: {engine}
            connections:
              here: {{type: local, base_path: ./data}}
              later: {{type: local, base_path: ./not_yet}}
              up: {{type: postgres, server: 127.0.0.1, port: {open_port}, database: d,
                    username: u, password: pw}}
              down: {{type: postgres, server: 127.0.0.1, port: {closed_port}, database: d,
                      username: u, password: pw}}
            pipelines: []
            """,
            "data/x.csv": "a\n1\n",
        }
    )


def _checks(run) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(run.stdout)["checks"]}


def test_doctor_without_a_project_checks_the_machine(odibi_project):
    run = odibi_project().odibi("doctor", "--format", "json")
    assert run.exit_code == 0, run.output
    checks = _checks(run)
    assert checks["python"]["status"] == "ok"
    assert {"extra quality", "extra spark", "extra azure", "extra sql"} <= set(checks)
    assert checks["project"]["status"] == "info"
    assert "postgresql" in checks["jdbc drivers (spark)"]["detail"]


def test_doctor_probes_each_connection_and_fails_on_an_unreachable_one(odibi_project, listening):
    closed = _closed_port()
    project = _project(odibi_project, listening, closed)
    run = project.odibi("doctor", "{config}", "--format", "json", "--timeout", "2")
    assert run.exit_code == 1, run.output
    checks = _checks(run)
    assert checks["project"]["status"] == "ok"
    assert checks["connection here"]["status"] == "ok"
    assert checks["connection later"]["status"] == "warn"
    assert checks["connection up"]["status"] == "ok"
    assert f"127.0.0.1:{listening} answers" in checks["connection up"]["detail"]
    assert checks["connection down"]["status"] == "FAIL"
    assert f"127.0.0.1:{closed} unreachable" in checks["connection down"]["detail"]
    assert checks["needs odibi[sql]"]["status"] == "ok"
    assert "pw" not in run.stdout
    table = project.odibi("doctor", "{config}")
    assert table.exit_code == 1 and "something the project needs is missing" in table.stdout


@pytest.fixture
def silent() -> Iterator[int]:
    """A port on 127.0.0.1 that never completes a connection: its backlog is full, so the
    kernel drops further handshakes, as a firewall that drops packets would."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=1)
        try:
            yield port
        finally:
            filler.close()


def test_a_silent_server_is_given_up_on_after_the_timeout(odibi_project, listening, silent):
    project = _project(odibi_project, silent, listening)
    started = time.monotonic()
    run = project.odibi("doctor", "{config}", "--format", "json", "--timeout", "1")
    elapsed = time.monotonic() - started
    assert run.exit_code == 1, run.output
    assert _checks(run)["connection up"]["status"] == "FAIL"
    assert "no answer" in _checks(run)["connection up"]["detail"]
    assert elapsed < 8  # one timeout, not one per retry or per connection


def test_a_spark_project_needs_java(odibi_project, listening):
    project = _project(odibi_project, listening, listening, engine="spark")
    run = project.odibi(
        "doctor",
        "{config}",
        "--format",
        "json",
        subprocess_=True,
        env={"JAVA_HOME": str(project.path("no-java-here"))},
    )
    assert run.exit_code == 1, run.output
    checks = _checks(run)
    assert checks["needs java"]["status"] == "FAIL"
    assert checks["needs odibi[spark]"]["status"] == "ok"


def test_an_invalid_project_is_a_usage_error(odibi_project):
    project = odibi_project({"odibi.yaml": "project: p\nconections: {}\n"})
    run = project.odibi("doctor", "{config}")
    assert run.exit_code == 2 and "conections" in run.stderr
