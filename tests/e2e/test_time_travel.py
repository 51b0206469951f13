"""Odibi's ``read.time_travel`` (``as_of_version`` / ``as_of_timestamp``): a Delta table read
as it was, through the real CLI, on every engine; refused by ``odibi validate`` elsewhere."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _three_versions(path: str) -> str:
    """A Delta table with versions 0, 1, 2 holding 1, 2 and 3 rows; a moment of version 1."""
    from deltalake import DeltaTable, write_deltalake

    for n in (1, 2, 3):
        write_deltalake(path, pa.table({"id": list(range(1, n + 1))}), mode="overwrite")
        time.sleep(0.2)  # keep the commits well apart
    # Between versions 1 and 2 (readers go by the log files' times, a few ms off these).
    history = {h["version"]: h["timestamp"] for h in DeltaTable(path).history()}
    moment = datetime.fromtimestamp((history[1] + history[2]) / 2000, UTC)
    return moment.isoformat(timespec="milliseconds")


def _project(engine: str, as_of: str) -> str:
    nodes = [
        ("v0", "{as_of_version: 0}"),
        ("v1", "{as_of_version: 1}"),
        ("at", f'{{as_of_timestamp: "{as_of}"}}'),
        ("now", None),
    ]
    body = "".join(
        f"      - name: {name}\n"
        f"        read: {{connection: d, format: delta, path: t"
        + (f", time_travel: {travel}" if travel else "")
        + "}\n"
        f"        write: {{connection: d, format: parquet, path: {name}}}\n"
        for name, travel in nodes
    )
    return (
        f"project: p\nengine: {engine}\nconnections: {{d: {{type: local, base_path: .}}}}\n"
        f"pipelines:\n  - pipeline: p\n    nodes:\n{body}"
    )


def _ids(project, name: str) -> list[int]:
    return sorted(pq.read_table(project.path(name)).column("id").to_pylist())


@pytest.mark.parametrize("engine", ["pandas", "polars", "spark"])
def test_time_travel_reads_a_version_or_a_moment(odibi_project, engine):
    project = odibi_project({})
    as_of = _three_versions(str(project.path("t")))
    project.write({"odibi.yaml": _project(engine, as_of)})
    run = project.run()
    assert run.exit_code == 0, run.output
    assert _ids(project, "v0") == [1]
    assert _ids(project, "v1") == [1, 2]
    assert _ids(project, "at") == [1, 2]  # version 1 was the newest at that moment
    assert _ids(project, "now") == [1, 2, 3]


def test_a_moment_before_the_first_commit_fails_the_node(odibi_project):
    project = odibi_project({})
    _three_versions(str(project.path("t")))
    project.write({"odibi.yaml": _project("pandas", "2020-01-01T00:00:00Z")})
    run = project.run("--node", "at")
    assert run.exit_code == 1
    assert "cannot read delta 't' on connection 'd' as of 2020-01-01T00:00:00+00:00" in run.output
    assert "its first commit is later" in run.output


def test_validate_refuses_time_travel_where_it_cannot_mean_anything(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: on_csv
        read: {connection: d, format: csv, path: a.csv, time_travel: {as_of_version: 1}}
      - name: both
        read:
          connection: d
          format: delta
          path: t
          time_travel: {as_of_version: 1, as_of_timestamp: "2024-01-01"}
      - name: twice
        read:
          connection: d
          format: delta
          path: t
          options: {versionAsOf: 2}
          time_travel: {as_of_version: 1}
      - name: not_a_time
        read: {connection: d, format: delta, path: t, time_travel: {as_of_timestamp: yesterday}}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    out = run.output
    assert "time_travel reads an older version of a Delta table; format 'csv' keeps no" in out
    assert "time_travel takes one of 'as_of_version' or 'as_of_timestamp'" in out
    assert "give the version once: time_travel or options.versionAsOf, not both" in out
    assert "as_of_timestamp 'yesterday' is not an ISO date or time" in out
