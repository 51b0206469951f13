"""The connection interface: where data lives and how engines reach it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel


class Connection(ABC):
    """A named place data is read from and written to.

    File-like connections turn a relative path into a URI that pandas, deltalake and DuckDB
    understand, plus the storage options those need. Database connections implement
    ``read_sql``/``write_table`` instead.
    """

    type_name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    def __init__(self, name: str, config: BaseModel, project_root: Path):
        self.name = name
        self.config = config
        self.project_root = project_root

    @abstractmethod
    def uri(self, path: str) -> str:
        """The full location of ``path`` on this connection."""

    def storage_options(self) -> dict[str, str]:
        """Credentials/options for deltalake (object_store's names); empty for local files."""
        return {}

    def fsspec_options(self) -> dict[str, Any]:
        """Credentials/options for pandas through fsspec, where its names differ."""
        return dict(self.storage_options())

    def secrets(self) -> list[str]:
        """Secret values the connection obtained at run time (not in the project file), so
        messages can be scrubbed of them too."""
        return []

    @property
    def is_local(self) -> bool:
        """True when ``uri`` returns a path on this machine's file system."""
        return False

    def read_sql(self, query: str) -> Any:
        raise NotImplementedError(f"connection '{self.name}' ({self.type_name}) cannot run SQL")

    def describe(self) -> dict[str, Any]:
        """What may be shown in stories and logs: never secrets."""
        return {"name": self.name, "type": self.type_name}


def build_connections(project: Any, registry: Any) -> dict[str, Connection]:
    """Instantiate every connection of a validated project."""
    built: dict[str, Connection] = {}
    for name, conf in project.connections.items():
        cls = registry.connection_types[conf.type]
        fields = {k: v for k, v in conf.model_dump().items() if k != "type"}
        built[name] = cls(name, cls.config_model.model_validate(fields), project.root)
    return built
