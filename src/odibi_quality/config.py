"""The ``quality`` block (SPEC §4) and how Odibi's ``validation:``/``contracts:`` map onto it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warn", "quarantine"]


class AssertionConfig(BaseModel):
    """One assertion. Keys besides these belong to its type and are validated by it."""

    model_config = ConfigDict(extra="allow")

    type: str
    name: str | None = None
    severity: Severity = "error"
    mostly: float | None = Field(None, gt=0, le=1)

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def label(self, index: int) -> str:
        return self.name or f"{self.type}_{index + 1}"


class QuarantineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: str
    path: str | None = None
    table: str | None = None
    format: str = "delta"


class GateConfig(BaseModel):
    """Odibi's ``validation.gate``: a floor on the share of rows passing every row check."""

    model_config = ConfigDict(extra="forbid")

    require_pass_rate: float = Field(0.95, ge=0, le=1)
    on_fail: Literal["abort", "warn_and_write", "write_valid_only"] = "abort"
    #: Accepted for compatibility with Odibi; not applied.
    thresholds: list[dict[str, Any]] = Field(default_factory=list)
    row_count: dict[str, Any] | None = None


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``fail``: an error-severity failure fails the node. ``warn``: it is only recorded.
    on_error: Literal["fail", "warn"] = "fail"
    assertions: list[AssertionConfig] = Field(default_factory=list)
    quarantine: QuarantineConfig | None = None
    gate: GateConfig | None = None
    suite_name: str | None = None


# Odibi's test names → our assertion types; on_fail → severity.
_ODIBI_TYPES = {"range": "between", "regex_match": "regex"}
_ON_FAIL = {"fail": "error", "warn": "warn", "quarantine": "quarantine"}


def from_node(node: dict[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[Any, ...]]]:
    """The node's quality block as data, merging Odibi's ``contracts`` and ``validation``,
    and where each assertion was written (a path within the node, for error messages)."""
    quality = dict(node.get("quality") or {})
    assertions = list(quality.get("assertions") or [])
    origins: list[tuple[Any, ...]] = [("quality", "assertions", i) for i in range(len(assertions))]
    for j, test in enumerate(node.get("contracts") or []):
        assertions.append(_odibi_test(test, default_on_fail="fail"))
        origins.append(("contracts", j))
    validation = node.get("validation")
    if isinstance(validation, dict):
        for k, test in enumerate(validation.get("tests") or []):
            kind = test.get("type") if isinstance(test, dict) else None
            assertions.append(_odibi_test(test, "warn" if kind == "distribution" else "fail"))
            origins.append(("validation", "tests", k))
        if validation.get("mode") == "warn":
            quality.setdefault("on_error", "warn")
        if isinstance(validation.get("gate"), dict) and "gate" not in quality:
            quality["gate"] = validation["gate"]
        if isinstance(validation.get("quarantine"), dict) and "quarantine" not in quality:
            q = validation["quarantine"]
            quality["quarantine"] = {
                k: q[k] for k in ("connection", "path", "table", "format") if k in q
            }
    if not assertions and not quality:
        return None, []
    quality["assertions"] = assertions
    return quality, origins


def _odibi_test(test: Any, default_on_fail: str) -> Any:
    if not isinstance(test, dict):
        return test
    out = {k: v for k, v in test.items() if k != "on_fail"}
    out["type"] = _ODIBI_TYPES.get(str(test.get("type")), test.get("type"))
    out["severity"] = _ON_FAIL.get(str(test.get("on_fail", default_on_fail)), "error")
    return out
