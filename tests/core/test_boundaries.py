"""Package boundaries (SPEC §1): odibi_core imports neither sibling; the siblings do not
import each other. Checked on the source, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = {
    "odibi_core",
    "odibi_quality",
    "odibi_telemetry",
    "odibi_catalog_quality",
    "odibi_alerts",
    "odibi_lineage",
}
#: Every plugin package imports odibi_core and nothing of its siblings; core none of them.
FORBIDDEN = {package: PACKAGES - {package, "odibi_core"} for package in PACKAGES}
FORBIDDEN["odibi_core"] = PACKAGES - {"odibi_core"}
# (odibi_catalog_quality and odibi_alerts read what odibi_quality leaves on each node as data.)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_siblings(package):
    offenders = {
        str(path.relative_to(SRC)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (SRC / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_the_cli_starts_without_heavy_libraries():
    code = (
        "import sys; from odibi_core.cli.main import build_parser; build_parser();"
        "from odibi_core.plugin_manager import get_plugin_manager; get_plugin_manager().registry;"
        "heavy = {'pandas', 'pyarrow', 'duckdb', 'deltalake', 'great_expectations', 'pyspark',"
        " 'opentelemetry', 'jinja2', 'sqlalchemy', 'psycopg', 'pyodbc', 'openlineage'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_odibi_help_loads_no_plugin_and_no_model():
    """``odibi --help`` (and parsing any built-in command but ``catalog``) builds its parser
    without loading plugins or pydantic: those cost more than the rest of start-up."""
    code = (
        "import sys; from odibi_core.cli.main import build_parser;"
        "build_parser(['--help']); build_parser(['validate', 'x.yaml']);"
        "print(sorted({'pydantic', 'yaml', 'odibi_quality', 'odibi_core.plugin_manager'}"
        " & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("folder", ["catalog", "cli"])
def test_core_names_no_table_a_plugin_owns(folder):
    """How a table is laid out and maintained follows from what it is (keyed or history),
    and what ``odibi catalog`` offers from what is registered (``TableSpec``), never from a
    plugin's table name: a third-party plugin's table gets the same treatment."""
    plugin_names = ("meta_quality", "meta_metrics")
    offenders = [
        str(path.relative_to(SRC))
        for path in (SRC / "odibi_core" / folder).rglob("*.py")
        if any(name in path.read_text() for name in plugin_names)
    ]
    assert offenders == []


def test_plugin_tables_are_declared_by_their_writers():
    from odibi_core.plugin_manager import PluginManager

    manager = PluginManager()
    manager.load_defaults()
    tables = manager.registry.catalog_tables
    owners = {t: p for p, i in manager.infos.items() for t in i.provides.get("catalog_tables", [])}
    assert owners["meta_quality"] == "catalog_quality"
    assert owners["meta_metrics"] == "telemetry"
    assert {owners[t] for t in ("meta_runs", "meta_state", "meta_pipelines", "meta_nodes")} == {
        "odibi_core.catalog.builtin"
    }
    assert tables["meta_quality"].command == "quality"


#: Libraries that open files or tables. Engines that compute in this process hand Arrow to
#: the IO layer instead; only Spark, whose data must not pass through this process, reads
#: and writes itself.
STORAGE_LIBRARIES = {"deltalake", "fsspec", "adlfs", "pyarrow.parquet", "pyarrow.csv", "glob"}
# (not to_json: pandas' sample rows become JSON text through it, in memory)
STORAGE_CALLS = ("read_csv", "read_parquet", "read_json", "to_csv", "to_parquet")


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_engines_that_compute_in_process_never_open_files():
    engines = SRC / "odibi_core" / "engines"
    offenders = {}
    for path in sorted(engines.glob("*.py")):
        if path.name.startswith("spark_"):  # Spark reads and writes itself
            continue
        text = path.read_text()
        opened = sorted(_imported_modules(path) & STORAGE_LIBRARIES)
        called = [c for c in STORAGE_CALLS if f".{c}(" in text] + (
            ["open("] if " open(" in text else []
        )
        if opened or called:
            offenders[path.name] = opened + called
    assert offenders == {}


def test_each_format_and_each_engine_is_one_module():
    from odibi_core.io.builtin import FORMATS
    from odibi_core.plugin_manager import PluginManager

    manager = PluginManager()
    manager.load_defaults()
    engines = manager.registry.engines
    assert {"pandas", "polars", "spark"} <= set(engines)
    for engine in engines.values():
        assert engine.__module__ == f"odibi_core.engines.{engine.name}_engine"
    for fmt in FORMATS:
        module = type(fmt).__module__
        assert module.startswith("odibi_core.io."), module
    assert {
        type(f).__module__ for f in FORMATS if f.name in ("csv", "parquet", "json", "delta")
    } == {f"odibi_core.io.{n}" for n in ("csv", "parquet", "json", "delta")}
