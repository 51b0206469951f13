"""``odibi list transformers|patterns|connections|assertions``: what is registered, with
each one's params."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

#: What can be listed (``odibi_core.cli.describe`` knows how; not imported to build the parser).
KINDS = ("transformers", "patterns", "connections", "assertions")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "list",
        help="list registered transformers, patterns, connection types or assertion types",
        description="What is registered (built-ins and plugins), with each one's params "
        "('?' marks an optional one). 'odibi explain NAME' tells more about one.",
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--project", metavar="CONFIG", help="also load this project's own plugins")
    p.set_defaults(handler=handle)


def registry(project: str | None) -> Any:
    """The plugins' registry, with a project's ``plugins/`` and ``transforms.py`` if given."""
    from pathlib import Path

    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    if project:
        path = Path(project).resolve()
        manager.load_project_plugins(path if path.is_dir() else path.parent)
    return manager.registry


def handle(args: argparse.Namespace) -> int:
    from odibi_core.cli.describe import entries

    found = entries(registry(args.project), args.kind)
    if args.format == "json":
        print(json.dumps([asdict(e) for e in found], indent=2, default=str))
        return 0
    if not found:
        hint = (
            " (is the quality plugin installed and not blocked?)"
            if args.kind == "assertions"
            else ""
        )
        print(f"no {args.kind} registered{hint}")
        return 0
    from odibi_core.cli.output import print_table

    print(f"{len(found)} {args.kind}:")
    print_table(
        ["name", "params", "description"],
        [
            [e.name, ", ".join(p.name + ("" if p.required else "?") for p in e.params), e.summary]
            for e in found
        ],
    )
    return 0
