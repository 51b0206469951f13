"""``odibi lineage upstream|downstream|impact TABLE``: the graph of what read what, across
pipelines, from the System Catalog (``odibi_core.catalog.lineage``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from odibi_core.errors import ConfigError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "lineage",
        help="which datasets feed a table, which it feeds, and what a change would reach",
        description="Table-level lineage across pipelines, from the node definitions the "
        "catalog keeps for every pipeline that ran. Tables are named connection/path.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("upstream", "the datasets a table is made from, and theirs"),
        ("downstream", "the tables made from a dataset, and theirs"),
        ("impact", "every table and pipeline a change to a dataset would reach"),
    ):
        q = actions.add_parser(name, help=text)
        q.add_argument("table", help="connection/path (or a path ending that names one table)")
        q.add_argument("config", nargs="?", help="project file (odibi.yaml)")
        q.add_argument("--config", dest="config_flag", metavar="CONFIG", help="project file")
        q.add_argument("--env", help="environment overrides to apply")
        q.add_argument("--depth", type=int, default=3, help="levels to follow (default 3)")
        q.add_argument("--format", choices=["tree", "json"], default="tree")
        q.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from odibi_core.catalog import lineage
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.errors import did_you_mean
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.plugin_manager import get_plugin_manager

    config = args.config_flag or args.config or "odibi.yaml"
    manager = get_plugin_manager()
    project = load_project(config, args.env, manager)
    catalog = Catalog.for_project(project, build_connections(project, manager.registry))
    graph = lineage.edges(catalog)
    table = lineage.resolve(args.table, graph)
    if table is None:
        known = sorted({e.source_table for e in graph} | {e.target_table for e in graph})
        raise ConfigError(
            f"no table '{args.table}' in the catalog's lineage"
            + did_you_mean(args.table, known)
            + (f"; tables: {', '.join(known)}" if known else " (no pipeline has run yet)")
        )
    if args.action == "impact":
        result = lineage.impact(graph, table, max(args.depth, 10))
        if args.format == "json":
            print(json.dumps(result, indent=2))
            return 0
        print(f"Impact of a change to {table}:")
        for item in result["affected_tables"]:
            print(f"  - {item['table']} (pipeline: {item['pipeline']})")
        print(
            f"  {len(result['affected_tables'])} downstream table(s) in "
            f"{len(result['affected_pipelines'])} pipeline(s)"
        )
        return 0
    walk = lineage.upstream if args.action == "upstream" else lineage.downstream
    found = walk(graph, table, args.depth)
    if args.format == "json":
        rows = [{"depth": level, **e.to_dict()} for level, e in found]
        print(json.dumps({"table": table, "edges": rows}, indent=2, default=str))
        return 0
    print(table)
    _tree(found, table, args.action == "upstream", "")
    return 0


def _tree(found: list[tuple[int, Any]], table: str, up: bool, indent: str) -> None:
    children = sorted(
        (e for _, e in found if (e.target_table if up else e.source_table) == table),
        key=lambda e: e.source_table if up else e.target_table,
    )
    for i, e in enumerate(children):
        last = i == len(children) - 1
        other = e.source_table if up else e.target_table
        if up:
            by = f"{e.source_pipeline}.{e.source_node}" if e.source_node else "source"
        else:
            by = f"{e.target_pipeline}.{e.target_node}"
        print(f"{indent}{'└── ' if last else '├── '}{other} ({by})")
        rest = [(level, x) for level, x in found if x is not e]
        _tree(rest, other, up, indent + ("    " if last else "│   "))
