"""Freshness of pipelines against their ``freshness_sla``, from the catalog's run history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.models import ProjectConfig

#: ``status`` of a pipeline with an SLA: its last success is recent enough, too old, or none.
FRESH, STALE, NEVER = "FRESH", "STALE", "NEVER_SUCCEEDED"


def freshness(
    project: ProjectConfig,
    catalog: Catalog,
    pipeline: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per pipeline with a ``freshness_sla`` (or the one named): its owner, tags, the
    SLA, when it last succeeded (end of its newest ``SUCCESS`` run) and whether that is within
    the SLA now; ``overdue_minutes`` says by how much it is not."""
    from odibi_core.catalog import query

    now = now or datetime.now(UTC)
    rows = []
    for p in project.pipelines:
        if p.freshness_sla is None or (pipeline and p.pipeline != pipeline):
            continue
        limit = p.freshness_seconds or 0.0
        runs = query.runs(catalog, p.pipeline, status="SUCCESS").rows
        last = max((r["timestamp"] for r in runs), default=None)
        age: float | None = None
        overdue: float | None = None
        status = NEVER
        if last is not None:
            age = (now - last).total_seconds()
            status = FRESH if age <= limit else STALE
            overdue = round((age - limit) / 60, 1) if status == STALE else None
        rows.append(
            {
                "pipeline_name": p.pipeline,
                "owner": p.owner or project.owner,
                "tags": list(p.tags),
                "freshness_sla": p.freshness_sla,
                "freshness_anchor": p.freshness_anchor,
                "last_success_at": last,
                "age_minutes": None if age is None else round(age / 60, 1),
                "status": status,
                "overdue_minutes": overdue,
            }
        )
    return rows
