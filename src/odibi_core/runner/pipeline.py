"""Running one pipeline: scheduling nodes over the DAG, failure semantics, recording the run."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from odibi_core.catalog import tables
from odibi_core.catalog.manager import Catalog, run_rows
from odibi_core.catalog.rows import CatalogRows
from odibi_core.config import hashing
from odibi_core.config.models import NodeConfig, PipelineConfig, ReadConfig
from odibi_core.errors import brief
from odibi_core.runner.context import RunContext, RunOptions
from odibi_core.runner.dag import Plan, plan_pipeline
from odibi_core.runner.node import NodeOutcome, run_node
from odibi_core.runner.results import FAILURE, SKIPPED, SUCCESS, NodeResult, PipelineResult
from odibi_core.runner.wrappers import wrapped

log = logging.getLogger("odibi")


def resumable_nodes(catalog: Catalog, pipeline: PipelineConfig) -> set[str]:
    """Nodes whose latest executed run succeeded with an unchanged definition (a resumed,
    SKIPPED run leaves that run standing)."""
    hashes = {n.name: hashing.node_hash(n) for n in pipeline.nodes}
    return {
        name
        for name, row in catalog.last_node_runs(pipeline.pipeline).items()
        if row["status"] == SUCCESS and row["version_hash"] == hashes.get(name)
    }


def make_plan(catalog: Catalog, pipeline: PipelineConfig, options: RunOptions) -> Plan:
    """What runs, what is read back and what is skipped (reads the catalog for --resume)."""
    resumable = resumable_nodes(catalog, pipeline) if options.resume else None
    return plan_pipeline(pipeline, options.nodes or None, options.tags or None, resumable)


class _Scheduler:
    """Holds a run's mutable state; ``run`` executes the plan sequentially or on a pool."""

    def __init__(
        self, ctx: RunContext, plan: Plan, hashes: dict[str, str], state: dict[tuple[str, str], Any]
    ):
        self.ctx = ctx
        self.plan = plan
        self.hashes = hashes
        self.state = state
        self.by_name = {n.name: n for n in ctx.pipeline.nodes}
        self.results: dict[str, NodeResult] = {}
        self.outputs: dict[str, Any] = {}
        self.new_state: dict[tuple[str, str], Any] = {}
        self.stopped_by: str | None = None  # the fail_fast node that stopped the run
        self.lock = threading.Lock()
        # How many pending consumers each output has, so frames are freed when done.
        self.consumers: dict[str, int] = {}
        for name in plan.run:
            for dep in self.by_name[name].depends_on:
                self.consumers[dep] = self.consumers.get(dep, 0) + 1

    def on_error(self, node: NodeConfig) -> str:
        return self.ctx.options.on_error or node.on_error

    # ------------------------------------------------------------ decisions

    def blocked_by(self, node: NodeConfig) -> str | None:
        """Why ``node`` cannot run (a dependency failed or is missing), or None."""
        for dep in node.depends_on:
            res = self.results.get(dep)
            if res is not None and res.status == SUCCESS:
                continue
            if dep in self.plan.load:
                continue
            if res is not None and res.status == FAILURE:
                ignored = self.on_error(self.by_name[dep]) == "ignore"
                return f"dependency '{dep}' failed" + (" (on_error: ignore)" if ignored else "")
            if res is not None and res.status == SKIPPED:
                return f"dependency '{dep}' was skipped"
            return f"dependency '{dep}' did not run (disabled or not selected, and has no write)"
        return None

    def inputs_for(self, node: NodeConfig) -> dict[str, Any]:
        inputs = {}
        for dep in node.depends_on:
            with self.lock:
                frame = self.outputs.get(dep)
            if frame is None:
                frame = self.load(dep)
            inputs[dep] = frame
        return inputs

    def load(self, name: str) -> Any:
        """A node's output read back from its write target (resume, --node, disabled)."""
        node = self.by_name[name]
        assert node.write is not None  # the planner only loads nodes that write
        spec = ReadConfig(
            connection=node.write.connection,
            format=node.write.format,
            path=node.write.path,
            table=node.write.table,
        )
        frame = self.ctx.engine.read(spec, self.ctx.connections[spec.connection])
        with self.lock:
            self.outputs[name] = frame
        return frame

    # ------------------------------------------------------------ execution

    def execute(self, name: str) -> NodeOutcome:
        node = self.by_name[name]
        return run_node(
            self.ctx, node, lambda: self.inputs_for(node), self.state, self.hashes.get(name, "")
        )

    def finish(self, name: str, outcome: NodeOutcome) -> None:
        node = self.by_name[name]
        with self.lock:
            self.results[name] = outcome.result
            if outcome.result.status == SUCCESS:
                if self.consumers.get(name):
                    self.outputs[name] = outcome.frame
                self.new_state.update(outcome.state)
            elif self.on_error(node) == "fail_fast" and self.stopped_by is None:
                self.stopped_by = name
            for dep in node.depends_on:
                self.consumers[dep] = self.consumers.get(dep, 1) - 1
                if self.consumers[dep] <= 0:
                    self.outputs.pop(dep, None)

    def skip(self, name: str, reason: str) -> None:
        now = datetime.now(UTC)
        result = NodeResult(
            name,
            SKIPPED,
            now,
            now,
            version_hash=self.hashes.get(name),
            skip_reason=reason,
            metrics={"skip_reason": reason},
        )
        node = self.by_name[name]
        self.ctx.plugins.hook.odibi_after_node_run(ctx=self.ctx, node=node, result=result)
        with self.lock:
            self.results[name] = result
            for dep in node.depends_on:
                self.consumers[dep] = self.consumers.get(dep, 1) - 1

    def _stop_reason(self) -> str:
        return f"pipeline stopped: node '{self.stopped_by}' failed with on_error: fail_fast"

    def run(self) -> None:
        for name, reason in self.plan.skip.items():
            self.skip(name, reason)
        if self.ctx.options.parallel and self.ctx.options.workers > 1:
            self._run_parallel()
        else:
            for name in self.plan.run:
                self._maybe_run(name)

    def _maybe_run(self, name: str) -> None:
        if self.stopped_by:
            self.skip(name, self._stop_reason())
            return
        reason = self.blocked_by(self.by_name[name])
        if reason:
            self.skip(name, reason)
            return
        self.finish(name, self.execute(name))

    def _run_parallel(self) -> None:
        pending = list(self.plan.run)
        running: dict[Future[NodeOutcome], str] = {}
        with ThreadPoolExecutor(
            max_workers=self.ctx.options.workers, thread_name_prefix="odibi-node"
        ) as pool:
            while pending or running:
                for name in list(pending):
                    deps = [d for d in self.by_name[name].depends_on if d in self.plan.run]
                    if any(d not in self.results for d in deps):
                        continue  # waits for a dependency still to run
                    pending.remove(name)
                    reason = self.blocked_by(self.by_name[name])
                    if self.stopped_by:
                        self.skip(name, self._stop_reason())
                    elif reason:
                        self.skip(name, reason)
                    else:
                        running[pool.submit(self.execute, name)] = name
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self.finish(running.pop(future), future.result())


