"""Every hook Odibi calls, and the contract of each.

Plugins implement these with ``@odibi_core.hookimpl``. Built-ins (the pandas and Spark engines,
the ``local`` and Azure connections, the core transforms, the catalog and story writers)
register through exactly these hooks, so everything here is known to work for third parties
too.

Registries (``odibi_register_*``) are called once per process when plugins load; each returns a
list of objects carrying a unique ``name`` and the loader rejects duplicates across plugins.
Lifecycle hooks are called by the runner in this order for one pipeline run::

    odibi_project_loaded
    odibi_run_pipeline             (wrapper: around everything up to the catalog write)
      odibi_before_pipeline_run
        odibi_run_node             (wrapper, per node: around all attempts of one node)
          odibi_before_node_run    (per node, in DAG order; concurrently with --parallel)
          odibi_run_output_check   (wrapper, per checking plugin: around its check)
            odibi_check_node_output  (after transforms, before write)
          odibi_after_node_run | odibi_on_node_error
      odibi_pipeline_finished      (once, status and node results settled, before the catalog)
      odibi_catalog_rows           (once, after all nodes; rows for extra catalog tables)
    odibi_after_pipeline_run       (after the story is written)

Wrapper hooks (``odibi_run_*``) exist for tracing and timing: implement them only with
``@hookimpl(wrapper=True)`` as a generator that yields once; the runner's own work is the
innermost call, and ``yield`` returns its result (or raises its exception). A wrapper must not
swallow that result: return it. A plain (non-wrapper) implementation would replace the
runner's work, so the loader does not forbid it but nothing in Odibi needs one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from odibi_core.catalog.rows import CatalogRows
    from odibi_core.catalog.spec import TableSpec
    from odibi_core.cli.command import Command
    from odibi_core.config.models import NodeConfig, ProjectConfig
    from odibi_core.connections.base import Connection
    from odibi_core.engines.base import Engine
    from odibi_core.io.format import Format
    from odibi_core.plugin_manager import Registry
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.node import NodeOutcome
    from odibi_core.runner.results import NodeResult, PipelineResult
    from odibi_core.story.sections import StorySection
    from odibi_core.transforms.registry import Transform

hookspec = pluggy.HookspecMarker("odibi")

# ---------------------------------------------------------------- registries


@hookspec
def odibi_register_engines() -> list[type[Engine]]:
    """Return engine classes. Each has a class attribute ``name`` (``pandas``, ``spark`` ...) that
    projects select with the top-level ``engine`` key. Called once when plugins load."""


@hookspec
def odibi_register_formats() -> list[Format]:
    """Return :class:`~odibi_core.io.format.Format` instances, each with a unique ``name`` (the
    ``format:`` of ``read``/``write`` blocks). Engines that compute on Arrow (pandas, polars)
    read and write every registered format through them: a format is written once for all of
    them. Its ``write`` must honour each write mode as :mod:`odibi_core.io.modes` defines it
    and leave the target as it was on failure. Called once when plugins load."""


@hookspec
def odibi_register_connection_types() -> list[type[Connection]]:
    """Return connection classes. Each has ``type_name`` (the YAML ``type:`` value, e.g. ``local``)
    and ``config_model``, a pydantic model that validates the connection's YAML fields."""


@hookspec
def odibi_register_transforms() -> list[Transform]:
    """Return :class:`~odibi_core.transforms.registry.Transform` objects. A transform is used from
    YAML as ``transformer: name`` + ``params`` or as a ``{function: name, params: ...}`` step. The
    pair (name, engine) must be unique across all plugins."""


@hookspec
def odibi_register_assertion_types() -> list[Any]:
    """Return assertion types for ``quality`` blocks. Core only collects them (by ``name``,
    duplicates rejected) and hands them to the plugin that validates node output."""


@hookspec
def odibi_register_story_sections() -> list[StorySection]:
    """Return story sections. Each adds data about a node run to the run's story JSON and a
    fragment to its HTML, and optionally (``run_collect``/``run_template``) data about the whole
    run shown once near the top of the page (see
    :class:`~odibi_core.story.sections.StorySection`)."""


# ---------------------------------------------------------------- project


@hookspec
def odibi_validate_node(
    node: dict[str, Any], engine: str, registry: Registry
) -> list[tuple[tuple[Any, ...], str]]:
    """Check the keys of a node a plugin owns (``quality``, ``validation``, ``contracts`` ...)
    while a project loads, so ``odibi validate`` reports them with every other problem.

    ``node`` is the node's raw mapping after ``${...}`` substitution; ``engine`` the project's
    engine name; ``registry`` what the plugin manager loading the project has registered (its
    assertion types, transforms ...), which may not be the process-wide manager's. Return
    ``(path, message)`` pairs with ``path`` relative to the node, e.g.
    ``(("quality", "assertions", 2, "column"), "unknown column key")``; core adds the file,
    line and column. Return an empty list when all is well."""


@hookspec
def odibi_project_loaded(project: ProjectConfig) -> None:
    """Called after a project file was loaded and validated, before anything runs.

    ``project`` is the validated configuration (environment already applied)."""


# ---------------------------------------------------------------- pipeline


@hookspec(firstresult=True)
def odibi_run_pipeline(ctx: RunContext) -> PipelineResult:
    """Wrapper hook around one pipeline run (implement with ``wrapper=True``).

    The wrapped work is planning, ``odibi_before_pipeline_run``, every node, and the catalog
    write of the run (``_record``); the story, ``odibi_after_pipeline_run`` and catalog
    maintenance come after it. ``yield`` returns the :class:`PipelineResult` (status, nodes and
    ``catalog_error`` already set). Anything a wrapper puts in ``ctx.extras["trace_id"]``
    before yielding is written to ``meta_runs.trace_id`` for the run's rows. A wrapper may
    append names of catalog tables it wrote itself to ``result.catalog_tables`` so maintenance
    covers them. Exceptions raised by a wrapper fail the run: wrappers that observe (tracing)
    must catch their own errors."""


