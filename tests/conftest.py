"""Shared test set-up. The ``odibi_project`` fixture comes from ``odibi_core.testing``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import azure_ad_services
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


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """The blob endpoint of an Azurite started for this test session (each xdist worker its
    own), on 127.0.0.1, stopped at the end."""
    with tools.azurite_blob() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def azure_ad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Azure AD paths on 127.0.0.1 for this test session (each xdist worker its own): a test
    CA (``ca``) and a certificate for 127.0.0.1, Azurite over HTTPS checking bearer tokens
    (``endpoint``), and the token service and Key Vault stand-ins (``services``)."""
    certs = tools.test_certificates(tmp_path_factory.mktemp("azure-ad-tls"))
    with (
        tools.azurite_blob_oauth(certs["cert"], certs["key"]) as endpoint,
        azure_ad_services.azure_ad_services(certs["cert"], certs["key"]) as services,
    ):
        yield {"ca": certs["ca"], "endpoint": endpoint, "services": services}


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, object]]:
    """A PostgreSQL server for this test session (each xdist worker its own): host, port,
    user, password, database."""
    with tools.postgres_server() as server:
        yield server


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A folder for files a test leaves for people to look at (screenshots)."""
    folder = Path(request.config.rootpath) / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
