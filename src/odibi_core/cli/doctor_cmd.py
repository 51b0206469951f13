"""``odibi doctor [CONFIG]``: is this machine ready to run Odibi (and this project)?

Python, the installed extras, Java for Spark, ODBC drivers; with a project (or an
``odibi.yaml`` in the current folder) also what it needs: the extras of its engine and
connection types, and whether each connection answers, all probed at once with a short
timeout. Exit 1 when something the project needs is missing or unreachable."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The extras each engine needs (connection types say theirs: ``Connection.extras``).
ENGINE_EXTRAS = {"spark": ("spark",), "polars": ("polars",)}
JAVA_FOR_SPARK = 17


@dataclass
class Check:
    name: str
    status: str  # ok | warn | FAIL | info
    detail: str


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="check Python, extras, Java, drivers and a project's connections",
        description="Check this machine (and a project's needs and connections). Exit 1 "
        "when something the project needs is missing or does not answer.",
    )
    p.add_argument("config", nargs="?", help="project file (default: ./odibi.yaml if present)")
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds to wait for each connection (default 3)",
    )
    # "auto" is Odibi's name for the table.
    p.add_argument("--format", choices=["table", "json", "auto"], default="table")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    checks = [_python(), *_extras(), _java(), _jdbc(), _odbc()]
    config = args.config or ("odibi.yaml" if Path("odibi.yaml").is_file() else None)
    if config:
        checks += _project(config, args.env, args.timeout)
    else:
        checks.append(Check("project", "info", "none given (odibi doctor CONFIG checks one)"))
    failed = any(c.status == "FAIL" for c in checks)
    if args.format == "json":
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        from odibi_core.cli.output import print_table

        print_table(["check", "status", "detail"], [[c.name, c.status, c.detail] for c in checks])
        print("\nnothing missing" if not failed else "\nsomething the project needs is missing")
    return 1 if failed else 0


# ---------------------------------------------------------------- the machine


def _python() -> Check:
    from odibi_core import __version__

    v = sys.version_info
    ok = v >= (3, 11)
    return Check(
        "python",
        "ok" if ok else "FAIL",
        f"{v.major}.{v.minor}.{v.micro} ({sys.executable}); odibi {__version__}"
        + ("" if ok else "; Odibi needs Python 3.11 or newer"),
    )


def extras() -> dict[str, list[str]]:
    """Each extra of the ``odibi`` distribution → the requirements of it not installed."""
    from importlib.metadata import PackageNotFoundError, requires, version

    found: dict[str, list[str]] = {}
    for req in requires("odibi") or []:
        match = re.search(r"""extra\s*==\s*["']([^"']+)["']""", req)
        if not match or match.group(1) == "dev":
            continue
        name = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]
        missing = found.setdefault(match.group(1), [])
        if name == "odibi":
            continue
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    return found


def _extras() -> list[Check]:
    return [
        Check(
            f"extra {name}",
            "ok" if not missing else "info",
            "installed" if not missing else f"not installed: {', '.join(missing)}",
        )
        for name, missing in sorted(extras().items())
    ]


def java_version() -> tuple[int | None, str]:
    """Java's major version and where it is, or (None, why not)."""
    import shutil
    import subprocess

    home = os.environ.get("JAVA_HOME")
    exe = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not exe or not Path(exe).exists():
        return None, "no java on PATH (nor JAVA_HOME)"
    try:
        out = subprocess.run(
            [exe, "-version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{exe} -version failed: {exc}"
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None, f"{exe}: version not understood"
    major = int(match.group(1))
    if major == 1 and match.group(2):  # 1.8 is Java 8
        major = int(match.group(2))
    return major, f"Java {major} ({exe})"


def _java() -> Check:
    major, detail = java_version()
    if major is None:
        return Check("java (spark)", "info", detail)
    ok = major >= JAVA_FOR_SPARK
    return Check(
        "java (spark)",
        "ok" if ok else "warn",
        detail + ("" if ok else f"; Spark 4 needs Java {JAVA_FOR_SPARK}+"),
    )


def jdbc_drivers() -> dict[str, bool]:
    """The JDBC drivers a local Spark session starts with (Maven coordinates) → whether Ivy's
    cache already has the jar (else Spark fetches it from Maven Central on first use)."""
    from odibi_core.engines.spark_jdbc import DRIVER_PACKAGES

    cached = {p.name for p in Path.home().glob(".ivy2*/jars/*.jar")}
    found = {}
    for coordinates in DRIVER_PACKAGES:
        group, artifact, version = coordinates.split(":")
        found[coordinates] = f"{group}_{artifact}-{version}.jar" in cached
    return found


def _jdbc() -> Check:
    drivers = jdbc_drivers()
    detail = ", ".join(
        f"{c.split(':')[1]} {'cached' if ok else 'fetched on first use'}"
        for c, ok in drivers.items()
    )
    return Check("jdbc drivers (spark)", "info", detail)


def odbc_drivers() -> list[str] | str:
    """Installed ODBC drivers, or why pyodbc cannot tell (not installed, no unixODBC)."""
    try:
        import pyodbc
    except ImportError as exc:
        return f"pyodbc cannot be imported ({exc}); odibi[azure] has it, unixODBC provides it"
    return list(pyodbc.drivers())


def _odbc() -> Check:
    drivers = odbc_drivers()
    if isinstance(drivers, str):
        return Check("odbc drivers", "info", drivers)
    return Check("odbc drivers", "info", ", ".join(drivers) or "none installed")


# ---------------------------------------------------------------- the project


def _project(config: str, env: str | None, timeout: float) -> list[Check]:
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    project = load_project(config, env, manager)  # an invalid project: exit 2, as validate
    nodes = sum(len(p.nodes) for p in project.pipelines)
    checks = [Check("project", "ok", f"{project.path}: valid ({nodes} node(s))")]
    connections = build_connections(project, manager.registry)
    missing = extras()
    needs: dict[str, str] = {}
    for extra in ENGINE_EXTRAS.get(project.engine, ()):
        needs.setdefault(extra, f"engine {project.engine}")
    for name, conn in connections.items():
        for extra in type(conn).extras:
            needs.setdefault(extra, f"connection {name} ({conn.type_name})")
    for extra, why in sorted(needs.items()):
        gone = missing.get(extra, [])
        checks.append(
            Check(
                f"needs odibi[{extra}]",
                "FAIL" if gone else "ok",
                f"for {why}"
                + (f": pip install 'odibi[{extra}]' ({', '.join(gone)})" if gone else ""),
            )
        )
    if project.engine == "spark":
        major, detail = java_version()
        ok = major is not None and major >= JAVA_FOR_SPARK
        checks.append(
            Check("needs java", "ok" if ok else "FAIL", f"{detail} (Spark needs {JAVA_FOR_SPARK}+)")
        )
    checks += _drivers(connections)
    checks += _reachable(connections, timeout)
    return checks


def _drivers(connections: dict[str, Any]) -> list[Check]:
    """SQL Server connections name an ODBC driver: is it installed?"""
    checks = []
    for name, conn in connections.items():
        driver = getattr(conn.config, "driver", None)
        if getattr(conn, "dialect", None) != "mssql" or not driver:
            continue
        drivers = odbc_drivers()
        ok = isinstance(drivers, list) and driver in drivers
        checks.append(
            Check(
                f"odbc driver for {name}",
                "ok" if ok else "FAIL",
                f"'{driver}'" + ("" if ok else " is not installed (see 'odbc drivers')"),
            )
        )
    return checks


def _reachable(connections: dict[str, Any], timeout: float) -> list[Check]:
    """Every connection probed at once: a local folder exists, a server's port answers."""
    from concurrent.futures import ThreadPoolExecutor

    if not connections:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(connections))) as pool:
        return list(pool.map(lambda item: _probe(item[0], item[1], timeout), connections.items()))


def _probe(name: str, conn: Any, timeout: float) -> Check:
    import socket

    label = f"connection {name}"
    if conn.is_local:
        folder = Path(conn.uri(""))
        if folder.is_dir():
            return Check(label, "ok", f"{conn.type_name}: {folder} exists")
        return Check(label, "warn", f"{conn.type_name}: {folder} does not exist yet")
    try:
        address = conn.endpoint()
    except Exception as exc:  # an incomplete config: say so, do not stop the other checks
        return Check(label, "FAIL", f"{conn.type_name}: {exc}")
    if address is None:
        return Check(label, "info", f"{conn.type_name}: nothing to reach from here")
    host, port = address
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return Check(label, "FAIL", f"{conn.type_name}: {host}:{port} unreachable ({reason})")
    ms = (time.perf_counter() - started) * 1000
    return Check(label, "ok", f"{conn.type_name}: {host}:{port} answers ({ms:.0f} ms)")
