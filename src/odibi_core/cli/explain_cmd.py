"""``odibi explain NAME``: a transformer's, pattern's, connection type's or assertion type's
description, params (type, required, default) and an example, from the models that validate
them."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

_KIND_OF = {
    "transformer": "transformers",
    "pattern": "patterns",
    "connection": "connections",
    "assertion": "assertions",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a transformer, pattern, connection type or assertion type",
    )
    p.add_argument("name")
    p.add_argument("--kind", choices=list(_KIND_OF), help="when a name is more than one thing")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--project", metavar="CONFIG", help="also load this project's own plugins")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    return explain(args.name, args.kind, args.format, args.project)


def explain(name: str, kind: str | None, fmt: str, project: str | None = None) -> int:
    from odibi_core.cli.describe import entries
    from odibi_core.cli.list_cmd import registry
    from odibi_core.errors import OdibiError

    reg = registry(project)
    kinds = [_KIND_OF[kind]] if kind else list(_KIND_OF.values())
    every = [e for k in kinds for e in entries(reg, k)]
    found = [e for e in every if e.name == name]
    if not found:
        from difflib import get_close_matches

        close = get_close_matches(name, sorted({e.name for e in every}), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        what = kind or "transformer, pattern, connection type or assertion type"
        raise OdibiError(f"no {what} named '{name}'{hint} ('odibi list ...' shows them)")
    if fmt == "json":
        print(json.dumps([asdict(e) for e in found], indent=2, default=str))
        return 0
    for i, entry in enumerate(found):
        if i:
            print()
        _print(entry)
    return 0


def _print(entry: Any) -> None:
    from odibi_core.cli.output import print_table

    engines = f" (engines: {', '.join(entry.engines)})" if entry.engines else ""
    title = f"{entry.kind}: {entry.name}{engines}"
    print(title)
    print("=" * len(title))
    if entry.doc:
        print(entry.doc)
    print()
    if entry.params:
        print("Parameters:")
        print_table(
            ["name", "type", "required", "default", "description"],
            [
                [
                    p.name + (f" (or {', '.join(p.aliases)})" if p.aliases else ""),
                    p.type,
                    "yes" if p.required else "no",
                    "" if p.required else json.dumps(p.default, default=str),
                    p.description,
                ]
                for p in entry.params
            ],
            rich=False,
        )
    else:
        print("Parameters: none")
    print()
    print("Example:")
    for line in entry.example.splitlines():
        print(f"  {line}")
