"""A node's ``inputs``: named sources, each a read block or another node's output.

``$pipeline.node`` of the node's own pipeline is a dependency (the config made it one), so its
frame is the scheduler's. Of another pipeline, it is read from where that node last wrote: each
successful node run records its write target in ``meta_runs`` (``metrics_json.output``), as
substituted for that run, so a path built from variables or an environment resolves to what
was really written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.config.models import ReadConfig, WriteConfig, input_reference
from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult

#: How many of a pipeline's newest runs are searched for a node's last success (x10).
_RUNS = 5


def output_record(spec: WriteConfig) -> dict[str, Any]:
    """What a node run records of its write, for ``$pipeline.node`` readers."""
    where = {"table": spec.table} if spec.table else {"path": spec.path}
    return {"connection": spec.connection, "format": spec.format, **where}


def current(frames: Mapping[str, Any]) -> Any:
    """The node's current frame: the input named ``df``, else the first (as Odibi does)."""
    return frames["df"] if "df" in frames else next(iter(frames.values()))


def load(
    ctx: RunContext, node: NodeConfig, deps: Mapping[str, Any], result: NodeResult
) -> dict[str, Any]:
    """Each input's frame by its name, in the order given."""
    frames: dict[str, Any] = {}
    for name, source in (node.inputs or {}).items():
        if isinstance(source, ReadConfig):
            spec = source
            label = f"{spec.format} {spec.path or spec.table or 'query'}"
        else:
            ref = input_reference(source)
            assert ref is not None  # validated with the config
            pipeline, upstream = ref
            if pipeline == ctx.pipeline_name:
                frames[name] = deps[upstream]
                result.steps.append(f"input {name} <- {source} (in memory)")
                continue
            spec = resolve(ctx.catalog, name, pipeline, upstream)
            if spec.connection not in ctx.connections:
                known = ", ".join(sorted(ctx.connections)) or "none"
                raise NodeError(
                    f"input '{name}' ({source}) was written through connection "
                    f"'{spec.connection}', which this project does not define ({known})",
                    step="inputs",
                )
            label = f"{source}: {spec.format} {spec.path or spec.table}"
        try:
            frames[name] = ctx.engine.read(spec, ctx.connections[spec.connection])
        except NodeError as exc:  # name the input: a node may read several
            exc.detail = f"input '{name}': {exc.detail}"
            raise
        result.steps.append(f"input {name} <- {label}")
        result.input_reads[name] = (spec, ctx.engine.schema(frames[name]))
    return frames


def resolve(catalog: Catalog, name: str, pipeline: str, node: str) -> ReadConfig:
    """Where ``$pipeline.node`` last wrote, from its newest successful run in ``meta_runs``."""
    from odibi_core.catalog import query
    from odibi_core.runner.results import SUCCESS

    rows = query.recent_node_runs(
        catalog, pipeline, _RUNS, ["metrics_json"], want_success={node}
    ).rows
    success = next((r for r in rows if r["node_name"] == node and r["status"] == SUCCESS), None)
    output = _output(success["metrics_json"]) if success else None
    if output is None:
        raise NodeError(
            f"input '{name}': the System Catalog has no successful run of ${pipeline}.{node} "
            f"that wrote its output; run pipeline '{pipeline}' first (odibi run CONFIG "
            f"--pipeline {pipeline}), and make sure node '{node}' has a write",
            step="inputs",
        )
    where = {"table": output["table"]} if output.get("table") else {"path": output["path"]}
    return ReadConfig(connection=output["connection"], format=output["format"], **where)


def _output(metrics_json: str | None) -> dict[str, Any] | None:
    try:
        output = json.loads(metrics_json or "{}").get("output")
    except (ValueError, AttributeError):
        return None
    ok = isinstance(output, dict) and output.get("connection") and output.get("format")
    return output if ok and (output.get("path") or output.get("table")) else None
