"""Entry point module of ``odibi_lineage``: the lifecycle hooks that emit OpenLineage events.

Nothing is imported from openlineage until a run starts in a project with ``lineage.url``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult
    from odibi_lineage.datasets import DatasetRef
    from odibi_lineage.emitter import Emitter

log = logging.getLogger("odibi.lineage")
KEY = "lineage"  # ctx.extras[KEY]: this run's RunLineage


@dataclass
class RunLineage:
    emitter: Emitter
    namespace: str
    #: node → the OpenLineage run id of its run (one for all its attempts).
    node_runs: dict[str, str] = field(default_factory=dict)
    #: Datasets each finished node read and wrote.
    seen: dict[str, tuple[list[DatasetRef], list[DatasetRef]]] = field(default_factory=dict)
    results: dict[str, NodeResult] = field(default_factory=dict)


def _state(ctx: RunContext) -> RunLineage | None:
    found: RunLineage | None = ctx.extras.get(KEY)
    return found


def _start(ctx: RunContext) -> RunLineage | None:
    config = ctx.project.lineage
    if config is None or not config.url or ctx.options.dry_run:
        return None
    try:
        from odibi_lineage.emitter import Emitter

        state = RunLineage(Emitter(config), config.namespace)
    except ImportError:
        log.warning(
            "lineage: lineage.url is set but openlineage-python is not installed "
            "(pip install 'odibi[lineage]'); no events sent"
        )
        return None
    except Exception as exc:  # lineage never fails a run
        log.warning("lineage: off for this run: %s: %s", type(exc).__name__, exc)
        return None
    ctx.extras[KEY] = state
    return state


def _safely(what: str, func: Any) -> None:
    try:
        func()
    except Exception as exc:
        log.warning("lineage: %s failed: %s: %s", what, type(exc).__name__, exc)


def _scrubbed(ctx: RunContext, refs: list[DatasetRef]) -> list[DatasetRef]:
    for ref in refs:
        ref.namespace, ref.name = ctx.scrub(ref.namespace), ctx.scrub(ref.name)
    return refs


def _memory(ctx: RunContext, node: str) -> DatasetRef:
    """A node's output handed on in memory (it writes nothing), so the graph stays whole."""
    from odibi_lineage.datasets import DatasetRef

    return DatasetRef(f"odibi://{ctx.project.project}", f"{ctx.pipeline_name}.{node}")


def _consumed(ctx: RunContext, node: str) -> bool:
    return any(node in n.depends_on for n in ctx.pipeline.nodes)


def node_inputs(
    ctx: RunContext, node: NodeConfig, result: NodeResult | None, done: dict[str, NodeResult]
) -> list[DatasetRef]:
    from odibi_lineage.datasets import locate

    refs = []
    if node.read is not None:
        ref = locate(node.read, ctx.connections.get(node.read.connection))
        ref.schema = list(result.read_schema) if result else []
        refs.append(ref)
    # ``inputs``: what was read (read blocks, other pipelines' outputs); before the run, the
    # read blocks (a reference resolves only when the node runs).
    if result is not None:
        for spec, schema in result.input_reads.values():
            ref = locate(spec, ctx.connections.get(spec.connection))
            ref.schema = list(schema)
            refs.append(ref)
    else:
        for source in (node.inputs or {}).values():
            if not isinstance(source, str):
                refs.append(locate(source, ctx.connections.get(source.connection)))
    for dep in node.depends_on:
        upstream = ctx.pipeline.node(dep)
        if upstream.write is not None:
            ref = locate(upstream.write, ctx.connections.get(upstream.write.connection))
        else:
            ref = _memory(ctx, dep)
        ref.schema = list(done[dep].schema) if dep in done else []
        refs.append(ref)
    return _scrubbed(ctx, refs)


def node_outputs(ctx: RunContext, node: NodeConfig, result: NodeResult) -> list[DatasetRef]:
    from odibi_lineage.datasets import locate

    if node.write is not None:
        ref = locate(node.write, ctx.connections.get(node.write.connection))
        ref.rows = result.rows_written
    elif _consumed(ctx, node.name):
        ref = _memory(ctx, node.name)
        ref.rows = result.rows_out
    else:
        return []
    ref.schema = list(result.schema)
    return _scrubbed(ctx, [ref])


