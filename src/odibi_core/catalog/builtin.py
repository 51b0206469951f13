"""Registers core's catalog tables: the built-in plugin for :mod:`odibi_core.catalog`."""

from __future__ import annotations

from odibi_core import hookimpl
from odibi_core.catalog import tables
from odibi_core.catalog.spec import TableSpec


@hookimpl
def odibi_register_catalog_tables() -> list[TableSpec]:
    return tables.specs()
