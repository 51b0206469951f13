"""Odibi core: config, engines, connections, the runner, the System Catalog, stories, the CLI."""

from __future__ import annotations

from typing import Any

import pluggy

from odibi_core.errors import (
    CatalogError,
    ConfigError,
    NodeError,
    OdibiError,
    PluginError,
    QualityError,
    SQLError,
)

__version__ = "0.1.0"

#: Decorate plugin functions with this to implement a hook from :mod:`odibi_core.hookspecs`.
hookimpl = pluggy.HookimplMarker("odibi")

# Re-exported lazily so that ``import odibi_core`` (and ``odibi --help``) stays cheap.
_LAZY = {
    "load_project": "odibi_core.config.loader",
    "run_project": "odibi_core.runner.api",
    "Transform": "odibi_core.transforms.registry",
    "transform": "odibi_core.transforms.registry",
    "Engine": "odibi_core.engines.base",
    "Connection": "odibi_core.connections.base",
    "get_plugin_manager": "odibi_core.plugin_manager",
    "TableSpec": "odibi_core.catalog.spec",
    "CatalogRows": "odibi_core.catalog.rows",
    "Command": "odibi_core.cli.command",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'odibi_core' has no attribute {name!r}")


__all__ = [
    "CatalogError",
    "ConfigError",
    "NodeError",
    "OdibiError",
    "PluginError",
    "QualityError",
    "SQLError",
    "__version__",
    "hookimpl",
    *_LAZY,
]
