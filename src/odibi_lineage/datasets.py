"""Datasets as OpenLineage names them: a namespace for where the data lives (``file``, an
``abfss://`` container, a database server) and a name within it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection


@dataclass
class DatasetRef:
    namespace: str
    name: str
    #: ``(column, type)`` pairs, when known.
    schema: list[tuple[str, str]] = field(default_factory=list)
    rows: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


def locate(spec: ReadConfig | WriteConfig, connection: Connection | None) -> DatasetRef:
    """Where a read or write block's data lives, in OpenLineage's naming."""
    if spec.table and not getattr(spec, "path", None):
        return _table(spec.connection, spec.table, connection)
    path = spec.path or getattr(spec, "query", None) or ""
    if connection is None:
        return DatasetRef(f"odibi://{spec.connection}", path)
    try:
        uri = connection.uri(path)
    except Exception:  # a connection that holds tables, not files: name the query's source
        return _table(spec.connection, path or "query", connection)
    if connection.is_local:
        return DatasetRef("file", uri)
    return _split(uri)


def _split(uri: str) -> DatasetRef:
    parts = urlsplit(uri)
    if parts.scheme == "az":  # fsspec's spelling of an ADLS container: OpenLineage's abfss
        container, _, rest = (parts.netloc + parts.path).partition("/")
        return DatasetRef(f"abfss://{container}", rest)
    if not parts.scheme:
        return DatasetRef("file", uri)
    return DatasetRef(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/"))


def _table(name: str, table: str, connection: Connection | None) -> DatasetRef:
    info: dict[str, Any] = {}
    if connection is not None:
        try:
            info = connection.describe()
        except Exception:
            info = {}
    host, port, database = info.get("host"), info.get("port"), info.get("database")
    if host:
        kind = str(info.get("type") or "db").replace("azure_sql", "sqlserver")
        kind = kind.replace("sql_server", "sqlserver")
        namespace = f"{kind}://{host}" + (f":{port}" if port else "")
        return DatasetRef(namespace, f"{database}.{table}" if database else table)
    return DatasetRef(f"odibi://{name}", table)
