"""``odibi schema [--output F]``: the project file's JSON Schema, for editors.

Point a YAML language server at it with a first line ``# yaml-language-server:
$schema=odibi.schema.json`` in ``odibi.yaml`` (or the editor's ``yaml.schemas`` setting)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "schema",
        help="write the project file's JSON Schema (for editors' YAML completion and checks)",
    )
    add_options(p)
    p.set_defaults(handler=handle)


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--project", metavar="CONFIG", help="also load this project's own plugins")
    p.add_argument(
        "--no-transformers",
        action="store_true",
        help="leave out each transformer's and pattern's params (a smaller file)",
    )


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from odibi_core.cli.json_schema import project_schema
    from odibi_core.cli.list_cmd import registry
    from odibi_core.plugin_manager import get_plugin_manager

    reg = registry(args.project)
    keys = [k for k in get_plugin_manager().hook.odibi_config_schema() if k]
    schema = project_schema(reg, keys, transformers=not args.no_transformers)
    text = json.dumps(schema, indent=2, default=str) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
