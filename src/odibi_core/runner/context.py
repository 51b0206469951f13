"""Everything a pipeline run shares with its nodes and with plugins."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.models import PipelineConfig, ProjectConfig
    from odibi_core.connections.base import Connection
    from odibi_core.engines.base import Engine
    from odibi_core.plugin_manager import PluginManager
    from odibi_core.secrets import SecretSet


@dataclass
class RunOptions:
    """How ``odibi run`` was asked to run."""

    pipelines: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    parallel: bool = False
    workers: int = 4
    resume: bool = False
    dry_run: bool = False
    on_error: str | None = None  # overrides every node's on_error


@dataclass
class RunContext:
    """One pipeline run. ``run_id`` is the same in the catalog, the story and telemetry."""

    run_id: str
    project: ProjectConfig
    pipeline: PipelineConfig
    engine: Engine
    connections: dict[str, Connection]
    catalog: Catalog
    plugins: PluginManager
    options: RunOptions
    started_at: datetime
    #: Free space for plugins, keyed by plugin name (e.g. a tracer's open spans).
    extras: dict[str, Any] = field(default_factory=dict)
    #: The story's HTML file, known once the story is being written (plugins put their own
    #: files for the run beside it, in a folder named like it without ``.html``).
    story_path: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pipeline_name(self) -> str:
        return self.pipeline.pipeline

    @property
    def environment(self) -> str | None:
        return self.project.environment

    @property
    def secrets(self) -> SecretSet:
        """The project's secrets (``odibi_core.secrets``), those the run's connections obtain
        while running (a Key Vault key) included: scrub every output with them."""
        return self.project.secret_set

    def scrub(self, text: str) -> str:
        """``text`` without the run's secrets."""
        return self.project.secret_set.scrub(text)
