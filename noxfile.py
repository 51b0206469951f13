"""Odibi's task runner: ``nox -s tests lint typing bench demo``.

Tool versions live in ``pyproject.toml`` (the ``dev`` extra), never here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typing", "tests"]  # bench and demo run only when asked for

ROOT = Path(__file__).parent
LINT_PATHS = ["src", "tests", "plugins", "benchmarks", "noxfile.py"]


def _dev_requirements(*names: str) -> list[str]:
    """The named tools' requirement strings from the ``dev`` extra in pyproject.toml."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    wanted = {name.lower() for name in names}
    found = [
        req for req in extras if re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower() in wanted
    ]
    if len(found) != len(wanted):
        raise RuntimeError(f"{sorted(wanted)} not all in the dev extra of pyproject.toml")
    return found


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with pytest (extra arguments go to pytest)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*_dev_requirements("ruff"))  # ruff alone: no need for the package's deps
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check the packages listed in pyproject's [tool.mypy] with mypy."""
    session.install("-e", ".[dev]")
    # MYPYPATH=src: check the sources as sources, not as an installed package needing py.typed.
    session.run("mypy", *session.posargs, env={"MYPYPATH": str(ROOT / "src")})


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmarks/*.py script (extra arguments go to each script)."""
    session.install("-e", ".[dev]")
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    if not scripts:
        session.error("no benchmarks/*.py scripts found")
    for script in scripts:
        session.run("python", str(script), *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the quickstart project: odibi run examples/quickstart/odibi.yaml."""
    session.install("-e", ".[dev]")
    session.run("odibi", "run", "examples/quickstart/odibi.yaml", *session.posargs)