def run_pipeline(ctx: RunContext) -> PipelineResult:
    """Run one pipeline to the end and record it in the catalog, inside the plugins'
    ``odibi_run_pipeline`` wrappers; then maintain the catalog if a threshold is crossed."""
    result = wrapped(ctx.plugins.hook.odibi_run_pipeline, lambda: _execute(ctx), ctx=ctx)
    if result.status == SUCCESS and not result.catalog_error and ctx.catalog.maintenance.enabled:
        from odibi_core.catalog.maintenance import after_run

        after_run(ctx.catalog, {table: [ctx.pipeline_name] for table in result.catalog_tables})
    return result


def _execute(ctx: RunContext) -> PipelineResult:
    hashes = {n.name: hashing.node_hash(n) for n in ctx.pipeline.nodes}
    result = PipelineResult(
        ctx.run_id,
        ctx.project.project,
        ctx.pipeline_name,
        ctx.started_at,
        environment=ctx.environment,
    )
    plan = make_plan(ctx.catalog, ctx.pipeline, ctx.options)
    log.debug(
        "pipeline %s (run %s): run %s; read back %s; skip %s",
        ctx.pipeline_name,
        ctx.run_id,
        ", ".join(plan.run) or "nothing",
        ", ".join(sorted(plan.load)) or "nothing",
        ", ".join(f"{n} ({r})" for n, r in plan.skip.items()) or "nothing",
    )
    state = ctx.catalog.states(ctx.pipeline_name) if _uses_state(ctx.pipeline.nodes) else {}
    ctx.plugins.hook.odibi_before_pipeline_run(ctx=ctx)
    scheduler = _Scheduler(ctx, plan, hashes, state)
    scheduler.run()
    order = {n.name: i for i, n in enumerate(ctx.pipeline.nodes)}
    result.nodes = dict(sorted(scheduler.results.items(), key=lambda kv: order[kv[0]]))
    result.ended_at = datetime.now(UTC)
    failed = [
        n
        for n in result.failed
        if (ctx.options.on_error or ctx.pipeline.node(n.node).on_error) != "ignore"
    ]
    result.status = FAILURE if failed else SUCCESS
    _finished(ctx, result)
    _record(ctx, result, scheduler.new_state, hashes)
    return result


