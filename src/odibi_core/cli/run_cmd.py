"""``odibi run CONFIG``: run pipelines, show progress, summarise, exit 0/1/2."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run a project's pipelines",
        description="Run pipelines; record them in the System Catalog and "
        "write a story of each run.",
    )
    p.add_argument("config", help="project file (odibi.yaml)")
    p.add_argument(
        "--pipeline",
        action="append",
        default=[],
        metavar="P",
        help="run only this pipeline (repeatable)",
    )
    p.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="N",
        help="run only this node; dependencies are read back from what they wrote (repeatable)",
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="T",
        help="run only nodes with this tag (repeatable)",
    )
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument("--parallel", action="store_true", help="run independent nodes concurrently")
    p.add_argument(
        "--workers",
        type=_positive,
        default=4,
        metavar="N",
        help="threads for --parallel (default 4)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip nodes whose last run succeeded with an unchanged definition",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show what would run; read, write and record nothing"
    )
    p.add_argument(
        "--on-error",
        choices=["fail_fast", "fail_later", "ignore"],
        help="override every node's on_error",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from odibi_core.runner.context import RunOptions

    options = RunOptions(
        pipelines=args.pipeline,
        nodes=args.node,
        tags=args.tag,
        parallel=args.parallel,
        workers=args.workers,
        resume=args.resume,
        dry_run=args.dry_run,
        on_error=args.on_error,
    )
    if args.dry_run:
        return _dry_run(args, options)

    from odibi_core.cli.startup_gc import StartupCollection

    collection = StartupCollection()
    try:
        collection.pause()  # before the plugins load: they are part of what starting up builds
        from odibi_core.cli.progress import RunDisplay, print_summary
        from odibi_core.plugin_manager import get_plugin_manager
        from odibi_core.runner.api import run_project

        manager = get_plugin_manager()
        display = RunDisplay(live=sys.stdout.isatty())
        manager.register(display, "odibi.cli.display", source="builtin")
        manager.register(collection, "odibi.cli.startup_gc", source="builtin")
        try:
            results = display.wrap(lambda: run_project(args.config, options, args.env, manager))
        finally:
            manager.pm.unregister(name="odibi.cli.display")
            manager.pm.unregister(name="odibi.cli.startup_gc")
    finally:
        collection.resume()  # also when the run never reached a node (a bad project...)
    print_summary(results, rich=display.live_enabled)
    failed = any(r.status != "SUCCESS" or r.catalog_error for r in results)
    return 1 if failed else 0


def _dry_run(args: argparse.Namespace, options: Any) -> int:
    from odibi_core.runner.api import plan_project

    planned = plan_project(args.config, options, args.env)
    for pipeline, nodes in planned.items():
        print(f"pipeline {pipeline}:")
        for item in nodes:
            detail = " ".join(
                x
                for x in (
                    f"reads {item.reads}" if item.reads else "",
                    f"writes {item.writes}" if item.writes else "",
                    f"({item.reason})" if item.reason else "",
                )
                if x
            )
            print(f"  {item.action:<5} {item.name} {detail}".rstrip())  # scrubbed by the plan
            for warning in item.warnings:
                print(f"        warning: {warning}")
    print("dry run: nothing was read, written or recorded")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
