"""Writing a run's story (JSON + self-contained HTML), the pipeline index, and retention."""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.config.models import ALL_COLUMNS
from odibi_core.secrets import MASK
from odibi_core.story.history import NodeHistory, node_histories, schema_changes

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult
    from odibi_core.story.sections import StorySection

DEFAULT_STORY_DIR = ".odibi/stories"
log = logging.getLogger("odibi")


def story_root(project: ProjectConfig, connections: dict[str, Any]) -> Path:
    story = project.story
    if story.connection:
        conn = connections[story.connection]
        if not conn.is_local:
            raise NotImplementedError("stories on remote connections are not supported yet")
        return Path(conn.uri(story.path))
    path = Path(story.path if "path" in story.model_fields_set else DEFAULT_STORY_DIR)
    return path if path.is_absolute() else project.root / path


def build_story(ctx: RunContext, result: PipelineResult) -> dict[str, Any]:
    sections = ctx.plugins.registry.story_sections
    masked = _masked_columns(ctx.pipeline)
    # Only nodes with a schema now need the last good one to compare with.
    succeeded = [n.node for n in result.nodes.values() if n.status == "SUCCESS"]
    histories = node_histories(ctx.catalog, result.pipeline, result.run_id, succeeded)
    nodes = []
    for res in result.nodes.values():
        node = ctx.pipeline.node(res.node)
        extra = {}
        for name, section in sections.items():
            data = _section_data(name, section.collect, ctx, res)
            if data is not None:
                extra[name] = data
        nodes.append(
            _node_story(
                res,
                node.depends_on,
                masked[node.name],
                node.description,
                extra,
                histories.get(res.node),
            )
            | {"explanation": node.explanation_markdown, "runbook_url": node.runbook_url}
        )
    run_sections = {}
    for name, section in sections.items():
        data = _section_data(name, section.run_collect, ctx, result)
        if data is not None:
            run_sections[name] = data
    return {
        "story_version": 2,
        "run_id": result.run_id,
        "project": result.project,
        "pipeline": result.pipeline,
        "layer": ctx.pipeline.layer,
        "description": ctx.pipeline.description,
        "owner": ctx.pipeline.owner or ctx.project.owner,
        "tags": ctx.pipeline.tags,
        "freshness_sla": ctx.pipeline.freshness_sla,
        "environment": result.environment,
        "engine": ctx.engine.name,
        "status": result.status,
        "started_at": result.started_at.isoformat(),
        "ended_at": (result.ended_at or result.started_at).isoformat(),
        "duration_ms": result.duration_ms,
        "rows_written": result.rows_written,
        "dq_score": result.dq_score,
        "catalog_error": result.catalog_error,
        "counts": {
            s: sum(1 for n in result.nodes.values() if n.status == s)
            for s in ("SUCCESS", "FAILURE", "SKIPPED")
        },
        "sections": run_sections,
        "nodes": nodes,
    }


def _section_data(name: str, collect: Any, ctx: RunContext, result: Any) -> Any:
    """A plugin section's data; a broken plugin loses its section, not the story."""
    if collect is None:
        return None
    try:
        return collect(ctx, result)
    except Exception as exc:
        log.warning("story section '%s' failed: %s", name, exc)
        return None


def _masked_columns(pipeline: Any) -> dict[str, set[str]]:
    """Columns to mask per node: its own ``pii``/``sensitive`` columns and every upstream
    node's, since a column marked once keeps its values as it flows downstream."""
    by_name = {n.name: n for n in pipeline.nodes}
    masked: dict[str, set[str]] = {}

    def of(name: str) -> set[str]:
        if name not in masked:
            masked[name] = set(by_name[name].masked_columns)
            for dep in by_name[name].depends_on:
                masked[name] |= of(dep)
        return masked[name]

    for name in by_name:
        of(name)
    return masked


