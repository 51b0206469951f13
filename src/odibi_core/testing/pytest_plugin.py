"""pytest fixtures for Odibi projects, active wherever odibi is installed (entry point
``pytest11``): ``odibi_project`` builds projects in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from odibi_core.testing.project import OdibiProject


@pytest.fixture
def odibi_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., OdibiProject]]:
    """A factory: ``odibi_project({"odibi.yaml": "...", "data/x.csv": "..."})``."""
    from odibi_core.plugin_manager import reset_plugin_manager

    monkeypatch.chdir(tmp_path)
    reset_plugin_manager()
    count = 0

    def make(
        files: dict[str, str | bytes] | None = None,
        name: str | None = None,
        config: str = "odibi.yaml",
    ) -> OdibiProject:
        nonlocal count
        count += 1
        return OdibiProject(tmp_path / (name or f"project{count}"), files, config)

    yield make
    reset_plugin_manager()
