"""Project configuration: models, loading and validation (SPEC §2)."""

from odibi_core.config.loader import load_project
from odibi_core.config.models import (
    ConnectionConfig,
    NodeConfig,
    PipelineConfig,
    ProjectConfig,
    ReadConfig,
    RetryConfig,
    TransformStep,
    WriteConfig,
)

__all__ = [
    "ConnectionConfig",
    "NodeConfig",
    "PipelineConfig",
    "ProjectConfig",
    "ReadConfig",
    "RetryConfig",
    "TransformStep",
    "WriteConfig",
    "load_project",
]
