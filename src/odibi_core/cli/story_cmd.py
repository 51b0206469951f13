"""``odibi story list|last|show|diff``: the stories of past runs, on the terminal."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from odibi_core.templating import duration as _duration

if TYPE_CHECKING:
    from pathlib import Path

    from odibi_core.story.archive import StoryFile
    from odibi_core.story.diff import Change


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "story",
        help="list, show and compare the stories of past runs",
        description="Read the stories runs wrote (story.path, default .odibi/stories).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="runs with a story, newest first")
    _common(ls)
    ls.add_argument("--limit", type=int, default=20, help="stories to list (default 20)")
    last = actions.add_parser("last", help="the newest run's story")
    _common(last, formats=("text", "json", "path"))
    show = actions.add_parser("show", help="one run's story")
    _common(show, formats=("text", "json", "path"))
    show.add_argument("run", help="run id (or a unique prefix), 'last' or 'last~N'")
    diff = actions.add_parser(
        "diff",
        help="two runs side by side: status, rows, schema, DQ score, timing",
        description="Compare two runs. With no runs given: the last run against the one "
        "before it; with one: that run against the one before it.",
    )
    _common(diff)
    diff.add_argument("runs", nargs="*", metavar="RUN", help="run ids, 'last' or 'last~N'")
    for q in (ls, last, show, diff):
        q.set_defaults(handler=handle)


def _common(p: argparse.ArgumentParser, formats: tuple[str, ...] = ("text", "json")) -> None:
    p.add_argument("config", help="project file (odibi.yaml)")
    p.add_argument("--pipeline", metavar="P", help="only this pipeline")
    p.add_argument("--env", help="environment overrides to apply")
    p.add_argument("--format", choices=formats, default="text")


def _root(args: argparse.Namespace) -> Path:
    from odibi_core.config.errors import did_you_mean
    from odibi_core.config.loader import load_project
    from odibi_core.connections.base import build_connections
    from odibi_core.errors import OdibiError
    from odibi_core.plugin_manager import get_plugin_manager
    from odibi_core.story.writer import story_root

    manager = get_plugin_manager()
    project = load_project(args.config, args.env, manager)
    names = [p.pipeline for p in project.pipelines]
    if args.pipeline and args.pipeline not in names:
        hint = did_you_mean(args.pipeline, names)
        raise OdibiError(f"no pipeline '{args.pipeline}' in {args.config}{hint}")
    return story_root(project, build_connections(project, manager.registry))


def handle(args: argparse.Namespace) -> int:
    from odibi_core.story import archive

    root = _root(args)
    if args.action == "list":
        found = archive.stories(root, args.pipeline)[: args.limit]
        if args.format == "json":
            print(json.dumps([_summary(s) for s in found], indent=2))
            return 0
        if not found:
            print(f"no stories yet under {root}")
            return 0
        from odibi_core.cli.output import print_table

        print_table(
            [
                "started (UTC)",
                "pipeline",
                "status",
                "duration",
                "ok/failed/skipped",
                "DQ",
                "run id",
            ],
            [
                [
                    (s.summary.get("started_at") or "")[:19].replace("T", " "),
                    s.summary.get("pipeline"),
                    s.summary.get("status"),
                    _duration(s.summary.get("duration_ms")),
                    "/".join(str((s.summary.get("counts") or {}).get(k, 0)) for k in _STATUSES),
                    _score(s.summary.get("dq_score")),
                    s.run_id,
                ]
                for s in found
            ],
        )
        return 0
    if args.action in ("last", "show"):
        one = archive.find(root, "last" if args.action == "last" else args.run, args.pipeline)
        if args.format == "path":
            print(one.html)
        elif args.format == "json":
            print(json.dumps(one.story, indent=2))
        else:
            _print_story(one)
        return 0
    return _diff(root, args)


_STATUSES = ("SUCCESS", "FAILURE", "SKIPPED")


def _summary(s: StoryFile) -> dict[str, Any]:
    keys = ("run_id", "pipeline", "status", "started_at", "duration_ms", "rows_written")
    return {
        **{k: s.summary.get(k) for k in keys},
        "dq_score": s.summary.get("dq_score"),
        "counts": s.summary.get("counts"),
        "html": str(s.html),
    }


def _print_story(found: StoryFile) -> None:
    from odibi_core.cli.output import print_table

    story = found.story
    print(
        f"{story.get('project')} / {story.get('pipeline')}: {story.get('status')} · "
        f"run {found.run_id} · started {story.get('started_at')} · "
        f"{_duration(story.get('duration_ms'))} · {story.get('rows_written')} rows written · "
        f"DQ {_score(story.get('dq_score')) or '-'}"
    )
    nodes = story.get("nodes", [])
    print_table(
        ["node", "status", "duration", "rows in", "rows out", "DQ", "schema", "note"],
        [
            [
                n["name"],
                n["status"],
                _duration(n.get("duration_ms")),
                n.get("rows_in"),
                n.get("rows_out"),
                _score(n.get("dq_score")),
                _schema_note(n.get("schema_changes")),
                "; ".join(
                    x
                    for x in (
                        (n["error"]["message"].splitlines() or [""])[0]
                        if n.get("error")
                        else n.get("skip_reason"),
                        *(f"warning: {w}" for w in n.get("warnings") or []),
                    )
                    if x
                ),
            ]
            for n in nodes
        ],
    )
    for n in nodes:
        failing = [
            a
            for a in (n.get("sections", {}).get("quality") or {}).get("assertions", [])
            if a.get("status") != "passed"
        ]
        for a in failing:
            examples = ", ".join(map(str, a.get("failing_examples", [])[:5]))
            print(
                f"  {n['name']}: {a.get('name')} ({a.get('severity')}) {a.get('status')}: "
                f"{a.get('violation_count')} of {a.get('element_count')}"
                + (f", e.g. {examples}" if examples else "")
            )
    for n in nodes:
        if n.get("status") == "FAILURE" and n.get("runbook_url"):
            print(f"  {n['name']}: runbook {n['runbook_url']}")
    print(f"story: {found.html}")


def _schema_note(changes: dict[str, list[dict[str, str]]] | None) -> str:
    if not changes:
        return ""
    parts = [f"+{c['name']}" for c in changes.get("added", [])]
    parts += [f"-{c['name']}" for c in changes.get("removed", [])]
    parts += [f"~{c['name']}" for c in changes.get("retyped", [])]
    return " ".join(parts)


def _diff(root: Path, args: argparse.Namespace) -> int:
    from odibi_core.errors import OdibiError
    from odibi_core.story import archive
    from odibi_core.story.diff import diff

    if len(args.runs) > 2:
        raise OdibiError("story diff takes at most two runs")
    if len(args.runs) == 2:
        before = archive.find(root, args.runs[0], args.pipeline)
        after = archive.find(root, args.runs[1], args.pipeline)
    else:
        after = archive.find(root, args.runs[0] if args.runs else "last", args.pipeline)
        earlier = archive.previous(root, after)
        if earlier is None:
            raise OdibiError(f"run {after.run_id} has no earlier story to compare with")
        before = earlier
    result = diff(before.story, after.story)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return 0
    from odibi_core.cli.output import print_table

    print(f"before: {before.run_id} ({before.story.get('started_at')})")
    print(f"after:  {after.run_id} ({after.story.get('started_at')})")
    print(
        f"status {_change(result.status)} · duration {_change(result.duration_ms, _duration)} · "
        f"rows written {_change(result.rows_written)} · DQ {_change(result.dq_score, _score)}"
    )
    print_table(
        ["node", "status", "rows out", "duration", "DQ", "schema"],
        [
            [
                n.name + (f" (only {n.only_in})" if n.only_in else ""),
                _change(n.status),
                _change(n.rows_out),
                _change(n.duration_ms, _duration),
                _change(n.dq_score, _score),
                _schema_note(n.schema),
            ]
            for n in result.nodes
        ],
    )
    return 0


def _change(change: Change, show: Any = None) -> str:
    fmt = show or (lambda v: "" if v is None else str(v))
    if not change.changed or fmt(change.before) == fmt(change.after):
        return fmt(change.after)
    text = f"{fmt(change.before) or '-'} -> {fmt(change.after) or '-'}"
    if change.delta is not None and show is None:
        text += f" ({change.delta:+g})"
    return text


def _score(value: Any) -> str:
    return "" if value is None else f"{value:.1f}"
