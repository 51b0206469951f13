"""Odibi's quality gate: checks on a node's output as a whole, after its assertions ran.

Three kinds, each failing the gate on its own; what a failed gate does is its ``on_fail``:

* ``require_pass_rate``: the share of rows passing every row check;
* ``thresholds``: the share of rows passing one check (named, or every check of a type);
* ``row_count``: ``min``/``max`` rows, and ``change_threshold``, the largest relative change
  against ``rows_out`` of the node's last successful run in the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from odibi_quality.config import ODIBI_TYPES, GateConfig, GateThreshold, RowCountGate
from odibi_quality.results import ERROR, FAILED, PASSED, AssertionResult

if TYPE_CHECKING:
    from odibi_quality.types import AssertionType, CheckContext
    from odibi_quality.validate import Prepared, Validation

#: The severity a gate's rows carry in ``meta_quality``: ``abort`` fails the node like an
#: ``error`` assertion; the other two let it go on, like ``warn``.
SEVERITY = {"abort": "error", "warn_and_write": "warn", "write_valid_only": "warn"}


@dataclass
class GateVerdict:
    config: GateConfig
    rows: int
    #: Rows failing at least one row check (what ``write_valid_only`` drops).
    failing_rows: int
    pass_rate: float
    #: Labels of the row checks counted (the rows ``write_valid_only`` drops fail one).
    row_checks: list[str] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    row_count: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def dropping(self) -> bool:
        """Whether a failed gate drops the rows failing a row check (``write_valid_only``)."""
        return self.config.on_fail == "write_valid_only"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (``checks["quality"]["gate"]``, shown by stories)."""
        return {
            "passed": self.passed,
            "on_fail": self.config.on_fail,
            "rows": self.rows,
            "failing_rows": self.failing_rows,
            "pass_rate": self.pass_rate,
            "required": self.config.require_pass_rate,
            "thresholds": self.thresholds,
            "row_count": self.row_count,
            "reasons": self.reasons,
        }

    def results(self) -> list[AssertionResult]:
        """One ``meta_quality`` row per gate check (not part of the DQ score)."""
        severity = SEVERITY[self.config.on_fail]
        failed = self.pass_rate < self.config.require_pass_rate
        out = [
            AssertionResult(
                "gate",
                "gate",
                [],
                severity,
                FAILED if failed else PASSED,
                self.failing_rows,
                self.rows,
                observed_value=self.pass_rate,
                message=_pass_rate_reason(self) if failed else None,
            )
        ]
        for t in self.thresholds:
            out.append(
                AssertionResult(
                    f"gate.{t['assertion']}",
                    "gate_threshold",
                    t["columns"],
                    severity,
                    PASSED if t["passed"] else FAILED,
                    t["failing_rows"],
                    self.rows,
                    observed_value=t["pass_rate"],
                    message=t.get("reason"),
                )
            )
        if self.row_count is not None:
            rc = self.row_count
            out.append(
                AssertionResult(
                    "gate.row_count",
                    "gate_row_count",
                    [],
                    severity,
                    PASSED if rc["passed"] else FAILED,
                    0 if rc["passed"] else 1,
                    1,
                    observed_value={k: rc[k] for k in ("rows", "previous", "change")},
                    message="; ".join(rc["reasons"]) or None,
                    table_level=True,
                )
            )
        return out


def row_checks(validation: Validation) -> list[str]:
    """Labels of the assertions the gate's pass rate counts: row checks that ran."""
    pairs = zip(validation.prepared, validation.results, strict=True)
    return [p.label for p, r in pairs if p.kind.row_level and r.status != ERROR]


def evaluate(
    rows: int,
    validation: Validation,
    gate: GateConfig,
    ctx: CheckContext,
    failing_rows: Callable[[list[str]], int],
) -> GateVerdict:
    """The gate's verdict on a frame of ``rows`` rows. ``failing_rows(labels)`` counts its rows
    failing any of the row checks ``labels`` (check.py's, shared with quarantine)."""
    checked = row_checks(validation)
    failing = failing_rows(checked)
    # An empty output passes vacuously (as in Odibi); its row count is row_count's business.
    rate = 1.0 - failing / rows if rows else 1.0
    verdict = GateVerdict(gate, rows, failing, rate, checked)
    pairs = list(zip(validation.prepared, validation.results, strict=True))
    if rate < gate.require_pass_rate:
        verdict.reasons.append(_pass_rate_reason(verdict))
    for threshold in gate.thresholds:
        matched = matching(threshold, validation.prepared)
        if not matched:
            verdict.reasons.append(f"threshold on '{threshold.test}' matches no check")
            continue
        for item in matched:
            result = next(r for p, r in pairs if p is item)
            entry = _threshold(rows, item, result, threshold, failing_rows)
            verdict.thresholds.append(entry)
            if not entry["passed"]:
                verdict.reasons.append(entry["reason"])
    if gate.row_count is not None:
        verdict.row_count = _row_count(rows, gate.row_count, ctx)
        verdict.reasons.extend(verdict.row_count["reasons"])
    return verdict


