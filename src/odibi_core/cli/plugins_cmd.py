"""``odibi plugins``: what is loaded, from where, and what it adds."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list loaded plugins, their hooks and what they register")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--project", help="also load the project-local plugins of this project file")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    if args.project:
        project = Path(args.project).resolve()
        manager.load_project_plugins(project if project.is_dir() else project.parent)
    manager.registry  # noqa: B018  (fills each plugin's "provides")
    infos = list(manager.infos.values())
    if args.format == "json":
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return 0
    for info in infos:
        version = f" {info.version}" if info.version else ""
        dist = f" from {info.distribution}" if info.distribution else ""
        print(f"{info.name}{version} ({info.source}{dist}; module {info.module})")
        print(f"  hooks: {', '.join(info.hooks) or '-'}")
        for kind, names in info.provides.items():
            print(f"  {kind.replace('_', ' ')}: {', '.join(names)}")
    return 0
