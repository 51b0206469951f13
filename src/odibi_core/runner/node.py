"""Running one node: input → transformer → steps → output checks → write, with retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError, OdibiError, brief, plugin_failure, transient
from odibi_core.runner import first_run, incremental, node_sql, privacy, schema_policy
from odibi_core.runner import inputs as node_inputs
from odibi_core.runner.results import FAILURE, SUCCESS, NodeResult
from odibi_core.runner.wrappers import wrapped
from odibi_core.runner.write import write_output
from odibi_core.transforms import operations
from odibi_core.transforms.registry import TransformContext

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext

log = logging.getLogger("odibi.runner")


@dataclass
class NodeOutcome:
    result: NodeResult
    frame: Any = None
    #: ``(node, key) -> value`` to store in ``meta_state`` if the run records it.
    state: dict[tuple[str, str], Any] = field(default_factory=dict)


def run_node(
    ctx: RunContext,
    node: NodeConfig,
    load_inputs: Callable[[], Mapping[str, Any]],
    state: Mapping[tuple[str, str], Any],
    version_hash: str,
    sleep: Callable[[float], None] = time.sleep,
) -> NodeOutcome:
    """Run a node with its retry policy, inside the plugins' ``odibi_run_node`` wrappers;
    never raises for node failures.

    ``load_inputs`` returns the dependencies' outputs (reading back those loaded from their
    write targets), inside the attempt so its failures are the node's, hooks and all.
    """
    return wrapped(
        ctx.plugins.hook.odibi_run_node,
        lambda: _run_attempts(ctx, node, load_inputs, state, version_hash, sleep),
        ctx=ctx,
        node=node,
    )


def _run_attempts(
    ctx: RunContext,
    node: NodeConfig,
    load_inputs: Callable[[], Mapping[str, Any]],
    state: Mapping[tuple[str, str], Any],
    version_hash: str,
    sleep: Callable[[float], None],
) -> NodeOutcome:
    policy = node.retry or ctx.project.retry
    attempts = policy.max_attempts if policy.enabled else 1
    hook = ctx.plugins.hook
    for attempt in range(1, attempts + 1):
        started = datetime.now(UTC)
        result = NodeResult(
            node.name, SUCCESS, started, started, attempt=attempt, version_hash=version_hash
        )
        try:
            # Inside the attempt: a plugin failing here fails this node, not the whole run.
            hook.odibi_before_node_run(ctx=ctx, node=node)
            inputs = _step(node, "load dependencies", load_inputs)
            outcome = _attempt(ctx, node, inputs, state, result)
            result.ended_at = datetime.now(UTC)
            hook.odibi_after_node_run(ctx=ctx, node=node, result=result)
            return outcome
        except Exception as exc:
            hook.odibi_on_node_error(ctx=ctx, node=node, error=exc)
            if attempt < attempts and transient(exc):
                delay = policy.delay(attempt)
                log.info(
                    "node %s: attempt %d failed (%s); retrying in %gs",
                    node.name,
                    attempt,
                    brief(exc),
                    delay,
                )
                sleep(delay)
                continue
            if attempt < attempts:
                log.debug("node %s: not retried, the failure is not transient", node.name)
            _fail(ctx, result, exc)
            result.ended_at = datetime.now(UTC)
            hook.odibi_after_node_run(ctx=ctx, node=node, result=result)
            return NodeOutcome(result)
    raise AssertionError("unreachable")


def _fail(ctx: RunContext, result: NodeResult, exc: BaseException) -> None:
    result.status = FAILURE
    result.error_type = type(exc).__name__
    if isinstance(exc, NodeError):
        detail = exc.detail
    else:  # a KeyError's text alone is only the key: say what it is
        detail = str(exc) if isinstance(exc, OdibiError) else f"{type(exc).__name__}: {exc}"
    message = detail.strip() or type(exc).__name__
    result.error_message = ctx.scrub(message)
    result.error_step = getattr(exc, "step", None)
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if root is not exc:  # e.g. the storage error beneath "cannot read ..."
        result.error_cause = ctx.scrub(brief(root))[:500]


def _attempt(
    ctx: RunContext,
    node: NodeConfig,
    inputs: Mapping[str, Any],
    state: Mapping[tuple[str, str], Any],
    result: NodeResult,
) -> NodeOutcome:
    engine = ctx.engine
    new_state: dict[tuple[str, str], Any] = {}
    frame: Any
    _step(node, "pre_sql", node_sql.run, ctx, node, "pre_sql", result)
    if node.read is not None:
        conn = ctx.connections[node.read.connection]
        first = _step(node, "read", first_run.read_spec, ctx, node)
        spec = first or node.read
        if first is not None:
            result.steps.append("first run: write target missing, read with first_run_query")
        elif spec.incremental is not None:  # a source that can, filters as it reads
            previous = state.get((node.name, incremental.state_key(spec.incremental)))
            bound = _step(node, "incremental", incremental.pushdown, spec.incremental, previous)
            if bound is not None:
                spec = spec.with_newer_than(spec.incremental.column, *bound)
        frame = _step(node, "read", engine.read, spec, conn)
        if node.read.incremental is not None:
            inc = node.read.incremental
            key = (node.name, incremental.state_key(inc))
            if first is not None:  # the full load: unfiltered, and the mark starts from it
                mark = _step(node, "incremental", engine.max_value, frame, inc.column)
            else:
                frame, mark = _step(
                    node, "incremental", incremental.apply, engine, frame, inc, state.get(key)
                )
            if mark is not None:
                new_state[key] = mark
        result.steps.append(f"read {node.read.format} {node.read.path or node.read.table or ''}")
        result.read_schema = engine.schema(frame)
    elif node.inputs:
        named = _step(node, "inputs", node_inputs.load, ctx, node, inputs, result)
        frame = node_inputs.current(named)
        inputs = {**inputs, **named}
    elif node.depends_on:
        frame = inputs[node.depends_on[0]]
    else:
        frame = None
    result.rows_in = engine.count(frame) if frame is not None else None
    if node.read is not None and result.rows_in == 0:
        result.warn("read 0 rows")

    tctx = TransformContext(
        engine,
        node,
        {d: inputs[d] for d in [*node.depends_on, *(node.inputs or {})]},
        pipeline_nodes=[n.name for n in ctx.pipeline.nodes],
        connections=ctx.connections,
    )
    if node.transformer:
        frame = _step(
            node,
            f"transformer {node.transformer}",
            _transform,
            ctx,
            tctx,
            node.transformer,
            frame,
            node.params,
        )
        result.steps.append(f"transformer {node.transformer}")
    for i, step in enumerate(node.transform.steps if node.transform else [], start=1):
        kind = step.kind
        label = f"step {i} ({kind})"
        if kind == "sql":
            query = step.sql or ""
            frame = _step(node, label, tctx.sql, query, frame)
        elif kind == "sql_file":
            path = ctx.project.root / (step.sql_file or "")
            try:
                query = path.read_text(encoding="utf-8")
            except OSError:
                raise NodeError(f"sql_file not found: {path}", node=node.name, step=label) from None
            frame = _step(node, label, tctx.sql, query, frame)
        elif kind == "function":
            name = step.function or ""
            frame = _step(node, label, _transform, ctx, tctx, name, frame, step.params)
            result.steps.append(f"function {name}")
        else:
            op = step.operation or ""
            frame = _step(node, label, _operation, ctx, tctx, op, step.params, frame)
            result.steps.append(f"operation {op}")
    result.sql = list(tctx.executed_sql)
    if frame is None:
        raise NodeError(
            "produced no data: give it 'read', 'depends_on' or a SQL step", node=node.name
        )
    if node.privacy is not None:
        frame = _step(node, "privacy", _anonymize, ctx, node, frame, result)

    if node.cache:
        frame = engine.cache(frame)
    rows_checked = engine.count(frame)
    # Each plugin sees the frame the previous one left, in registration order (built-ins
    # first), so e.g. a second checker validates what remains after quarantine.
    for impl in ctx.plugins.hook.odibi_check_node_output.get_hookimpls():
        offered = {"ctx": ctx, "node": node, "frame": frame}
        check = wrapped(
            ctx.plugins.hook.odibi_run_output_check,
            partial(_check, impl, offered),
            ctx=ctx,
            node=node,
            plugin=impl.plugin_name,
        )
        if check is None:
            continue
        result.checks[check.name] = check.data
        if check.dq_score is not None:
            result.dq_score = check.dq_score
        if check.frame is not None:
            frame = check.frame
        if check.error:
            raise NodeError(check.error, node=node.name, step=check.name)

    if node.schema_policy is not None and node.write is not None:
        policy, target = node.schema_policy, node.write
        frame = _step(
            node, "schema_policy", schema_policy.apply, ctx, policy, target, frame, result
        )
    result.rows_out = engine.count(frame)
    if result.rows_out != rows_checked:
        # Checks dropped rows (quarantine, a gate): what came in is what volume checks of
        # later runs compare with, since rows_out moves with the share of bad rows.
        result.metrics["rows_before_checks"] = rows_checked
    result.schema = engine.schema(frame)
    # Kept in meta_runs so the next run's story can say what changed in the schema.
    result.metrics["schema"] = [list(c) for c in result.schema]
    result.sample = engine.sample(frame, ctx.project.story.max_sample_rows)
    if node.write is not None:
        frame = _step(node, "write", write_output, ctx, node.write, frame, result)
        # What ``$pipeline.node`` inputs of other pipelines read (runner/inputs.py).
        result.metrics["output"] = node_inputs.output_record(node.write)
    _step(node, "post_sql", node_sql.run, ctx, node, "post_sql", result)
    return NodeOutcome(result, frame, new_state)


def _anonymize(ctx: RunContext, node: NodeConfig, frame: Any, result: NodeResult) -> Any:
    assert node.privacy is not None
    nodes = {n.name: n for n in ctx.pipeline.nodes}
    columns = privacy.pii_columns(node, nodes)
    frame, done = privacy.anonymize(ctx.engine, frame, columns, node.privacy)
    if done:
        result.steps.append(f"privacy {node.privacy.method}: {', '.join(done)}")
    return frame


def _check(impl: Any, offered: dict[str, Any]) -> OutputCheck | None:
    # pluggy lets an implementation take only some of the hook's arguments.
    try:
        check: OutputCheck | None = impl.function(*(offered[name] for name in impl.argnames))
    except OdibiError:
        raise
    except Exception as exc:
        error = plugin_failure(f"plugin '{impl.plugin_name}'", exc, impl.function)
        error.step = f"check ({impl.plugin_name})"
        raise error from exc
    return check


def _transform(
    ctx: RunContext, tctx: TransformContext, name: str, frame: Any, params: Mapping[str, Any]
) -> Any:
    registry = ctx.plugins.registry
    found = registry.transform(name, ctx.engine.name) or registry.transform(name, "any")
    if found is None:
        raise NodeError(f"unknown transform '{name}'")
    try:
        return found(tctx, frame, params)
    except OdibiError:
        raise
    except Exception as exc:  # the transform's own code: name it, and the exception's type
        raise plugin_failure(f"transform '{name}'", exc, getattr(found, "func", found)) from exc


def _operation(
    ctx: RunContext, tctx: TransformContext, name: str, params: Mapping[str, Any], frame: Any
) -> Any:
    registry = ctx.plugins.registry
    return operations.run(
        tctx,
        name,
        params,
        frame,
        lambda n: registry.transform(n, ctx.engine.name) or registry.transform(n, "any"),
    )


def _step(node: NodeConfig, label: str, func: Callable[..., Any], *args: Any) -> Any:
    """Run one step, making sure a user error names the node and the step."""
    log.debug("node %s: %s", node.name, label)
    try:
        return func(*args)
    except NodeError as exc:
        exc.node = exc.node or node.name
        exc.step = label  # the runner's label ("step 2 (sql)") locates it best for the user
        raise
