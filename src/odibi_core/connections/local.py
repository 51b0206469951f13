"""``type: local``: files under a base path on this machine."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from odibi_core import hookimpl
from odibi_core.connections.base import Connection


class LocalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_path: str = "./data"
    validation_mode: str = "lazy"


class LocalConnection(Connection):
    """Files in a folder on this machine: paths are relative to ``base_path`` (itself relative
    to the project file)."""

    type_name = "local"
    config_model = LocalConfig
    config: LocalConfig

    @property
    def base(self) -> Path:
        base = Path(self.config.base_path).expanduser()
        return base if base.is_absolute() else (self.project_root / base)

    def uri(self, path: str) -> str:
        target = Path(path).expanduser()
        return str(target if target.is_absolute() else (self.base / target).resolve())

    @property
    def is_local(self) -> bool:
        return True

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type_name, "base_path": str(self.base)}


@hookimpl
def odibi_register_connection_types() -> list[type[Connection]]:
    return [LocalConnection]
