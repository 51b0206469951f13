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
    #: Runs SQL over the frame (named ``df``) on the node's engine (for ``custom_sql``).
    sql: Callable[[str, Any], Any] | None = None
    #: Column → type name of the frame being checked.
    dtypes: dict[str, str] = field(default_factory=dict)
    #: ``rows_out`` of the node's last successful run, None without one (for the gate).
    previous_rows_out: Callable[[], int | None] = lambda: None
    #: Columns added for checks (``custom_sql``), which the frame itself does not have: a
    #: ``schema`` check must not count them.
    derived_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AssertionType:
    """An assertion type usable as ``{type: <name>, ...}`` in a ``quality`` block.

    ``expectations(params, ctx)`` returns the GX expectations that check it (their results are
    summed into one assertion result). ``failing_rows(frame, params, ctx)`` returns a boolean
    mask of the rows that violate it, which quarantine needs; types without it cannot use
    ``severity: quarantine``. ``columns(params)`` names the columns it reads (None: it needs the
    whole frame, e.g. a schema check).
    """

    name: str
    params_model: type[BaseModel]
    expectations: Callable[[Any, CheckContext], list[Any]]
    columns: Callable[[Any], list[str] | None]
    failing_rows: Callable[[Any, Any, CheckContext], Any] | None = None
    table_level: bool = False
    description: str = ""
    #: Columns computed before validation, ``{name: values}`` aligned with the frame, for
    #: checks GX cannot express directly (``custom_sql``); ``columns`` should name them.
    derive: Callable[[Any, Any, CheckContext], dict[str, Any]] | None = None
