"""``type: delta``: tables of a metastore catalog (Unity Catalog on Databricks), named
``catalog.schema.table``, as Odibi users write them (``catalog``, ``schema``; nodes give
``table``).

On Spark the metastore is the source of truth: reads are ``spark.read.table`` and writes
``saveAsTable`` / ``DeltaTable.forName``. The engines that run in this process (pandas, polars)
have no metastore; with ``base_path`` they keep the same tables as Delta tables under
``<base_path>/<catalog>/<schema>/<table>`` (a laptop's stand-in for the catalog), and without
it ``odibi validate`` says so instead of a run failing later.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from odibi_core import hookimpl
from odibi_core.connections.base import Connection
from odibi_core.errors import NodeError


class DeltaCatalogConfig(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        # What ``odibi explain delta`` shows (base_path: the same tables off Spark).
        json_schema_extra={
            "examples": [{"catalog": "main", "schema": "sales", "base_path": "./warehouse"}]
        },
    )

    catalog: str = Field(min_length=1)
    schema_name: str = Field(alias="schema", min_length=1)
    #: A default table for nodes that name none (Odibi's key).
    table: str | None = None
    #: Where the pandas and polars engines keep these tables (relative to the project file).
    base_path: str | None = None
    validation_mode: str = "lazy"


class DeltaCatalogConnection(Connection):
    """Metastore tables by name (Unity Catalog style ``catalog`` and ``schema``), read and
    written as ``table:`` on Spark."""

    type_name = "delta"
    config_model = DeltaCatalogConfig
    config: DeltaCatalogConfig
    #: The only format its tables have.
    formats = frozenset({"delta"})

    @classmethod
    def engine_problem(cls, config: DeltaCatalogConfig, engine: str, in_process: bool) -> str:
        """What ``odibi validate`` says when the engine cannot reach these tables."""
        if in_process and config.base_path is None:
            return (
                f"catalog '{config.catalog}', schema '{config.schema_name}' is a metastore only "
                f"the spark engine reaches; on the {engine} engine give it base_path (a folder "
                "for these tables as Delta tables on this machine)"
            )
        return ""

    def table_name(self, table: str) -> str:
        """``catalog.schema.table``, each part quoted for Spark SQL."""
        c = self.config
        parts = [c.catalog, c.schema_name, table or c.table or ""]
        if not parts[2]:
            raise NodeError(f"connection '{self.name}': give the node a table", step="read")
        return ".".join("`" + p.replace("`", "``") + "`" for p in parts)

    @property
    def is_local(self) -> bool:
        return self.config.base_path is not None

    def uri(self, path: str) -> str:
        c = self.config
        if c.base_path is None:
            raise NodeError(
                f"connection '{self.name}' names tables of catalog '{c.catalog}', schema "
                f"'{c.schema_name}', which only the spark engine reaches; give it base_path "
                "to keep them as Delta tables on this machine"
            )
        base = Path(c.base_path).expanduser()
        base = base if base.is_absolute() else self.project_root / base
        return str((base / c.catalog / c.schema_name / (path or c.table or "")).resolve())

    def describe(self) -> dict[str, str]:
        c = self.config
        found = {"name": self.name, "type": self.type_name, "catalog": c.catalog}
        found["schema"] = c.schema_name
        return found


@hookimpl
def odibi_register_connection_types() -> list[type[Connection]]:
    return [DeltaCatalogConnection]