def _finished(ctx: RunContext, result: PipelineResult) -> None:
    try:
        ctx.plugins.hook.odibi_pipeline_finished(ctx=ctx, result=result)
    except Exception as exc:  # the run is done: a plugin's reaction to it must not undo it
        log.warning("odibi_pipeline_finished failed: %s", exc)


def _uses_state(nodes: list[NodeConfig]) -> bool:
    return any(n.read is not None and n.read.incremental is not None for n in nodes)


def _record(
    ctx: RunContext,
    result: PipelineResult,
    new_state: dict[tuple[str, str], Any],
    hashes: dict[str, str],
) -> None:
    """Write the catalog: definitions, state, plugin rows, then the run itself."""
    catalog = ctx.catalog
    try:
        catalog.register_definitions(ctx.pipeline)
        now = datetime.now(UTC)
        catalog.upsert(
            tables.META_STATE,
            [
                {
                    "pipeline_name": ctx.pipeline_name,
                    "node_name": node,
                    "key": key,
                    "value": json.dumps(value, default=str),
                    "updated_at": now,
                }
                for (node, key), value in new_state.items()
            ],
        )
        extra: dict[str, CatalogRows] = {}
        for batches in ctx.plugins.hook.odibi_catalog_rows(ctx=ctx, result=result):
            for batch in batches or []:
                if batch.table in extra:
                    extra[batch.table].rows.extend(batch.rows)
                else:
                    extra[batch.table] = CatalogRows(
                        batch.table, list(batch.rows), batch.schema, batch.partition_by
                    )
        # Plugins' own meta_runs rows (e.g. telemetry's check spans) join the run's commit,
        # if they fit its schema: a plugin's bad rows must not cost the run its own record.
        plugin_runs = extra.pop(tables.META_RUNS, None)
        if plugin_runs is not None and not _fits_meta_runs(plugin_runs.rows):
            plugin_runs = None
        failed: list[str] = []
        written: list[str] = []
        for batch in extra.values():
            try:
                catalog.append(batch)
                written.append(batch.table)
            except Exception as exc:  # one plugin table failing leaves the others and the run
                problem = ctx.scrub(brief(exc))
                log.error("catalog write of %s failed: %s", batch.table, problem)
                failed.append(f"{batch.table}: {problem}")
        result.catalog_tables = [
            tables.META_RUNS,
            *([tables.META_STATE] if new_state else []),
            *written,
        ]
        if failed:
            result.catalog_error = "; ".join(failed)
        rows = list(
            run_rows(
                result,
                ctx.project.project,
                hashes,
                hashing.pipeline_hash(ctx.pipeline),
                ctx.extras.get("trace_id"),
            )
        )
        catalog.append(
            CatalogRows(tables.META_RUNS, rows + (plugin_runs.rows if plugin_runs else []))
        )
    except Exception as exc:  # the data work is done: report the catalog failure, keep the result
        problem = ctx.scrub(brief(exc))
        log.error("catalog write failed: %s", problem)
        result.catalog_error = (
            f"{result.catalog_error}; {problem}" if result.catalog_error else problem
        )


def _fits_meta_runs(rows: list[dict[str, Any]]) -> bool:
    import pyarrow as pa

    try:
        pa.Table.from_pylist(rows, schema=tables.schema(tables.META_RUNS))
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, TypeError) as exc:
        log.warning("plugin rows for meta_runs dropped: they do not fit its schema (%s)", exc)
        return False
    return True
