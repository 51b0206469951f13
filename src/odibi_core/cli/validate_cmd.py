"""``odibi validate CONFIG``: check a project without running it."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check a project file without running it",
        description="Check a project file (schema, names, DAG, plugins) and "
        "report every problem at once.",
    )
    p.add_argument("config", help="project file (odibi.yaml)")
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from odibi_core.config.loader import load_project
    from odibi_core.errors import ConfigError

    try:
        project = load_project(args.config, args.env)
    except ConfigError as exc:
        if args.format == "json":
            issues = [
                {"message": i.message, "file": i.file, "line": i.line, "column": i.column}
                for i in exc.issues
            ]
            print(json.dumps({"valid": False, "issues": issues}, indent=2))
            return 2
        raise
    nodes = sum(len(p.nodes) for p in project.pipelines)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "valid": True,
                    "project": project.project,
                    "pipelines": [p.pipeline for p in project.pipelines],
                    "nodes": nodes,
                    "issues": [],
                },
                indent=2,
            )
        )
    else:
        print(
            f"ok: project '{project.project}' is valid "
            f"({len(project.pipelines)} pipeline(s), {nodes} node(s))"
        )
    return 0