def _node_story(
    res: NodeResult,
    depends_on: list[str],
    masked: set[str],
    description: str | None,
    sections: dict[str, Any],
    history: NodeHistory | None,
) -> dict[str, Any]:
    sample = [
        {
            k: (MASK if (k in masked or ALL_COLUMNS in masked) and v is not None else v)
            for k, v in row.items()
        }
        for row in res.sample
    ]
    history = history or NodeHistory()
    return {
        "name": res.node,
        "description": description,
        "status": res.status,
        "depends_on": depends_on,
        "started_at": res.started_at.isoformat(),
        "ended_at": res.ended_at.isoformat(),
        "duration_ms": res.duration_ms,
        "attempt": res.attempt,
        "rows_in": res.rows_in,
        "rows_out": res.rows_out,
        "rows_written": res.rows_written,
        "steps": res.steps,
        "sql": res.sql,
        "schema": [{"name": c, "type": t} for c, t in res.schema],
        "schema_changes": schema_changes(history.schema, res.schema),
        "schema_compared_to": history.schema_run_id,
        "sample": sample,
        "masked_columns": sorted(masked),
        "error": None
        if res.error_message is None
        else {
            "type": res.error_type,
            "message": res.error_message,
            "step": res.error_step,
            "cause": res.error_cause,
        },
        "skip_reason": res.skip_reason,
        "warnings": res.warnings,
        "dq_score": res.dq_score,
        "history": history.runs,
        "sections": sections,
    }


#: Story fields that programs read back (retention, the index, ``odibi story``): never masked.
_MACHINE_FIELDS = frozenset(
    {"run_id", "started_at", "ended_at", "timestamp", "status", "pipeline", "project", "name"}
)


def write_story(ctx: RunContext, result: PipelineResult) -> Path:
    """Write the run's JSON and HTML, refresh the pipeline index, apply retention."""
    root = _folder_of(story_root(ctx.project, ctx.connections), result.pipeline)
    started = result.started_at.astimezone(UTC)
    folder = root / started.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"run_{started.strftime('%H-%M-%S')}"
    if (folder / f"{stem}.json").exists():
        stem = f"{stem}_{result.run_id[:8]}"
    ctx.story_path = str(folder / f"{stem}.html")
    # The SQL run, errors, samples and plugins' sections may all quote a secret.
    story = ctx.secrets.scrub_data(build_story(ctx, result), _MACHINE_FIELDS)
    sections = ctx.plugins.registry.story_sections
    # Compact: a 200-node story is ~half the size without indentation (`jq` reads it fine).
    # Scrubbed as data, not as text: the JSON is read back, and its numbers and times must stay.
    _atomic_write(folder / f"{stem}.json", json.dumps(story, separators=(",", ":"), default=str))
    html = render_run(story, sections, index_href="../index.html")
    _atomic_write(folder / f"{stem}.html", html)
    kept = apply_retention(
        root, ctx.project.story.retention_days, ctx.project.story.retention_count
    )
    write_index(root, result.pipeline, kept)
    return folder / f"{stem}.html"


def _folder_of(base: Path, pipeline: str) -> Path:
    """``base / pipeline``, which must be a folder right under ``base``: loading a project
    checks names against ``NAME_PATTERN``, and a story still never lands anywhere else."""
    # Judged on the name, not on resolved paths: a folder linked elsewhere is the user's choice.
    if pipeline in ("", ".", "..") or Path(pipeline).name != pipeline:
        raise ValueError(f"pipeline name {pipeline!r} is not one folder under {base}")
    return base / pipeline


def render_run(
    story: dict[str, Any], sections: dict[str, StorySection], index_href: str | None = None
) -> str:
    """The HTML page of a story (as ``build_story`` made it)."""
    from odibi_core.graph.layout import layout

    dag = layout({n["name"]: n["depends_on"] for n in story["nodes"]})
    return _render(
        "run.html.j2",
        story=story,
        sections=sections,
        index_href=index_href,
        dag=dag,
        dag_nodes={n["name"]: n for n in story["nodes"]},
    )


#: What the index (and ``odibi story list``) needs of each run, cached in ``index.json``.
SUMMARY_KEYS = (
    "run_id",
    "project",
    "pipeline",
    "status",
    "started_at",
    "duration_ms",
    "rows_written",
    "dq_score",
    "counts",
    "environment",
)
INDEX_DATA = "index.json"
#: Bumped when a summary gains a field, so summaries cached without it are made again.
INDEX_VERSION = 2


def summarize(story: dict[str, Any]) -> dict[str, Any]:
    """What the index keeps of a story: ``SUMMARY_KEYS``, and each checked node's DQ score
    (``node_dq``, for the per-node trend lines)."""
    summary = {k: story.get(k) for k in SUMMARY_KEYS}
    summary["node_dq"] = {
        n["name"]: n["dq_score"]
        for n in story.get("nodes") or []
        if isinstance(n, dict) and n.get("dq_score") is not None
    }
    return summary


