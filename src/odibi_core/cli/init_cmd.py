"""``odibi init NAME [--template T]``: a new project folder from a template."""

from __future__ import annotations

import argparse
from typing import Any

#: The template used without ``--template`` (Odibi's "start here" one).
DEFAULT = "hello"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        aliases=["init-pipeline", "create", "generate-project"],
        help="create a runnable project from a template ('odibi templates' lists them)",
        description="Create a project folder from a template: odibi.yaml, sample data, "
        ".gitignore (and .env.example where the project reads environment variables).",
    )
    p.add_argument("name", help="folder to create (its name becomes the project's name)")
    p.add_argument(
        "--template", "-t", default=DEFAULT, help=f"template to use (default: {DEFAULT})"
    )
    p.add_argument("--force", action="store_true", help="overwrite the template's files")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from odibi_core.cli.project_templates import scaffold, template

    tmpl = template(args.template)
    target = Path(args.name)
    project = target.resolve().name
    written = scaffold(tmpl, target, project, args.force)
    print(f"created project '{project}' from template '{tmpl.name}' in {target}/:")
    for path in written:
        print(f"  {path.relative_to(target)}")
    config = target / "odibi.yaml"
    print("next:")
    if not tmpl.local:
        print(f"  fill in {target / '.env.example'} and save it as {target / '.env'}")
        print(f"  odibi doctor {config}")
    print(f"  odibi validate {config}")
    print(f"  odibi run {config}")
    return 0
