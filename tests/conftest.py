"""Shared test set-up. The ``odibi_project`` fixture comes from ``odibi_core.testing``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import external_tools as tools

# Runs in tests must not be slowed by retry back-off unless a test asks for it.
os.environ.setdefault("ODIBI_VERBOSE", "0")

# Runs in tests keep their telemetry in their own catalog: never send it to a collector the
# developer's shell points at (the telemetry tests set OTEL_* themselves where they need it).
for _name in [n for n in os.environ if n.startswith("OTEL_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, for tests that open pages in a real browser."""
    return tools.debian_tool("chromium", "chromium")


@pytest.fixture(scope="session")
def graphviz_dot() -> str:
    return tools.debian_tool("dot", "graphviz")


@pytest.fixture(scope="session")
def mermaid_js() -> str:
    return str(tools.npm_file("mermaid", tools.MERMAID_VERSION, "dist/mermaid.min.js"))


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A folder for files a test leaves for people to look at (screenshots)."""
    folder = Path(request.config.rootpath) / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
