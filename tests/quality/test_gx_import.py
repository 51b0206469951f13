"""How Great Expectations is imported (``gx_runner.import_gx``): trimmed, in the background
when a run has checks, and again with Spark when pyspark arrives later. Each test runs in a
fresh interpreter, since what it checks is what one process imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


def fresh(code: str, cwd: str | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


CHECK = """
import json, sys
import pandas as pd
from odibi_quality import gx_runner

def top(name):
    return any(m == name or m.startswith(name + ".") for m in sys.modules)

def validate():
    import great_expectations.expectations as gxe  # after import_gx, as Odibi does

    exp = gxe.ExpectColumnValuesToNotBeNull(column="a")
    exp.meta = {"odibi_assertion": 0}
    result = gx_runner.validate(pd.DataFrame({"a": [1, None, 3]}), "s", [exp], "pandas")
    return result.results[0].result["unexpected_count"]
"""


def test_the_import_leaves_out_what_validating_frames_never_uses():
    out = fresh(
        CHECK
        + """
gx_runner.import_gx()
before = {n: top(n) for n in ("sqlalchemy", "azure", "pyspark")}
deferred = {n: type(sys.modules[n]).__name__ for n in ("altair", "scipy.stats")}
count = validate()
import importlib.util
found = importlib.util.find_spec("altair") is not None
import altair
chart = altair.Chart.__name__
import sqlalchemy, scipy.stats  # hidden from GX's import only, not from the process
print(json.dumps({"before": before, "deferred": deferred, "count": count,
                  "altair": [found, chart, type(sys.modules["altair"]).__name__],
                  "entropy": float(scipy.stats.entropy([0.5, 0.5])),
                  "sqlalchemy": bool(sqlalchemy.__version__)}))
"""
    )
    assert out["before"] == {"sqlalchemy": False, "azure": False, "pyspark": False}
    assert out["deferred"] == {"altair": "_Deferred", "scipy.stats": "_Deferred"}
    assert out["count"] == 1
    assert out["altair"] == [True, "Chart", "module"]  # found, and real once used
    assert out["entropy"] == pytest.approx(0.6931, abs=1e-3)  # the real scipy, on first use
    assert out["sqlalchemy"]


def test_gx_is_imported_again_with_spark_once_pyspark_arrives():
    pytest.importorskip("pyspark")
    out = fresh(
        CHECK
        + """
gx_runner.import_gx()
from great_expectations.compatibility.not_imported import NotImported
from great_expectations.compatibility import pyspark as compat
without = isinstance(compat.pyspark, NotImported)
first = sys.modules["great_expectations"]
import pyspark
gx_runner.import_gx()  # what a Spark run's first check does
from great_expectations.compatibility import pyspark as compat
print(json.dumps({"without": without, "with": not isinstance(compat.pyspark, NotImported),
                  "again": sys.modules["great_expectations"] is not first,
                  "count": validate()}))
"""
    )
    assert out == {"without": True, "with": True, "again": True, "count": 1}


RUN = """
import json, sys, threading
from odibi_quality import gx_runner
started = []
real = gx_runner._warm
gx_runner._warm = lambda: (started.append(threading.current_thread().name), real())
from odibi_core.runner.api import run_project
results = run_project("odibi.yaml")
print(json.dumps({"status": [r.status for r in results], "threads": started,
                  "gx": "great_expectations" in sys.modules,
                  "dq": results[0].nodes["orders"].checks["quality"]["dq_score"]}))
"""


def _checked_project(tmp_path, assertion: str) -> None:
    (tmp_path / "orders.csv").write_text("id\n1\n2\n")
    (tmp_path / "odibi.yaml").write_text(
        textwrap.dedent(
            f"""\
            project: bg
            retry: {{enabled: false}}
            connections: {{d: {{type: local, base_path: .}}}}
            pipelines:
              - pipeline: p
                nodes:
                  - name: orders
                    read: {{connection: d, format: csv, path: orders.csv}}
                    quality: {{assertions: [{assertion}]}}
            """
        )
    )


def test_a_run_whose_checks_all_have_sql_measures_never_imports_gx(tmp_path):
    _checked_project(
        tmp_path, "{type: not_null, columns: [id]}, {type: row_count, min: 3, severity: warn}"
    )
    out = fresh(RUN, cwd=str(tmp_path))
    assert out == {"status": ["SUCCESS"], "threads": [], "gx": False, "dq": 50.0}


def test_a_check_only_gx_can_run_imports_gx_in_the_background(tmp_path):
    expect = "{type: expect, expectation: expect_column_values_to_be_between, " + (
        "kwargs: {column: id, min_value: 2}, severity: warn}"
    )
    _checked_project(tmp_path, expect)
    out = fresh(RUN, cwd=str(tmp_path))
    assert out == {"status": ["SUCCESS"], "threads": ["odibi-gx-import"], "gx": True, "dq": 50.0}
