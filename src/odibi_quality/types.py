"""What an assertion type is. Built-in and third-party types register the same way, through
the ``odibi_register_assertion_types`` hook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel


@dataclass
class CheckContext:
    """What an assertion may need beyond its params."""

    pipeline: str
    node: str
    now: datetime
    #: Column names the node declares under ``columns:`` (for ``schema``).
    declared_columns: list[str] = field(default_factory=list)
    #: ``rows_out`` of the node's recent successful runs, newest first (for ``volume_drop``).
    history: Callable[[int], list[int]] = lambda days: []
    #: Runs SQL over the frame (named ``df``) on the node's engine.
    sql: Callable[[str, Any], Any] | None = None
    #: Column → type name of the frame GX validates (pandas dtypes, or Spark type names).
    dtypes: dict[str, str] = field(default_factory=dict)
    #: ``rows_out`` of the node's last successful run, None without one (for the gate).
    previous_rows_out: Callable[[], int | None] = lambda: None
    #: Columns added for checks (``custom_sql``), which the frame itself does not have: a
    #: ``schema`` check must not count them.
    derived_columns: list[str] = field(default_factory=list)
    #: The frame's own columns, in order (for ``schema`` measured without GX).
    frame_columns: list[str] = field(default_factory=list)
    #: The engine's name (``pandas``, ``polars``, ``spark``).
    engine: str = "pandas"
    #: The run's System Catalog (``odibi_core.catalog.manager.Catalog``), for checks that learn
    #: from the node's history (``anomaly``); None outside a run.
    catalog: Any = None


@dataclass(frozen=True)
class AssertionType:
    """An assertion type usable as ``{type: <name>, ...}`` in a ``quality`` block.

    ``expectations(params, ctx)`` returns the GX expectations that check it (their results are
    summed into one assertion result). ``columns(params)`` names the columns it reads (None:
    it needs the whole frame, e.g. a schema check).

    A row check says which rows fail it with ``rule(params, dialect)``: an SQL boolean
    expression over the frame's columns, true for failing rows (NULL counts as passing),
    written with :class:`odibi_quality.rules.Dialect`'s quoting and literals so it runs on
    every engine; gates and quarantine follow from it. A type that cannot say it in SQL may
    give ``failing_rows(frame, params, ctx)`` instead, a boolean mask over a pandas copy of
    the frame (not on Spark). A type with neither cannot use ``severity: quarantine``.

    ``measure(params, dialect, ctx)`` says in SQL what its expectations measure and how GX
    would judge it (:mod:`odibi_quality.measures`): a node whose types all have it is checked
    by one query through its engine, without importing GX. GX then runs only for the types
    without it, and renders suites and Data Docs from the measured results when asked.
    """

    name: str
    params_model: type[BaseModel]
    expectations: Callable[[Any, CheckContext], list[Any]] | None
    columns: Callable[[Any], list[str] | None]
    failing_rows: Callable[[Any, Any, CheckContext], Any] | None = None
    table_level: bool = False
    description: str = ""
    #: Columns computed before validation for checks GX cannot express directly
    #: (``custom_sql``): ``{name: SQL expression}``, run through the engine; ``columns``
    #: should name them.
    derive: Callable[[Any, Any], dict[str, str]] | None = None
    rule: Callable[[Any, Any], str] | None = None
    #: ``conclude(result, params, ctx, results)``: called once every assertion of the node has
    #: its result (``results``, this one included), to give this one its final status,
    #: observed value and message (``anomaly``: the verdict against the learned range).
    conclude: Callable[[Any, Any, CheckContext, list[Any]], Any] | None = None
    measure: Callable[[Any, Any, CheckContext], list[Any]] | None = None

    def __post_init__(self) -> None:
        if self.expectations is None and self.measure is None:
            raise ValueError(f"assertion type '{self.name}' needs 'expectations' or 'measure'")

    @property
    def row_level(self) -> bool:
        """Whether the rows failing it can be told (by ``rule`` or ``failing_rows``)."""
        return self.rule is not None or self.failing_rows is not None
