"""Which nodes of a pipeline run, which are only loaded from what they wrote, and in what order."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field

from odibi_core.config.models import PipelineConfig
from odibi_core.errors import ConfigError


@dataclass
class Plan:
    """``run``: nodes to execute, in a valid order. ``load``: nodes whose output is read back
    from their write target because a running node needs it. ``skip``: node → reason."""

    pipeline: PipelineConfig
    run: list[str] = field(default_factory=list)
    load: set[str] = field(default_factory=set)
    skip: dict[str, str] = field(default_factory=dict)

    def deps(self, name: str) -> list[str]:
        return self.pipeline.node(name).depends_on


def topological_order(pipeline: PipelineConfig) -> list[str]:
    graph = {n.name: list(n.depends_on) for n in pipeline.nodes}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:  # config validation normally catches this first
        raise ConfigError(
            f"dependency cycle in pipeline '{pipeline.pipeline}': " + " -> ".join(exc.args[1])
        ) from None


def plan_pipeline(
    pipeline: PipelineConfig,
    nodes: list[str] | None = None,
    tags: list[str] | None = None,
    resumable: set[str] | None = None,
) -> Plan:
    """Select nodes (``--node``/``--tag``), then pull in the upstream they cannot do without.

    A selected node's dependency that is not selected is loaded from its ``write`` target if it
    has one, and otherwise runs too. Disabled nodes never run; ``resumable`` nodes (succeeded
    last time with the same definition) are loaded instead of run.
    """
    by_name = {n.name: n for n in pipeline.nodes}
    order = topological_order(pipeline)
    plan = Plan(pipeline)
    selected = {
        n.name
        for n in pipeline.nodes
        if (not nodes or n.name in nodes) and (not tags or set(tags) & set(n.tags))
    }
    resumable = resumable or set()
    needed: set[str] = set()
    stack = [n for n in selected if by_name[n].enabled]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        for dep in by_name[name].depends_on:
            upstream = by_name[dep]
            if (dep not in selected or not upstream.enabled) and upstream.write is not None:
                plan.load.add(dep)
            elif upstream.enabled:
                stack.append(dep)
    # Resumed nodes are loaded from their output unless something upstream of them re-runs.
    reruns: set[str] = set()
    for name in order:
        if name not in needed:
            continue
        upstream_reruns = any(d in reruns for d in by_name[name].depends_on)
        if name in resumable and not upstream_reruns and by_name[name].write is not None:
            plan.skip[name] = "resume: succeeded last run with the same definition"
            plan.load.add(name)
        else:
            reruns.add(name)
            plan.run.append(name)
    for name in order:
        if name in selected and not by_name[name].enabled:
            plan.skip[name] = "disabled (enabled: false)"
    plan.load -= set(plan.run)
    return plan
