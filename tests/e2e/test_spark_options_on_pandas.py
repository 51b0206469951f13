"""A project written for Spark runs on pandas as it does in Odibi: Spark's reader options are
accepted and ignored, and Delta time travel takes Spark's spellings."""

from __future__ import annotations

import math
import time

PROJECT = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: raw
        read:
          connection: d
          format: csv
          path: in.csv
          options: {header: true, inferSchema: true, multiLine: false, dateFormat: yyyy-MM-dd}
        write: {connection: d, format: delta, path: t}
"""


def test_spark_reader_options_are_ignored_on_pandas(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "in.csv": "a,b\n1,x\n2,y\n"})
    assert project.odibi("validate", "{config}").exit_code == 0
    run = project.run()
    assert run.exit_code == 0, run.output
    assert sorted(r["a"] for r in project.delta("t")) == [1, 2]


def test_delta_time_travel_takes_sparks_spellings(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "in.csv": "a,b\n1,x\n"})
    assert project.run().exit_code == 0
    time.sleep(1.1)  # commit timestamps are in milliseconds; keep the versions apart
    project.write({"in.csv": "a,b\n1,x\n2,y\n3,z\n"})
    assert project.run().exit_code == 0
    from deltalake import DeltaTable

    first = DeltaTable(str(project.path("t"))).history()[-1]["timestamp"]  # ms since epoch
    # The first whole second at or after the first commit (before the second, 1.1 s later):
    # a moment before the first commit is an error.
    as_of = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(math.ceil(first / 1000))) + "Z"
    reader = """\
project: r
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: r
    nodes:
      - name: v0
        read: {connection: d, format: delta, path: t, options: {versionAsOf: 0}}
        write: {connection: d, format: csv, path: v0.csv}
      - name: at
        read: {connection: d, format: delta, path: t, options: {timestampAsOf: "AS_OF"}}
        write: {connection: d, format: csv, path: at.csv}
""".replace("AS_OF", as_of)
    project.write({"reader.yaml": reader})
    run = project.odibi("run", str(project.path("reader.yaml")))
    assert run.exit_code == 0, run.output
    assert project.path("v0.csv").read_text().count("\n") == 2  # header + the first run's row
    assert project.path("at.csv").read_text().count("\n") == 2