def matching(threshold: GateThreshold, prepared: list[Prepared]) -> list[Prepared]:
    """The assertions a threshold applies to (see ``_matches``)."""
    found = _matches(threshold.test, [(p.label, p.config.type) for p in prepared])
    return [prepared[i] for i in found]


def _matches(test: str, checks: list[tuple[str, str]]) -> list[int]:
    """Positions of the checks (label, type) that ``test`` names: the one with that label,
    and every check of that type (Odibi's type names too: ``range``, ``regex_match``), since
    an unnamed check is named after its type and ``range`` then means them all."""
    kind = ODIBI_TYPES.get(test, test)
    return [i for i, (label, t) in enumerate(checks) if label == test or t == kind]


def config_problems(
    data: dict[str, Any], types: dict[str, AssertionType]
) -> list[tuple[tuple[Any, ...], str]]:
    """What ``odibi validate`` reports about a gate's thresholds beyond their shape, from the
    raw merged block (so it is reported even when other keys are wrong): each must name a row
    check of the node. Paths are relative to the gate."""
    from odibi_core.config.errors import did_you_mean

    gate = data.get("gate")
    thresholds = gate.get("thresholds") if isinstance(gate, dict) else None
    if not isinstance(thresholds, list):
        return []
    checks = [
        (str(a.get("name") or a["type"]), a["type"])
        for a in data.get("assertions") or []
        if isinstance(a, dict) and isinstance(a.get("type"), str)
    ]
    problems: list[tuple[tuple[Any, ...], str]] = []
    for j, threshold in enumerate(thresholds):
        test = threshold.get("test") if isinstance(threshold, dict) else None
        if not isinstance(test, str):
            continue  # the shape check reports it
        where = ("thresholds", j, "test")
        found = _matches(test, checks)
        if not found:
            choices = [label for label, _ in checks] + sorted({t for _, t in checks})
            listed = f"; its checks: {', '.join(label for label, _ in checks)}" if checks else ""
            problems.append(
                (
                    where,
                    f"gate: threshold on '{test}' names no check of this node"
                    + did_you_mean(test, choices)
                    + listed,
                )
            )
        for i in found:
            label, kind = checks[i]
            if kind in types and types[kind].table_level:
                problems.append(
                    (
                        where,
                        f"gate: threshold on '{test}': {label} checks the table as a whole; "
                        "thresholds take row checks (bound row counts with gate.row_count)",
                    )
                )
    return problems


def _threshold(
    rows: int,
    item: Prepared,
    result: AssertionResult,
    threshold: GateThreshold,
    failing_rows: Callable[[list[str]], int],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "test": threshold.test,
        "assertion": item.label,
        "columns": list(result.columns),
        "required": threshold.min_pass_rate,
    }
    if result.status == ERROR:
        reason = f"{item.label} could not run, so its pass rate is unknown"
        return {**entry, "pass_rate": None, "failing_rows": 0, "passed": False, "reason": reason}
    if item.kind.row_level:
        failing = failing_rows([item.label])
        rate = 1.0 - failing / rows if rows else 1.0
    else:  # a row check that cannot point at rows (``expect``): GX's own counts
        failing = result.violation_count
        total = result.element_count
        rate = 1.0 - failing / total if total else 1.0
    entry.update(pass_rate=rate, failing_rows=failing, passed=rate >= threshold.min_pass_rate)
    if not entry["passed"]:
        entry["reason"] = (
            f"{item.label}: {rate:.1%} of rows pass, {threshold.min_pass_rate:.1%} required"
        )
    return entry


def _row_count(rows: int, config: RowCountGate, ctx: CheckContext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rows": rows,
        "min": config.min,
        "max": config.max,
        "change_threshold": config.change_threshold,
        "previous": None,
        "change": None,
        "reasons": [],
    }
    if config.min is not None and rows < config.min:
        out["reasons"].append(f"{rows} rows, at least {config.min} required")
    if config.max is not None and rows > config.max:
        out["reasons"].append(f"{rows} rows, at most {config.max} allowed")
    if config.change_threshold is not None:
        previous = ctx.previous_rows_out()
        out["previous"] = previous
        if previous:  # no earlier successful run (or an empty one): nothing to compare with
            change = abs(rows - previous) / previous
            out["change"] = change
            if change > config.change_threshold:
                direction = "more" if rows > previous else "fewer"
                out["reasons"].append(
                    f"{rows} rows, {change:.1%} {direction} than the {previous} of the last "
                    f"successful run, at most {config.change_threshold:.1%} change allowed"
                )
    out["passed"] = not out["reasons"]
    return out


def _pass_rate_reason(verdict: GateVerdict) -> str:
    return (
        f"{verdict.pass_rate:.1%} of rows pass every check, "
        f"{verdict.config.require_pass_rate:.1%} required"
    )
