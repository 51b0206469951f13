"""One project over three loads on pandas, polars and Spark gives the same tables: delete
detection against the previous Delta version, scd2 with deletes MERGEd into its own Delta
table (and vacuumed), a merge with conditions, and unit conversion. On Spark the scd2 table is
also registered in the session's metastore. Tables are read back with the independent Delta
reader and compared as sorted rows (a Delta MERGE keeps no row order)."""

from __future__ import annotations

from typing import Any

import pytest

LOADS = [
    "id,city,deleted,version,temp_f\n1,Rome,false,1,212\n2,Oslo,false,1,32\n3,Lima,false,1,50\n",
    "id,city,deleted,version,temp_f\n1,Milan,false,2,212\n2,Oslo,false,1,32\n"
    "3,Lima,true,2,50\n4,Nice,false,1,-40\n",
    "id,city,deleted,version,temp_f\n1,Milan,false,3,100\n2,Bern,false,0,32\n4,Nice,false,1,-40\n",
]

PROJECT = """
project: parity
engine: {engine}
connections:
  src: {{type: local, base_path: ./data}}
  lake: {{type: local, base_path: ./lake}}
pipelines:
  - pipeline: p
    nodes:
      - name: snapshot
        read: {{connection: src, format: csv, path: load.csv}}
        transformer: detect_deletes
        params: {{mode: snapshot_diff, keys: [id], connection: lake, path: snapshot}}
        write: {{connection: lake, format: delta, path: snapshot, mode: overwrite}}
      - name: history
        read: {{connection: src, format: csv, path: load.csv}}
        transformer: scd2
        params:
          connection: lake
          path: history
          keys: [id]
          track_cols: [city]
          delete_col: deleted
          vacuum_hours: 0
          {register}
      - name: merged
        read: {{connection: src, format: csv, path: load.csv}}
        transformer: merge
        params:
          target: lake.merged
          keys: [id]
          update_condition: "source.version > target.version"
          insert_condition: "NOT source.deleted"
          delete_condition: "source.deleted"
      - name: converted
        read: {{connection: src, format: csv, path: load.csv}}
        transformer: unit_convert
        params:
          conversions: {{temp_f: {{from: degF, to: degC, output: temp_c}}}}
        write: {{connection: lake, format: delta, path: converted, mode: overwrite}}
"""
TABLES = ("snapshot", "history", "merged", "converted")
#: Load times differ run to run; whether a version is closed does not.
TIMES = ("valid_from", "valid_to")


def _tables(project: Any) -> dict[str, list[tuple[Any, ...]]]:
    def plain(row: dict[str, Any]) -> tuple[Any, ...]:
        values = [round(v, 9) if isinstance(v, float) else v for k, v in row.items() if
                  k not in TIMES]  # fmt: skip
        return (*values, row.get("valid_to") is None)

    return {t: sorted(map(plain, project.delta(f"lake/{t}")), key=repr) for t in TABLES}


def _three_loads(odibi_project: Any, engine: str) -> Any:
    register = "register_table: parity_history" if engine == "spark" else ""
    project = odibi_project({"odibi.yaml": PROJECT.format(engine=engine, register=register)})
    for load in LOADS:
        project.write({"data/load.csv": load})
        run = project.run()
        assert run.exit_code == 0, run.output
    return project


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_new_patterns_give_the_same_tables_on_every_engine(odibi_project, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
    expected = _tables(_three_loads(odibi_project, "pandas"))
    # The values themselves, once: Cy's Lima closed by the flag, Bob's Oslo by his move.
    history = [(r[0], r[1], r[-2], r[-1]) for r in expected["history"]]
    assert sorted(history) == [
        (1, "Milan", True, True), (1, "Rome", False, False), (2, "Bern", True, True),
        (2, "Oslo", False, False), (3, "Lima", False, False), (4, "Nice", True, True),
    ]  # fmt: skip
    assert [r[:2] for r in expected["merged"]] == [(1, "Milan"), (2, "Oslo"), (4, "Nice")]
    assert [(r[0], r[-2]) for r in expected["snapshot"]] == [
        (1, False), (2, False), (3, True), (4, False),
    ]  # fmt: skip
    project = _three_loads(odibi_project, engine)
    assert _tables(project) == expected
    if engine == "spark":
        from pyspark.sql import SparkSession

        # The run's session (in this process) knows the table by name, at its location.
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        assert spark.sql("SELECT COUNT(*) AS n FROM parity_history").first()["n"] == 6
