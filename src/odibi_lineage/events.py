"""OpenLineage ``RunEvent`` objects for pipeline and node runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from odibi_lineage.datasets import DatasetRef

if TYPE_CHECKING:
    from odibi_core.runner.results import NodeResult

PRODUCER = "https://github.com/odibi/odibi_core"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _schema_facets(ref: DatasetRef) -> dict[str, Any]:
    from openlineage.client.generated.schema_dataset import (
        SchemaDatasetFacet,
        SchemaDatasetFacetFields,
    )

    if not ref.schema:
        return {}
    fields = [SchemaDatasetFacetFields(name=c, type=t) for c, t in ref.schema]
    return {"schema": SchemaDatasetFacet(fields=fields)}


def inputs(refs: list[DatasetRef]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset

    return [InputDataset(r.namespace, r.name, facets=_schema_facets(r)) for r in refs]


def outputs(refs: list[DatasetRef]) -> list[Any]:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.generated.base import OutputDatasetFacet
    from openlineage.client.generated.output_statistics_output_dataset import (
        OutputStatisticsOutputDatasetFacet,
    )

    out = []
    for r in refs:
        stats: dict[str, OutputDatasetFacet] = {
            "outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=r.rows)
        }
        out.append(
            OutputDataset(
                r.namespace,
                r.name,
                facets=_schema_facets(r),
                outputFacets=stats if r.rows is not None else {},
            )
        )
    return out


def run_event(
    state: str,
    namespace: str,
    job: str,
    run_id: str,
    *,
    kind: str,
    parent: tuple[str, str] | None = None,
    ins: list[DatasetRef] | None = None,
    outs: list[DatasetRef] | None = None,
    error: str | None = None,
    sql: str | None = None,
    when: str | None = None,
) -> Any:
    """One event of a job run. ``kind`` is the job type (``PIPELINE`` or ``NODE``); ``parent``
    the (job name, run id) of the pipeline run a node run belongs to."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.generated import parent_run
    from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
    from openlineage.client.generated.job_type_job import JobTypeJobFacet
    from openlineage.client.generated.sql_job import SQLJobFacet

    run_facets: dict[str, Any] = {}
    if parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent[1]),
            job=parent_run.Job(namespace=namespace, name=parent[0]),
        )
    if error:
        run_facets["errorMessage"] = ErrorMessageRunFacet(
            message=error, programmingLanguage="PYTHON"
        )
    job_facets: dict[str, Any] = {
        "jobType": JobTypeJobFacet(processingType="BATCH", integration="ODIBI", jobType=kind)
    }
    if sql:
        job_facets["sql"] = SQLJobFacet(query=sql)
    return RunEvent(
        eventTime=when or _now(),
        eventType=getattr(RunState, state),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=namespace, name=job, facets=job_facets),
        inputs=inputs(ins or []),
        outputs=outputs(outs or []),
        producer=PRODUCER,
    )


def node_state(result: NodeResult) -> str:
    return "COMPLETE" if result.status == "SUCCESS" else "FAIL"
