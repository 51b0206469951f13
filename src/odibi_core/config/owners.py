"""Keys of the project file that a plugin acts on, and what happens when it is blocked.

Core keeps these blocks as data (``quality`` …) or as models (``alerts``, ``lineage``), but
only their plugin does anything with them. A plugin blocked with ``ODIBI_BLOCK_PLUGINS``
would leave them silently inert, so such a key is a validation error naming the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.errors import ConfigIssue

if TYPE_CHECKING:
    from odibi_core.config.source_map import SourceMap
    from odibi_core.plugin_manager import PluginManager

#: Node keys → the entry-point name of the plugin that runs them (Odibi's own distribution).
NODE_KEYS = {"quality": "quality", "validation": "quality", "contracts": "quality"}
#: Top-level keys → the same.
PROJECT_KEYS = {"alerts": "alerts", "lineage": "lineage"}


def blocked_owner_issues(
    data: dict[str, Any], source_map: SourceMap, manager: PluginManager
) -> list[ConfigIssue]:
    """A problem for each key given (non-empty) whose plugin is blocked."""
    from odibi_core.plugin_manager import blocked_plugins

    blocked = blocked_plugins()
    if not blocked:
        return []
    owners = set(NODE_KEYS.values()) | set(PROJECT_KEYS.values())
    off = {o for o in owners if o not in manager.infos and _is_blocked(o, blocked)}
    if not off:
        return []
    issues = []

    def add(key: str, owner: str, path: tuple[Any, ...], where: str) -> None:
        issues.append(
            ConfigIssue.at(
                f"{where}{key}: the plugin '{owner}' that runs it is blocked "
                "(ODIBI_BLOCK_PLUGINS); unblock it or remove the key",
                source_map.at_path(data, path),
            )
        )

    for key, owner in PROJECT_KEYS.items():
        if owner in off and data.get(key):
            add(key, owner, (key,), "")
    pipelines = data.get("pipelines")
    for i, pipeline in enumerate(pipelines if isinstance(pipelines, list) else []):
        nodes = pipeline.get("nodes") if isinstance(pipeline, dict) else None
        for j, node in enumerate(nodes if isinstance(nodes, list) else []):
            if not isinstance(node, dict):
                continue
            for key, owner in NODE_KEYS.items():
                if owner in off and node.get(key):
                    where = f"pipeline '{pipeline.get('pipeline')}', node '{node.get('name')}': "
                    add(key, owner, ("pipelines", i, "nodes", j, key), where)
    return issues


def _is_blocked(owner: str, blocked: set[str]) -> bool:
    """Blocked by its entry-point name or by its module path."""
    if owner in blocked:
        return True
    from importlib.metadata import entry_points

    from odibi_core.plugin_manager import ENTRY_POINT_GROUP

    return any(
        ep.name == owner and ep.value in blocked for ep in entry_points(group=ENTRY_POINT_GROUP)
    )
