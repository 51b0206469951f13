"""The entry point for running a project, used by ``odibi run`` and by embedding code."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.config.errors import did_you_mean
from odibi_core.errors import ConfigError
from odibi_core.runner.context import RunContext, RunOptions
from odibi_core.runner.results import PipelineResult

if TYPE_CHECKING:
    from odibi_core.config.models import PipelineConfig, ProjectConfig
    from odibi_core.plugin_manager import PluginManager

log = logging.getLogger("odibi")


@dataclass
class PlannedNode:
    name: str
    action: str  # run | load | skip
    reason: str | None = None
    reads: str | None = None
    writes: str | None = None
    warnings: list[str] = field(default_factory=list)


def select_pipelines(project: ProjectConfig, options: RunOptions) -> list[PipelineConfig]:
    """The pipelines ``--pipeline`` names (all by default) that hold a ``--node`` if any is
    given; every unknown name is an error before anything runs."""
    known = [p.pipeline for p in project.pipelines]
    unknown = [n for n in options.pipelines if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown pipeline '{unknown[0]}'; pipelines: {', '.join(known)}"
            + did_you_mean(unknown[0], known)
        )
    chosen = [
        p for p in project.pipelines if not options.pipelines or p.pipeline in options.pipelines
    ]
    if options.nodes:
        names = {n.name for p in chosen for n in p.nodes}
        missing = [n for n in options.nodes if n not in names]
        if missing:
            raise ConfigError(
                f"no node '{missing[0]}' in the selected pipelines"
                + did_you_mean(missing[0], names)
            )
        chosen = [p for p in chosen if any(n.name in options.nodes for n in p.nodes)]
    if options.tags:
        chosen = _with_tagged_nodes(chosen, options)
    return chosen


def _with_tagged_nodes(chosen: list[PipelineConfig], options: RunOptions) -> list[PipelineConfig]:
    """The pipelines in which ``--tag`` (and ``--node``) select a node; a tag on no node of
    them is an error, like an unknown ``--node``, rather than a run that does nothing."""
    tags = {t for p in chosen for n in p.nodes for t in n.tags}
    unknown = [t for t in options.tags if t not in tags]
    if unknown:
        raise ConfigError(
            f"no node tagged '{unknown[0]}' in the selected pipelines; tags: "
            + (", ".join(sorted(tags)) or "none")
            + did_you_mean(unknown[0], tags)
        )
    wanted = set(options.tags)
    picked = [
        p
        for p in chosen
        if any(
            wanted & set(n.tags) and (not options.nodes or n.name in options.nodes) for n in p.nodes
        )
    ]
    if not picked:
        raise ConfigError(
            f"no node selected: none of {', '.join(options.nodes)} is tagged "
            + " or ".join(f"'{t}'" for t in options.tags)
        )
    return picked


def run_project(
    config: str | os.PathLike[str],
    options: RunOptions | None = None,
    env: str | None = None,
    plugins: PluginManager | None = None,
    project: ProjectConfig | None = None,
) -> list[PipelineResult]:
    """Load, validate and run a project's pipelines in order; returns one result per pipeline."""
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.plugin_manager import get_plugin_manager
    from odibi_core.runner.pipeline import run_pipeline
    from odibi_core.story.writer import write_story

    options = options or RunOptions()
    manager = plugins or get_plugin_manager()
    project = project or load_project(config, env, manager)
    manager.hook.odibi_project_loaded(project=project)
    pipelines = select_pipelines(project, options)
    log.debug(
        "project %s (%s): engine %s; pipelines %s",
        project.project,
        project.root,
        project.engine,
        ", ".join(p.pipeline for p in pipelines),
    )
    connections = build_connections(project, manager.registry)
    project.secret_set.watch(connections.values())
    engine = _engine(manager.registry.engines[project.engine], project, manager.registry.formats)
    catalog = Catalog.for_project(project, connections)
    results = []
    try:
        for pipeline in pipelines:
            ctx = RunContext(
                str(uuid.uuid4()),
                project,
                pipeline,
                engine,
                connections,
                catalog,
                manager,
                options,
                datetime.now(UTC),
            )
            result = run_pipeline(ctx)
            if project.story.auto_generate:
                try:
                    result.story_path = str(write_story(ctx, result))
                except Exception as exc:  # the data work is done: say so, run the rest
                    logging.getLogger("odibi").error(
                        "story of %s not written: %s: %s",
                        ctx.pipeline_name,
                        type(exc).__name__,
                        exc,
                    )
            _after(ctx, result)
            results.append(result)
    finally:
        engine.close()
        for connection in connections.values():
            connection.close()
    return results


