"""``odibi templates [list|show NAME|schema]``: the project templates of ``odibi init``."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "templates",
        help="list the project templates of 'odibi init' (and show one, or the JSON Schema)",
    )
    p.set_defaults(handler=handle, action="list", format="table")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    ls = actions.add_parser("list", help="the templates and what each holds (the default)")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = actions.add_parser(
        "show", help="a template's odibi.yaml, or what 'odibi explain' says of any other name"
    )
    show.add_argument("name")
    transformer = actions.add_parser(
        "transformer", help="a transformer's params and an example (same as 'odibi explain')"
    )
    transformer.add_argument("name")
    from odibi_core.cli import schema_cmd

    schema = actions.add_parser(
        "schema", help="the project file's JSON Schema (same as 'odibi schema')"
    )
    schema_cmd.add_options(schema)
    schema.set_defaults(handler=schema_cmd.handle)


def handle(args: argparse.Namespace) -> int:
    from odibi_core.cli.project_templates import PLACEHOLDER, templates

    found = templates()
    if args.action == "transformer":
        from odibi_core.cli import explain_cmd

        return explain_cmd.explain(args.name, None, "text")
    if args.action == "show":
        if args.name not in found:
            from odibi_core.cli import explain_cmd

            return explain_cmd.explain(args.name, None, "text")
        text = (found[args.name].root / "odibi.yaml").read_text(encoding="utf-8")
        print(text.replace(PLACEHOLDER, "my_project"), end="")
        return 0
    rows = [
        {
            "name": t.name,
            "description": t.description,
            "runs_locally": t.local,
            "files": sorted(t.files()),
        }
        for t in found.values()
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    from odibi_core.cli.output import print_table

    print_table(
        ["template", "local", "description"],
        [[r["name"], "yes" if r["runs_locally"] else "no", r["description"]] for r in rows],
    )
    print("\nodibi init NAME --template TEMPLATE")
    return 0
