"""``odibi catalog ...``: query and maintain the System Catalog."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any

#: History tables plugins fill (the catalog owns their layout): action → (table, columns shown).
HISTORY = {
    "quality": (
        "meta_quality",
        [
            "timestamp",
            "pipeline_name",
            "node_name",
            "assertion_name",
            "severity",
            "status",
            "violation_count",
            "element_count",
            "violation_pct",
            "run_id",
        ],
    ),
    "metrics": (
        "meta_metrics",
        [
            "timestamp",
            "pipeline_name",
            "node_name",
            "metric_name",
            "kind",
            "value",
            "unit",
            "run_id",
        ],
    ),
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "catalog",
        help="query and maintain the System Catalog",
        description="Query the System Catalog (reading only the partitions and "
        "files needed) or maintain it.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("runs", "pipeline (or node) runs, newest first"),
        ("last-run", "the newest run of each pipeline"),
        ("state", "incremental high-water marks"),
        ("quality", "assertion results (meta_quality), newest first"),
        ("metrics", "telemetry data points (meta_metrics), newest first"),
        ("stats", "files, rows, partitions and log length of each table"),
    ):
        q = actions.add_parser(name, help=text)
        _common(q)
        if name == "runs":
            q.add_argument(
                "--since",
                metavar="AGE",
                help="only runs newer than this: 7d, 12h, 30m, 2w or an ISO date",
            )
            q.add_argument("--status", choices=["SUCCESS", "FAILURE", "SKIPPED"], type=str.upper)
            q.add_argument(
                "--scope", choices=["pipeline", "node", "check", "all"], default="pipeline"
            )
        if name in ("runs", "quality", "metrics"):
            q.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
        if name in ("quality", "metrics"):
            q.add_argument("--since", metavar="AGE", help="only rows newer than this (7d, 12h...)")
        if name == "quality":
            q.add_argument("--status", choices=["passed", "failed", "error"], type=str.lower)
        q.set_defaults(handler=handle)
    opt = actions.add_parser("optimize", help="compact, Z-order by timestamp and checkpoint")
    _common(opt)
    opt.set_defaults(handler=handle)
    vac = actions.add_parser("vacuum", help="delete files no longer referenced")
    _common(vac)
    vac.add_argument(
        "--retention-hours",
        type=int,
        metavar="N",
        help="keep unreferenced files newer than this (default: "
        "system.maintenance.retention_hours, 168)",
    )
    vac.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    vac.set_defaults(handler=handle)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="project file (odibi.yaml)")
    p.add_argument("--pipeline", metavar="P", help="only this pipeline")
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument("--format", choices=["table", "json"], default="table")


def handle(args: argparse.Namespace) -> int:
    from odibi_core.catalog import maintenance, query
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    project = load_project(args.config, args.env, manager)
    catalog = Catalog.for_project(project, build_connections(project, manager.registry))

    if args.action == "runs":
        since = query.parse_since(args.since)
        result = query.runs(catalog, args.pipeline, since, args.status, args.scope)
        return _show(
            args,
            result.rows[: args.limit],
            result.stats,
            [
                "timestamp",
                "pipeline_name",
                "node_name",
                "status",
                "duration_ms",
                "rows_out",
                "dq_score",
                "run_id",
                "error_message",
            ],
        )
    if args.action == "last-run":
        result = (
            query.last_run(catalog, args.pipeline) if args.pipeline else query.last_runs(catalog)
        )
        return _show(
            args,
            result.rows,
            result.stats,
            [
                "pipeline_name",
                "status",
                "timestamp",
                "duration_ms",
                "rows_out",
                "dq_score",
                "run_id",
            ],
        )
    if args.action in HISTORY:
        table, columns = HISTORY[args.action]
        equals = {"status": args.status} if getattr(args, "status", None) else None
        result = query.scan(
            catalog,
            table,
            pipeline=args.pipeline,
            since=query.parse_since(args.since),
            equals=equals,
        )
        result.rows.sort(key=lambda r: r["timestamp"], reverse=True)
        return _show(args, result.rows[: args.limit], result.stats, columns)
    if args.action == "state":
        result = query.state(catalog, args.pipeline)
        return _show(
            args,
            result.rows,
            result.stats,
            ["pipeline_name", "node_name", "key", "value", "updated_at"],
        )
    if args.action == "stats":
        rows = query.table_stats(catalog)
        return _show(
            args,
            rows,
            None,
            [
                "table",
                "version",
                "files",
                "rows",
                "bytes",
                "partition_by",
                "partitions",
                "commits_since_checkpoint",
            ],
        )
    tables = catalog.table_names()
    partitions = [args.pipeline] if args.pipeline else None
    if args.action == "optimize":
        reports = [maintenance.optimize(catalog, table, partitions) for table in tables]
        rows = [
            {
                "table": r.table,
                "files_before": r.files_before,
                "files_after": r.files_after,
                "compacted": r.compacted,
                "checkpointed": r.checkpointed,
                "note": r.skipped or "",
            }
            for r in reports
        ]
        return _show(args, rows, None, list(rows[0]) if rows else ["table"])
    removed = {
        table: maintenance.vacuum(catalog, table, args.retention_hours, args.dry_run)
        for table in tables
    }
    rows = [
        {
            "table": table,
            "files": len(paths),
            "action": "would delete" if args.dry_run else "deleted",
        }
        for table, paths in removed.items()
    ]
    if args.format == "json":
        print(json.dumps({"dry_run": args.dry_run, "files": removed}, indent=2))
        return 0
    return _show(args, rows, None, ["table", "files", "action"])


def _show(
    args: argparse.Namespace, rows: list[dict[str, Any]], stats: Any, columns: list[str]
) -> int:
    if args.format == "json":
        out: dict[str, Any] = {"rows": rows}
        if stats is not None:
            out["stats"] = {k: v for k, v in vars(stats).items() if k != "read_paths"}
        print(json.dumps(out, indent=2, default=_json_default))
        return 0
    from odibi_core.cli.output import print_table

    if not rows:
        print("no rows (the catalog has no matching history yet)")
        return 0
    print_table(columns, [[_cell(r.get(c)) for c in columns] for r in rows])
    return 0


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
