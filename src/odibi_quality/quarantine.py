"""Writing failing rows, with why they failed, to the quarantine table.

The rows get Odibi's metadata columns (``_rejection_reason``, ``_rejected_at``,
``_source_batch_id``, ``_failed_tests``, ``_original_node``, as ``add_columns`` chooses) and a
key of our own, ``_quarantine_key``: a digest of the node and the row's values, numbered among
identical rows. Rows are upserted on it, so neither a retried attempt nor a rerun over the
same data quarantines a row twice (Odibi appends them again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from odibi_quality.config import QuarantineConfig

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_quality.rules import RowRules

KEY = "_quarantine_key"


def rejected_rows(
    ctx: RunContext,
    node: str,
    rules: RowRules,
    labels: list[str],
    target: QuarantineConfig,
    descriptions: dict[str, str],
) -> Any:
    """The rows failing any of the checks ``labels``, with the metadata columns, as the
    engine's frame. ``descriptions`` gives each check as ``_rejection_reason`` names it."""
    wanted = target.add_columns
    rejected_at = datetime.now(UTC).isoformat(sep=" ")

    def extra(rr: RowRules, chosen: list[str]) -> list[str]:
        d = rr.dialect
        q = d.quote

        def listed(text: dict[str, str], sep: str) -> str:
            parts = [f"CASE WHEN {rr.flag(lb)} THEN {d.literal(text[lb])} END" for lb in chosen]
            return f"concat_ws({d.literal(sep)}, {', '.join(parts)})"

        out = []
        if wanted.rejection_reason:
            reasons = listed(descriptions, ", ")
            out.append(f"concat({d.literal('Failed: ')}, {reasons}) AS {q('_rejection_reason')}")
        if wanted.rejected_at:
            stamp = "TIMESTAMP" if d.spark else "TIMESTAMPTZ"
            out.append(f"{stamp} {d.literal(rejected_at)} AS {q('_rejected_at')}")
        if wanted.source_batch_id:
            out.append(f"{d.literal(ctx.run_id)} AS {q('_source_batch_id')}")
        if wanted.failed_tests:
            out.append(f"{listed({lb: lb for lb in chosen}, ',')} AS {q('_failed_tests')}")
        if wanted.original_node:
            out.append(f"{d.literal(node)} AS {q('_original_node')}")
        values = [d.literal(node)] + [
            f"CASE WHEN {q(c)} IS NULL THEN 'n' ELSE concat('v', {d.text(q(c))}) END"
            for c in rr.columns
        ]
        digest = f"md5(concat_ws(chr(31), {', '.join(values)}))"
        from odibi_quality.rules import ROW

        nth = f"ROW_NUMBER() OVER (PARTITION BY {digest} ORDER BY {ROW})"
        out.append(f"concat({digest}, '-', {d.text(nth)}) AS {q(KEY)}")
        return out

    return rules.rejected(labels, extra, target.max_rows)


def write_quarantine(ctx: RunContext, rows: Any, target: QuarantineConfig) -> None:
    from odibi_core.config.models import WriteConfig

    spec = WriteConfig(
        connection=target.connection,
        format=target.format,
        path=target.path,
        table=target.table,
        mode="upsert",
        options={"keys": [KEY]},
    )
    ctx.engine.write(rows, spec, ctx.connections[target.connection])
