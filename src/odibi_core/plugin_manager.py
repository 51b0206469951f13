"""Plugin loading, in one place and in a fixed order.

Order: built-ins (``DEFAULT_PLUGINS``), then installed distributions' entry points in group
``odibi`` (sorted by name), then project-local modules (``plugins/*.py`` beside the project file,
sorted by file name). ``ODIBI_DISABLE_PLUGIN_AUTOLOAD=1`` skips entry points;
``ODIBI_BLOCK_PLUGINS=a,b`` skips the named ones (entry point names or module names).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from odibi_core import hookspecs
from odibi_core.errors import PluginError

ENTRY_POINT_GROUP = "odibi"
log = logging.getLogger("odibi.plugins")

DEFAULT_PLUGINS: tuple[str, ...] = (
    "odibi_core.engines.pandas_engine",
    "odibi_core.engines.spark_engine",
    "odibi_core.engines.polars_engine",
    "odibi_core.io.builtin",
    "odibi_core.connections.local",
    "odibi_core.connections.azure_adls",
    "odibi_core.connections.delta_catalog",
    "odibi_core.connections.http",
    "odibi_core.connections.sql",
    "odibi_core.transforms.builtin",
    "odibi_core.patterns.builtin",
    "odibi_core.catalog.builtin",
)


@dataclass
class PluginInfo:
    """What ``odibi plugins`` shows about one loaded plugin."""

    name: str
    source: str  # builtin | entrypoint | project
    module: str
    version: str | None = None
    distribution: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """Everything plugins registered, by name."""

    engines: dict[str, Any] = field(default_factory=dict)
    formats: dict[str, Any] = field(default_factory=dict)
    connection_types: dict[str, Any] = field(default_factory=dict)
    transforms: dict[tuple[str, str], Any] = field(default_factory=dict)
    assertion_types: dict[str, Any] = field(default_factory=dict)
    story_sections: dict[str, Any] = field(default_factory=dict)
    catalog_tables: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, Any] = field(default_factory=dict)

    def transform(self, name: str, engine: str) -> Any | None:
        return self.transforms.get((name, engine))

    def transform_names(self, engine: str | None = None) -> list[str]:
        return sorted({n for n, e in self.transforms if engine is None or e == engine})


# Registry hook → (Registry attribute, how to key one registered object).
_REGISTRIES: dict[str, tuple[str, Any]] = {
    "odibi_register_engines": ("engines", lambda o: o.name),
    "odibi_register_formats": ("formats", lambda o: o.name),
    "odibi_register_connection_types": ("connection_types", lambda o: o.type_name),
    "odibi_register_transforms": ("transforms", lambda o: (o.name, o.engine)),
    "odibi_register_assertion_types": ("assertion_types", lambda o: o.name),
    "odibi_register_story_sections": ("story_sections", lambda o: o.name),
    "odibi_register_catalog_tables": ("catalog_tables", lambda o: o.name),
    "odibi_register_commands": ("commands", lambda o: o.name),
}


class PluginManager:
    """Wraps pluggy's manager with Odibi's load order, block list and registries."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("odibi")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}  # by registered name
        self._registry: Registry | None = None
        self._lock = threading.Lock()
        self._loaded_dirs: set[Path] = set()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # ------------------------------------------------------------ loading

    def load_defaults(self) -> None:
        blocked = _blocked()
        for modname in DEFAULT_PLUGINS:
            if modname in blocked:
                continue
            self._register(importlib.import_module(modname), modname, "builtin", None)
        if os.environ.get("ODIBI_DISABLE_PLUGIN_AUTOLOAD", "").strip() not in ("", "0", "false"):
            return
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in blocked or ep.value in blocked:
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must name itself
                raise PluginError(
                    f"plugin '{ep.name}' ({ep.value}) failed to load: {exc}. "
                    "Set ODIBI_BLOCK_PLUGINS to skip it."
                ) from exc
            version = ep.dist.version if ep.dist else None
            dist = ep.dist.name if ep.dist else ep.name
            self._register(module, ep.name, "entrypoint", version, dist=dist)

    def load_project_plugins(self, project_dir: Path) -> None:
        """Import ``plugins/*.py`` and Odibi's ``transforms.py`` beside a project file (once per
        directory)."""
        from odibi_core.transforms import custom

        imported = custom.import_project_transforms(project_dir)
        if imported or custom.FunctionRegistry.list_functions():
            self._register(custom.PLUGIN, "project:transforms", "project", None)
            self._registry = None  # the functions may have changed
        folder = (project_dir / "plugins").resolve()
        if folder in self._loaded_dirs or not folder.is_dir():
            return
        self._loaded_dirs.add(folder)
        blocked = _blocked()
        for path in sorted(folder.glob("*.py")):
            if path.stem.startswith("_") or path.stem in blocked:
                continue
            try:
                module = import_file(f"odibi_project_plugins.{path.stem}", path)
            except Exception as exc:
                raise PluginError(f"project plugin {path} failed to load: {exc}") from exc
            self._register(module, f"project:{path.stem}", "project", None)

    def register(self, plugin: Any, name: str, source: str = "api") -> None:
        """Register an object or module implementing hooks (tests and embedding use this)."""
        self._register(plugin, name, source, None)

    def _register(
        self, plugin: Any, name: str, source: str, version: str | None, dist: str | None = None
    ) -> None:
        if self.pm.has_plugin(name):
            return
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            raise PluginError(f"plugin '{name}': {exc}") from exc
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
        hooks = sorted(
            h.name for h in self.pm.get_hookcallers(plugin) or [] if h.name.startswith("odibi_")
        )
        self.infos[name] = PluginInfo(name, source, module, version, dist, hooks)
        self._registry = None
        origin = source if module == name else f"{source}, {module}"
        log.debug("plugin %s (%s): %s", name, origin, ", ".join(hooks) or "no hooks")

    # ------------------------------------------------------------ registries

    @property
    def registry(self) -> Registry:
        with self._lock:
            if self._registry is None:
                self._registry = self._collect()
            return self._registry

    def _collect(self) -> Registry:
        registry = Registry()
        for hook_name, (attr, key_of) in _REGISTRIES.items():
            target: dict[Any, Any] = getattr(registry, attr)
            owners: dict[Any, str] = {}
            caller = getattr(self.pm.hook, hook_name)
            # Call plugin by plugin so a duplicate can name both of its owners.
            for impl in caller.get_hookimpls():  # registration order
                plugin_name = impl.plugin_name
                for obj in impl.function() or []:
                    key = key_of(obj)
                    if key in target:
                        shown = key if isinstance(key, str) else f"{key[0]}' for engine '{key[1]}"
                        raise PluginError(
                            f"{attr[:-1].replace('_', ' ')} '{shown}' is registered by both "
                            f"'{owners[key]}' and '{plugin_name}'; block one with "
                            "ODIBI_BLOCK_PLUGINS"
                        )
                    target[key] = obj
                    owners[key] = plugin_name
                    info = self.infos.get(plugin_name)
                    if info is not None:
                        shown = key if isinstance(key, str) else key[0]
                        names = info.provides.setdefault(attr, [])
                        if shown not in names:
                            names.append(shown)
        return registry


def _blocked() -> set[str]:
    raw = os.environ.get("ODIBI_BLOCK_PLUGINS", "")
    return {p.strip() for p in raw.split(",") if p.strip()}


#: The names ``ODIBI_BLOCK_PLUGINS`` blocks (the config checks name them).
blocked_plugins = _blocked


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager with built-ins and installed plugins loaded."""
    global _manager
    with _manager_lock:
        if _manager is None:
            manager = PluginManager()
            manager.load_defaults()
            _manager = manager
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests that change the environment use this)."""
    global _manager
    with _manager_lock:
        _manager = None


def import_file(modname: str, path: Path) -> Any:
    """``path`` imported as module ``modname`` (in ``sys.modules`` only if it imported)."""
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module