def _after(ctx: RunContext, result: PipelineResult) -> None:
    try:
        ctx.plugins.hook.odibi_after_pipeline_run(ctx=ctx, result=result)
    except Exception as exc:  # documented: never fails the run
        logging.getLogger("odibi").warning("a plugin's after_pipeline_run failed: %s", exc)


def plan_project(
    config: str | os.PathLike[str],
    options: RunOptions,
    env: str | None = None,
    plugins: PluginManager | None = None,
) -> dict[str, list[PlannedNode]]:
    """What ``odibi run --dry-run`` would do, touching nothing: no reads, writes or catalog."""
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.plugin_manager import get_plugin_manager
    from odibi_core.runner.pipeline import make_plan

    manager = plugins or get_plugin_manager()
    project = load_project(config, env, manager)
    connections = build_connections(project, manager.registry)
    catalog = Catalog.for_project(project, connections)  # read for --resume, never written
    planned: dict[str, list[PlannedNode]] = {}
    for pipeline in select_pipelines(project, options):
        plan = make_plan(catalog, pipeline, options)
        rows: list[PlannedNode] = []
        for name in plan.run:
            node = pipeline.node(name)
            item = PlannedNode(name, "run")
            if node.read:
                conn = connections[node.read.connection]
                item.reads = f"{node.read.format}:{node.read.path or node.read.table or 'query'}"
                _check_exists(conn, node.read.path, item)
            elif node.inputs:
                shown = []
                for input_name, source in node.inputs.items():
                    if isinstance(source, str):
                        shown.append(f"{input_name}={source}")
                        continue
                    where = source.path or source.table or "query"
                    shown.append(f"{input_name}={source.format}:{where}")
                    _check_exists(connections[source.connection], source.path, item)
                item.reads = ", ".join(shown)
            if node.write:
                item.writes = f"{node.write.format}:{node.write.target} ({node.write.mode})"
            rows.append(item)
        rows += [
            PlannedNode(n, "load", "read back from its write target") for n in sorted(plan.load)
        ]
        rows += [PlannedNode(n, "skip", r) for n, r in plan.skip.items()]
        planned[pipeline.pipeline] = [_scrubbed(project, item) for item in rows]
    return planned


def _scrubbed(project: ProjectConfig, item: PlannedNode) -> PlannedNode:
    """Paths may carry secrets (a SAS in a URL, a tenant token in a folder)."""
    scrub = project.secret_set.scrub
    item.reads = scrub(item.reads) if item.reads else item.reads
    item.writes = scrub(item.writes) if item.writes else item.writes
    item.warnings = [scrub(w) for w in item.warnings]
    return item


def _check_exists(conn: Any, path: str | None, item: PlannedNode) -> None:
    import glob

    if path and conn.is_local:
        uri = conn.uri(path)
        if not (glob.glob(uri) if glob.has_magic(uri) else Path(uri).exists()):
            item.warnings.append(f"input not found: {uri}")


def _engine(cls: Any, project: ProjectConfig, formats: Any) -> Any:
    """The run's engine, given the registered formats; an engine plugin written before
    engines took them is built with the project alone and handed them after."""
    import inspect

    if "formats" in inspect.signature(cls).parameters:
        return cls(project, formats=formats)
    engine = cls(project)
    engine.formats = formats
    return engine
