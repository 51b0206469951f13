"""The connection interface: where data lives and how engines reach it."""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel


class Connection(ABC):
    """A named place data is read from and written to.

    A connection offers one of two capabilities, named by ``stores``: ``"files"`` turns a
    relative path into a URI that pandas, deltalake and DuckDB understand, plus the storage
    options those need; ``"tables"`` is a database the ``sql`` format reads with queries and
    writes tables into (:class:`odibi_core.connections.sql.SqlConnection`), which has no URI.
    """

    type_name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    #: What the connection holds: ``"files"`` (a URI per path) or ``"tables"`` (a database).
    stores: ClassVar[str] = "files"
    #: The ``odibi[...]`` extras it needs installed (``odibi doctor`` checks them).
    extras: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: BaseModel, project_root: Path):
        self.name = name
        self.config = config
        self.project_root = project_root

    def uri(self, path: str) -> str:
        """The full location of ``path`` on this connection (connections that store files)."""
        raise NotImplementedError(
            f"connection '{self.name}' ({self.type_name}) holds {self.stores}, not files"
        )

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

    def endpoint(self) -> tuple[str, int] | None:
        """The host and port it talks to (``odibi doctor`` checks it answers), without signing
        in or fetching a secret; None when it reaches nothing over the network."""
        return None

    def close(self) -> None:  # noqa: B027  (optional: most connections hold nothing open)
        """Release what the connection holds open (a database's pool) at the end of a run."""

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


def flat_auth(data: Any, fields: Mapping[str, str], modes: Mapping[str, str]) -> Any:
    """A connection's raw config with ``auth: {mode: m, <fields>}`` read as ``auth_mode: m``
    plus the fields, and Odibi's names of fields (``fields``) and modes (``modes``) as ours;
    for a pydantic ``mode="before"`` validator."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if isinstance(data.get("auth"), dict):
        auth = dict(data.pop("auth"))
        if "mode" in auth:
            auth["auth_mode"] = auth.pop("mode")
        for key, value in auth.items():
            data.setdefault(key, value)
    for theirs, ours in fields.items():
        if theirs in data and ours not in data:
            data[ours] = data.pop(theirs)
    mode = data.get("auth_mode")
    if isinstance(mode, str):
        data["auth_mode"] = modes.get(mode, mode)
    return data
