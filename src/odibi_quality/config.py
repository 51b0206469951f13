"""The ``quality`` block (SPEC §4) and how Odibi's ``validation:``/``contracts:`` map onto it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
        """The assertion's name in results, ``meta_quality`` and quarantine tables: given by
        :func:`from_node` (Odibi's naming), else its type."""
        return self.name or self.type


class QuarantineColumns(BaseModel):
    """Which of Odibi's metadata columns quarantined rows get (``add_columns``), written as
    Odibi writes them (``_rejection_reason: true``) or without the underscore."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: ``Failed: <test> (<columns>), ...``: the tests this row failed.
    rejection_reason: bool = Field(True, alias="_rejection_reason")
    #: When the row was quarantined (UTC).
    rejected_at: bool = Field(True, alias="_rejected_at")
    #: The run's id.
    source_batch_id: bool = Field(True, alias="_source_batch_id")
    #: The names of the tests this row failed, comma-separated.
    failed_tests: bool = Field(True, alias="_failed_tests")
    #: The node's name.
    original_node: bool = Field(False, alias="_original_node")


class QuarantineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: str
    path: str | None = None
    table: str | None = None
    format: str = "delta"
    add_columns: QuarantineColumns = Field(default_factory=QuarantineColumns)
    #: Write at most this many of a run's quarantined rows (the first, in the frame's order);
    #: all of them still leave the output.
    max_rows: int | None = Field(None, ge=1)


class GateThreshold(BaseModel):
    """A floor on the share of rows passing one row check (Odibi's ``GateThreshold``)."""

    model_config = ConfigDict(extra="forbid")

    #: An assertion's name (``not_null_1``, or its ``name:``) or a type (all assertions of it).
    test: str
    min_pass_rate: float = Field(ge=0, le=1)


class RowCountGate(BaseModel):
    """Bounds on the number of rows gated, and on its change since the node's last good run."""

    model_config = ConfigDict(extra="forbid")

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    #: Largest allowed |rows - previous| / previous, previous being the ``rows_out`` of the
    #: node's last successful run in the catalog (0.5: a change of more than 50% fails).
    change_threshold: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> RowCountGate:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class GateConfig(BaseModel):
    """Odibi's ``validation.gate``: checks on the node's output as a whole, before it is
    written: the share of rows passing every row check, per-check floors and row counts."""

    model_config = ConfigDict(extra="forbid")

    require_pass_rate: float = Field(0.95, ge=0, le=1)
    on_fail: Literal["abort", "warn_and_write", "write_valid_only"] = "abort"
    thresholds: list[GateThreshold] = Field(default_factory=list)
    row_count: RowCountGate | None = None


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``fail``: an error-severity failure fails the node. ``warn``: it is only recorded.
    on_error: Literal["fail", "warn"] = "fail"
    assertions: list[AssertionConfig] = Field(default_factory=list)
    quarantine: QuarantineConfig | None = None
    gate: GateConfig | None = None
    suite_name: str | None = None
    #: Render this node's results as GX Data Docs beside the run's story (imports GX).
    data_docs: bool = False


# The keys of Odibi's validation.quarantine taken (retention_days, sample_fraction are not).
_QUARANTINE_KEYS = ("connection", "path", "table", "format", "add_columns", "max_rows")
# Odibi's test names → our assertion types; on_fail → severity.
ODIBI_TYPES = {"range": "between", "regex_match": "regex"}
_ON_FAIL = {"fail": "error", "warn": "warn", "quarantine": "quarantine"}


def from_node(node: dict[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[Any, ...]]]:
    """The node's quality block as data, merging Odibi's ``contracts`` and ``validation``,
    and where each assertion was written (a path within the node, for error messages).

    Parts of the wrong shape are left out (:func:`shape_problems` and the node's schema
    report them), so the merged block always has a list of ``assertions``."""
    raw = node.get("quality")
    quality = dict(raw) if isinstance(raw, dict) else {}
    taken: set[str] = set()
    assertions = [
        _named(a, i, a.get("type") if isinstance(a, dict) else None, taken)
        for i, a in enumerate(_list(quality.get("assertions")))
    ]
    origins: list[tuple[Any, ...]] = [("quality", "assertions", i) for i in range(len(assertions))]
    for j, test in enumerate(_list(node.get("contracts"))):
        written = test.get("type") if isinstance(test, dict) else None
        assertions.append(_named(_odibi_test(test, default_on_fail="fail"), j, written, taken))
        origins.append(("contracts", j))
    validation = node.get("validation")
    if isinstance(validation, dict):
        for k, test in enumerate(_list(validation.get("tests"))):
            kind = test.get("type") if isinstance(test, dict) else None
            mapped = _odibi_test(test, "warn" if kind == "distribution" else "fail")
            assertions.append(_named(mapped, k, kind, taken))
            origins.append(("validation", "tests", k))
        if validation.get("mode") == "warn":
            quality.setdefault("on_error", "warn")
        if isinstance(validation.get("gate"), dict) and "gate" not in quality:
            quality["gate"] = validation["gate"]
        if isinstance(validation.get("quarantine"), dict) and "quarantine" not in quality:
            q = validation["quarantine"]
            quality["quarantine"] = {k: q[k] for k in _QUARANTINE_KEYS if k in q}
    if not assertions and not quality:
        return None, []
    quality["assertions"] = assertions
    return quality, origins


def _named(assertion: Any, position: int, written_type: Any, taken: set[str]) -> Any:
    """``assertion`` with its name settled the way Odibi names tests: its ``name``, else the
    type as written (``range``, not the ``between`` it maps to); a name already used in the
    node gets ``_<position in its block>`` (0-based), so ``not_null`` and ``not_null_2``."""
    if not isinstance(assertion, dict):
        return assertion
    given = assertion.get("name")
    base = given if isinstance(given, str) and given else written_type
    if not isinstance(base, str) or not base:
        return assertion  # no usable type: the assertion's own validation reports it
    name, suffix = base, position
    while name in taken:
        name = f"{base}_{suffix}"
        suffix += 1
    taken.add(name)
    return {**assertion, "name": name}


def shape_problems(node: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Lists of assertions that are not lists. (Blocks that are not mappings, and
    ``contracts`` that is not a list, are errors of the node's own schema.)"""
    problems: list[tuple[tuple[Any, ...], str]] = []
    quality = node.get("quality")
    if isinstance(quality, dict) and not _is_list(quality.get("assertions")):
        problems.append((("quality", "assertions"), "quality.assertions must be a list"))
    validation = node.get("validation")
    if isinstance(validation, dict) and not _is_list(validation.get("tests")):
        problems.append((("validation", "tests"), "validation.tests must be a list"))
    return problems


def _is_list(value: Any) -> bool:
    return value is None or isinstance(value, list)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def block_origin(node: dict[str, Any], key: str) -> tuple[str, ...]:
    """Where the merged block's ``gate`` or ``quarantine`` was written: under ``quality`` or,
    when only there, under Odibi's ``validation``."""
    quality = node.get("quality")
    if isinstance(quality, dict) and key in quality:
        return ("quality", key)
    validation = node.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get(key), dict):
        return ("validation", key)
    return ("quality", key)


def _odibi_test(test: Any, default_on_fail: str) -> Any:
    if not isinstance(test, dict):
        return test
    out = {k: v for k, v in test.items() if k != "on_fail"}
    out["type"] = ODIBI_TYPES.get(str(test.get("type")), test.get("type"))
    out["severity"] = _ON_FAIL.get(str(test.get("on_fail", default_on_fail)), "error")
    return out
