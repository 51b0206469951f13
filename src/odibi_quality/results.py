"""Normalised assertion results: what ``meta_quality``, stories and the DQ score are made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass
class AssertionResult:
    name: str
    assertion_type: str
    columns: list[str]
    severity: str
    status: str
    #: Numerator and denominator of the violation rate: rows (cells for several columns) that
    #: broke the assertion, out of those checked; table-level assertions count 0 or 1 of 1.
    violation_count: int
    element_count: int
    observed_value: Any = None
    expectation_types: list[str] = field(default_factory=list)
    failing_examples: list[Any] = field(default_factory=list)
    message: str | None = None
    table_level: bool = False

    @property
    def violation_pct(self) -> float:
        return 100.0 * self.violation_count / self.element_count if self.element_count else 0.0

    @property
    def score(self) -> float:
        """This assertion's share of the DQ score, 0..1."""
        if self.status == ERROR:
            return 0.0
        if self.table_level:
            return 0.0 if self.status == FAILED else 1.0
        return 1.0 - self.violation_count / self.element_count if self.element_count else 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["violation_pct"] = self.violation_pct
        return data


def dq_score(results: list[AssertionResult]) -> float | None:
    """100 * mean over assertions of (1 - violations / elements) (SPEC §4)."""
    if not results:
        return None
    return 100.0 * sum(r.score for r in results) / len(results)
