"""``odibi catalog ...``: query and maintain the System Catalog."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.spec import TableSpec

log = logging.getLogger("odibi.cli")

#: Actions on core's tables and maintenance; plugins' tables add theirs (``TableSpec.command``).
CORE_ACTIONS = (
    ("runs", "pipeline (or node) runs, newest first"),
    ("last-run", "the newest run of each pipeline"),
    ("state", "incremental high-water marks"),
    ("stats", "files, rows, partitions and log length of each table"),
    ("tables", "every registered catalog table: who declares it, its layout and columns"),
    ("freshness", "pipelines with a freshness_sla: last success, age, FRESH or STALE (exit 1)"),
)


def queryable(registry: Any) -> dict[str, TableSpec]:
    """Registered tables with a ``command``, by command (core's actions, then the first table
    registered, win a clash; the loser is named in a warning)."""
    taken: dict[str, str] = {name: "odibi catalog" for name, _ in CORE_ACTIONS}
    taken.update(optimize="odibi catalog", vacuum="odibi catalog")
    found: dict[str, TableSpec] = {}
    for spec in registry.catalog_tables.values():
        if not spec.command:
            continue
        if spec.command in taken:
            log.warning(
                "catalog table %s: action '%s' is already %s's; not offered",
                spec.name,
                spec.command,
                taken[spec.command],
            )
            continue
        taken[spec.command] = f"table {spec.name}"
        found[spec.command] = spec
    return found


def add_parser(sub: Any, registry: Any = None) -> None:
    """``registry`` (the plugins' registry) adds an action per queryable table; without it
    (``odibi --help``, other commands) only core's actions exist."""
    p = sub.add_parser(
        "catalog",
        help="query and maintain the System Catalog",
        description="Query the System Catalog (reading only the partitions and "
        "files needed) or maintain it.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in CORE_ACTIONS:
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
            q.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
        q.set_defaults(handler=handle)
    for name, spec in (queryable(registry) if registry is not None else {}).items():
        q = actions.add_parser(name, help=spec.help or f"rows of {spec.name}")
        _common(q)
        q.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
        q.add_argument("--since", metavar="AGE", help="only rows newer than this (7d, 12h...)")
        for option, values in spec.filters.items():
            q.add_argument(
                f"--{option.replace('_', '-')}", dest=option, choices=values, type=_as(values)
            )
        if spec.add_arguments is not None:
            spec.add_arguments(q)
        q.set_defaults(handler=handle, table_spec=spec)
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


def _as(values: tuple[str, ...]) -> Any:
    """An argparse ``type`` giving the declared spelling of a value typed in any case."""
    by_lower = {v.lower(): v for v in values}
    return lambda text: by_lower.get(text.lower(), text)


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
    if args.action == "tables":
        return _show(args, _table_rows(manager), None, list(_TABLE_COLUMNS[:-1]))
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
    if args.action == "freshness":
        return _freshness(args, project, catalog)
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
    spec: TableSpec | None = getattr(args, "table_spec", None)
    if spec is not None:
        equals = {f: getattr(args, f) for f in spec.filters if getattr(args, f, None)}
        result = query.scan(
            catalog,
            spec.name,
            pipeline=args.pipeline,
            since=query.parse_since(args.since),
            equals=equals or None,
        )
        if spec.sort_by:
            key = spec.sort_by
            result.rows.sort(key=lambda r: (r.get(key) is not None, r.get(key)), reverse=True)
        rows = result.rows
        columns = list(spec.columns) or (list(rows[0]) if rows else [])
        shown = spec.view(args, rows) if spec.view is not None else None
        if shown is not None:
            rows, columns = shown
        return _show(args, rows[: args.limit], result.stats, columns)
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


def _freshness(args: argparse.Namespace, project: Any, catalog: Any) -> int:
    """Exit 1 when a pipeline is past its SLA (or never succeeded), for schedulers' checks."""
    from odibi_core.catalog.freshness import FRESH, freshness

    rows = freshness(project, catalog, args.pipeline)
    if not rows:
        named = f"pipeline '{args.pipeline}' has" if args.pipeline else "no pipeline has"
        print(f"{named} no freshness_sla")
        return 0
    columns = ["pipeline_name", "status", "freshness_sla", "last_success_at", "age_minutes"]
    _show(args, rows, None, [*columns, "overdue_minutes", "owner", "tags"])
    return 0 if all(r["status"] == FRESH for r in rows) else 1


_TABLE_COLUMNS = ("table", "declared_by", "kind", "keys", "partition_by", "command", "columns")


def _table_rows(manager: Any) -> list[dict[str, Any]]:
    declared = manager.registry.catalog_tables  # first: collecting fills each plugin's provides
    owners = {
        name: plugin
        for plugin, info in manager.infos.items()
        for name in info.provides.get("catalog_tables", [])
    }
    rows = []
    for name, spec in sorted(declared.items()):
        rows.append(
            {
                "table": name,
                "declared_by": owners.get(name, ""),
                "kind": "history" if spec.is_history else "keyed",
                "keys": list(spec.keys),
                "partition_by": "default" if spec.partition_by is None else list(spec.partition_by),
                "command": f"catalog {spec.command}" if spec.command else "",
                "columns": spec.column_names(),
            }
        )
    return rows


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
