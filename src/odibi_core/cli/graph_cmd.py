"""``odibi graph``: a pipeline's DAG with each node's last status and DQ score."""

from __future__ import annotations

import argparse
import logging
import uuid
from typing import Any

FORMATS = ("ascii", "mermaid", "dot", "html")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "graph",
        help="draw pipelines as graphs with each node's last status and DQ score",
        description="Draw the DAG of each pipeline (or one) as text, Mermaid, Graphviz DOT "
        "or a self-contained HTML page, coloured by each node's last run in the catalog.",
    )
    p.add_argument("config", help="project file (odibi.yaml)")
    p.add_argument("--pipeline", metavar="P", help="only this pipeline")
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument("--format", choices=FORMATS, default="ascii")
    p.add_argument("--output", "-o", metavar="F", help="write to this file instead of stdout")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from odibi_core.config.errors import did_you_mean
    from odibi_core.config.loader import load_project
    from odibi_core.errors import OdibiError
    from odibi_core.graph import formats, model
    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    project = load_project(args.config, args.env, manager)
    pipelines = project.pipelines
    if args.pipeline:
        pipelines = [p for p in pipelines if p.pipeline == args.pipeline]
        if not pipelines:
            hint = did_you_mean(args.pipeline, [p.pipeline for p in project.pipelines])
            raise OdibiError(f"no pipeline '{args.pipeline}' in {args.config}{hint}")
    graphs = [model.from_pipeline(p) for p in pipelines]
    _add_history(graphs, project, manager)
    text = formats.FORMATS[args.format](graphs)
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OdibiError(f"cannot write {out}: {exc.strerror or exc}") from None
        print(f"graph written to {out}")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _add_history(graphs: list[Any], project: Any, manager: Any) -> None:
    """Each node's last run from the catalog; without a catalog (or history) nodes are drawn
    plain, since a graph of a project never run is still worth seeing."""
    from odibi_core.catalog.manager import Catalog
    from odibi_core.connections.base import build_connections
    from odibi_core.graph.model import with_history

    try:
        catalog = Catalog.for_project(project, build_connections(project, manager.registry))
        for graph in graphs:
            with_history(graph, catalog)
    except Exception as exc:
        from odibi_core.errors import brief

        logging.getLogger("odibi").warning("graph: no run history (%s)", brief(exc))