def list_runs(pipeline_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(story JSON path, summary) of each kept run, newest first.

    Summaries come from the pipeline's ``index.json`` where it has them; only stories missing
    from it are read (a story is large, and a pipeline keeps up to ``retention_count``). The
    story files are the truth: a summary whose file is gone is ignored, so a stale or lost
    ``index.json`` (two runs writing it at once) only costs re-reading.
    """
    try:
        index = json.loads((pipeline_dir / INDEX_DATA).read_text(encoding="utf-8"))
        cached = index["runs"] if index.get("version") == INDEX_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        cached = {}
    if not isinstance(cached, dict):
        cached = {}
    runs = []
    for path in pipeline_dir.glob("*/run_*.json"):
        entry = cached.get(path.relative_to(pipeline_dir).as_posix())
        try:
            changed = path.stat().st_mtime_ns
            if (
                isinstance(entry, dict)
                and entry.get("mtime_ns") == changed
                and isinstance(entry.get("summary"), dict)
            ):
                summary = entry["summary"]
            else:  # new, or rewritten since it was summarised
                summary = summarize(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            continue  # a story being replaced or damaged by hand: leave it out
        runs.append((path, {**summary, "_mtime_ns": changed}))
    runs.sort(key=lambda r: r[1].get("started_at") or "", reverse=True)
    return runs


def write_index(
    pipeline_dir: Path, pipeline: str, kept: list[tuple[Path, dict[str, Any]]] | None = None
) -> None:
    """The pipeline's index page and its ``index.json`` of run summaries."""
    kept = kept if kept is not None else list_runs(pipeline_dir)
    runs = [
        {**summary, "href": path.relative_to(pipeline_dir).with_suffix(".html").as_posix()}
        for path, summary in kept
    ]
    cache = {
        path.relative_to(pipeline_dir).as_posix(): {
            "mtime_ns": summary.get("_mtime_ns"),
            "summary": {k: summary.get(k) for k in (*SUMMARY_KEYS, "node_dq")},
        }
        for path, summary in kept
    }
    _atomic_write(pipeline_dir / INDEX_DATA, json.dumps({"version": INDEX_VERSION, "runs": cache}))
    _atomic_write(
        pipeline_dir / "index.html",
        _render("index.html.j2", pipeline=pipeline, runs=runs, node_trends=node_trends(runs)),
    )


def node_trends(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per node with a DQ score in any kept run: its scores oldest first (None where a run
    did not check it), the latest and the lowest; nodes in the order they first appear."""
    oldest_first = list(reversed(runs))
    names: dict[str, None] = {}
    for run in oldest_first:
        names.update(dict.fromkeys(run.get("node_dq") or {}))
    trends = []
    for name in names:
        scores = [(run.get("node_dq") or {}).get(name) for run in oldest_first]
        known = [s for s in scores if s is not None]
        trends.append(
            {
                "node": name,
                "scores": scores,
                "latest": known[-1],
                "lowest": min(known),
                "runs": len(known),
            }
        )
    return trends


def apply_retention(
    pipeline_dir: Path, days: int | None, count: int | None
) -> list[tuple[Path, dict[str, Any]]]:
    """Delete stories past ``retention_days``/``retention_count``; return the kept ones."""
    runs = list_runs(pipeline_dir)
    kept = []
    cutoff = datetime.now(UTC) - timedelta(days=days) if days else None
    for i, (path, story) in enumerate(runs):
        too_many = count is not None and i >= count
        started = datetime.fromisoformat(story.get("started_at") or "1970-01-01T00:00:00+00:00")
        too_old = cutoff is not None and started < cutoff
        if too_many or too_old:
            for suffix in (".json", ".html"):
                path.with_suffix(suffix).unlink(missing_ok=True)
            extra = path.with_suffix("")  # per-run assets folder (e.g. GX Data Docs)
            if extra.is_dir():
                shutil.rmtree(extra, ignore_errors=True)
        else:
            kept.append((path, story))
    for folder in pipeline_dir.iterdir():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return kept


def _render(template: str, **values: Any) -> str:
    from odibi_core.templating import render

    return render(template, **values)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