@hookimpl(wrapper=True)
def odibi_run_pipeline(ctx: RunContext) -> Generator[None, PipelineResult, PipelineResult]:
    try:
        return (yield)
    except Exception as exc:
        state = _state(ctx)
        if state is not None:
            from odibi_lineage import events

            error = ctx.scrub(f"{type(exc).__name__}: {exc}")
            _safely(
                "FAIL",
                lambda: state.emitter.emit(
                    events.run_event(
                        "FAIL",
                        state.namespace,
                        ctx.pipeline_name,
                        ctx.run_id,
                        kind="PIPELINE",
                        error=error,
                    )
                ),
            )
            _safely("delivery", state.emitter.close)
        raise


@hookimpl
def odibi_before_pipeline_run(ctx: RunContext) -> None:
    state = _start(ctx)
    if state is None:
        return
    from odibi_lineage import events

    _safely(
        "START",
        lambda: state.emitter.emit(
            events.run_event(
                "START",
                state.namespace,
                ctx.pipeline_name,
                ctx.run_id,
                kind="PIPELINE",
                when=ctx.started_at.isoformat(),
            )
        ),
    )


@hookimpl
def odibi_before_node_run(ctx: RunContext, node: NodeConfig) -> None:
    state = _state(ctx)
    if state is None:
        return
    with ctx.lock:
        if node.name in state.node_runs:  # a retry: the same run goes on
            return
        run_id = state.node_runs[node.name] = str(uuid.uuid4())
        done = dict(state.results)
    from odibi_lineage import events

    def emit() -> None:
        state.emitter.emit(
            events.run_event(
                "START",
                state.namespace,
                f"{ctx.pipeline_name}.{node.name}",
                run_id,
                kind="NODE",
                parent=(ctx.pipeline_name, ctx.run_id),
                ins=node_inputs(ctx, node, None, done),
            )
        )

    _safely("START", emit)


@hookimpl
def odibi_after_node_run(ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
    state = _state(ctx)
    if state is None:
        return
    with ctx.lock:
        run_id = state.node_runs.get(node.name)
        state.results[node.name] = result
        done = dict(state.results)
    if run_id is None:  # skipped: it never started, so it has no run
        return
    from odibi_lineage import events

    def emit() -> None:
        ins = node_inputs(ctx, node, result, done)
        outs = node_outputs(ctx, node, result) if result.status == "SUCCESS" else []
        with ctx.lock:
            state.seen[node.name] = (ins, outs)
        state.emitter.emit(
            events.run_event(
                events.node_state(result),
                state.namespace,
                f"{ctx.pipeline_name}.{node.name}",
                run_id,
                kind="NODE",
                parent=(ctx.pipeline_name, ctx.run_id),
                ins=ins,
                outs=outs,
                error=result.error_message if result.status != "SUCCESS" else None,
                sql=ctx.scrub(";\n".join(result.sql)) if result.sql else None,
            )
        )

    _safely(f"{events.node_state(result)} of {node.name}", emit)


@hookimpl
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    state = _state(ctx)
    if state is None:
        return
    from odibi_lineage import events

    def emit() -> None:
        written = {r.key for _, outs in state.seen.values() for r in outs}
        ins: dict[tuple[str, str], DatasetRef] = {}
        outs: dict[tuple[str, str], DatasetRef] = {}
        for node_ins, node_outs in state.seen.values():
            for r in node_ins:
                if r.key not in written:
                    ins.setdefault(r.key, r)
            for r in node_outs:
                if not r.namespace.startswith("odibi://"):  # in memory: not the pipeline's
                    outs[r.key] = r
        failed = result.status != "SUCCESS"
        first = result.failed[0] if result.failed else None
        error = f"node {first.node}: {first.error_message}" if failed and first else None
        state.emitter.emit(
            events.run_event(
                "FAIL" if failed else "COMPLETE",
                state.namespace,
                ctx.pipeline_name,
                ctx.run_id,
                kind="PIPELINE",
                ins=list(ins.values()),
                outs=list(outs.values()),
                error=error,
            )
        )

    _safely("pipeline event", emit)
    _safely("delivery", state.emitter.close)