@hookspec
def odibi_before_pipeline_run(ctx: RunContext) -> None:
    """Called once per pipeline run before its first node starts. ``ctx`` carries the run_id,
    the pipeline config, the engine and the catalog handle. Exceptions fail the run."""


@hookspec
def odibi_pipeline_finished(ctx: RunContext, result: PipelineResult) -> None:
    """Called once per pipeline run when every node is done and ``result.status`` and
    ``result.nodes`` are settled, just before the runner writes the run to the catalog (so
    ``catalog_error`` and ``catalog_tables`` are not known yet). For work that can start now
    and overlap those commits (telemetry starts delivering the run's metrics here); return
    quickly. An exception is logged and never fails the run, but, as with every hook, the
    implementations after the failing one are not called for this run."""


@hookspec
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    """Called once per pipeline run after every node finished and the catalog was written.
    ``result`` holds every node's outcome. Exceptions here are logged, never fail the run."""


# ---------------------------------------------------------------- node


@hookspec(firstresult=True)
def odibi_run_node(ctx: RunContext, node: NodeConfig) -> NodeOutcome:
    """Wrapper hook around one node's execution, all retry attempts included (implement with
    ``wrapper=True``). Not called for nodes the runner skips (those only get
    ``odibi_after_node_run`` with status SKIPPED). ``yield`` returns the
    :class:`~odibi_core.runner.node.NodeOutcome`; its ``result`` is the final
    :class:`NodeResult`, which a wrapper may annotate (e.g. ``result.metrics`` lands in
    ``meta_runs.metrics_json``). With ``--parallel`` it runs on the node's worker thread: do
    not rely on thread-local context set by the pipeline's thread."""


@hookspec(firstresult=True)
def odibi_run_output_check(ctx: RunContext, node: NodeConfig, plugin: str) -> OutputCheck | None:
    """Wrapper hook around one plugin's ``odibi_check_node_output`` call on one node attempt
    (implement with ``wrapper=True``). ``plugin`` is the name of the plugin whose check runs
    (e.g. ``quality``). ``yield`` returns that plugin's :class:`OutputCheck` or None, or raises
    what the check raised."""


@hookspec
def odibi_before_node_run(ctx: RunContext, node: NodeConfig) -> None:
    """Called before each node runs (each retry attempt included). With ``--parallel`` this is
    called from worker threads, so implementations must be thread-safe. An exception fails
    that attempt of the node, as an error in the node itself would."""


@hookspec
def odibi_check_node_output(ctx: RunContext, node: NodeConfig, frame: Any) -> OutputCheck | None:
    """Inspect a node's output after its transforms and before it is written.

    ``frame`` is the engine's frame. Return ``None`` to pass, or an
    :class:`~odibi_core.runner.checks.OutputCheck` that may replace the frame to write (e.g. with
    quarantined rows removed), attach results for the story and catalog, or fail the node by
    setting ``error``. Unlike other hooks, implementations are called one after another in
    registration order (built-ins first), each receiving the frame the previous one returned."""


@hookspec
def odibi_after_node_run(ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
    """Called after a node finished with status SUCCESS, FAILURE or SKIPPED (final attempt)."""


@hookspec
def odibi_on_node_error(ctx: RunContext, node: NodeConfig, error: BaseException) -> None:
    """Called when a node attempt raises, before a retry or before it is marked FAILURE."""


# ---------------------------------------------------------------- catalog


@hookspec
def odibi_catalog_rows(ctx: RunContext, result: PipelineResult) -> list[CatalogRows] | None:
    """Return rows a plugin wants in catalog tables for this run (e.g. ``meta_quality``).

    Called once per pipeline run after all nodes finished. The catalog writes each table in
    one commit per run, whatever the number of plugins contributing rows; rows for
    ``meta_runs`` itself (e.g. telemetry's output-check spans, ``scope='check'``) join the
    runner's own commit of the run's pipeline and node rows, which only the runner writes."""


# ---------------------------------------------------------------- catalog tables and CLI


@hookspec
def odibi_register_catalog_tables() -> list[TableSpec]:
    """Return :class:`~odibi_core.catalog.spec.TableSpec` objects for the catalog tables a
    plugin fills (core declares its own the same way). Each has a unique ``name``; one with a
    ``command`` becomes ``odibi catalog COMMAND``, showing its ``columns``. Declaring a table
    does not create it: rows still arrive through ``odibi_catalog_rows`` (``spec.rows(...)``)
    or the plugin's own appends. Called once when plugins load; must import nothing heavy."""


@hookspec
def odibi_register_commands() -> list[Command]:
    """Return :class:`~odibi_core.cli.command.Command` objects: top-level ``odibi`` subcommands
    a plugin adds. ``name`` must not be a built-in command's. Called each time the ``odibi``
    command builds its parser (``odibi --help`` included), so ``add_arguments`` must be quick
    and import nothing heavy; ``run`` does the work and returns the exit code."""


@hookspec
def odibi_config_schema() -> dict[str, dict[str, Any]] | None:
    """Return JSON Schema fragments for the project-file keys a plugin owns, for
    ``odibi schema``: ``{"node": {key: schema}, "project": {key: schema}}`` (e.g. the quality
    plugin's ``quality`` block). Editors use them for completion and checks; ``odibi_validate_node``
    stays the judge. Called only by ``odibi schema``."""
