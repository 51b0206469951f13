"""Row checks as SQL through the node's engine: counts of failing rows, the rows a gate or
quarantine drops, and the quarantined rows themselves, on pandas, polars and Spark alike.

Each row assertion type states once which rows fail it, as an SQL predicate
(``AssertionType.rule``). One query numbers the frame's rows and adds a flag per check; counts,
the kept rows and the rejected rows are selections from it, so every result is the engine's own
frame (lazy on Spark) and keeps the frame's row order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.engines.base import Engine

ROW = "__odibi_row"
_FLAG = "__odibi_fail_{}"
_MASK = "__odibi_mask_{}"


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines' SQL in the rules: quoting, literals, regexes."""

    engine: str
    quote: Callable[[str], str]

    @property
    def spark(self) -> bool:
        return self.engine == "spark"

    def literal(self, value: Any) -> str:
        """``value`` as an SQL literal (text compares with date and time columns on both
        DuckDB and Spark, so dates are given as ISO text)."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value} cannot be compared in SQL")
            return repr(value)
        if isinstance(value, datetime | date):
            value = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        text = str(value)
        if self.spark:  # Spark's literals unescape backslashes
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS STRING)"

    def struct(self, columns: list[str]) -> str:
        """The columns as one record value, each field named for its column."""
        if self.spark:
            fields = ", ".join(f"{self.literal(c)}, {self.quote(c)}" for c in columns)
            return f"named_struct({fields})"
        return (
            "struct_pack(" + ", ".join(f"{self.quote(c)} := {self.quote(c)}" for c in columns) + ")"
        )

    def matches(self, expr: str, pattern: str) -> str:
        """True where ``expr`` contains a match of ``pattern`` (``re.search``'s sense)."""
        if self.spark:
            return f"{expr} RLIKE {self.literal(pattern)}"
        return f"regexp_matches({expr}, {self.literal(pattern)})"


def typed_rows(engine: Engine, frame: Any) -> list[dict[str, Any]]:
    """A small result's rows with Arrow's types: instants zoned (Spark's own conversion to
    Python gives local wall times without a zone)."""
    if engine.name == "spark":
        return list(engine.native(frame).toArrow().to_pylist())
    return list(engine.to_arrow(frame).to_pylist())


def dialect(engine: Engine) -> Dialect:
    return Dialect(engine.name, engine.quote)


@dataclass
class RowCheck:
    """One row assertion as the queries use it: a predicate true for its failing rows, or
    (a third-party type with only a pandas mask) a boolean column added to the frame."""

    label: str
    columns: list[str]
    predicate: str | None = None
    mask: Callable[[Any], Any] | None = None


@dataclass
class RowRules:
    """The row checks of one node's output, evaluated through its engine."""

    engine: Engine
    frame: Any
    checks: list[RowCheck]
    _counts: dict[frozenset[str], int] = field(default_factory=dict)
    _rows: int | None = None
    _base: Any = None
    _columns: list[str] | None = None

    @property
    def dialect(self) -> Dialect:
        return dialect(self.engine)

    # ------------------------------------------------------------ counts

    def prefetch(self, groups: Iterable[Iterable[str]]) -> None:
        """Count the rows failing each check, and those failing any check of each group, in
        one pass, with the frame's row count."""
        wanted = [frozenset(g) for g in groups]
        wanted += [frozenset([c.label]) for c in self.checks]
        wanted = [g for g in dict.fromkeys(wanted) if g and g not in self._counts]
        parts = ["COUNT(*) AS n"]
        for i, group in enumerate(wanted):
            parts.append(f"SUM(CASE WHEN {self._any(group)} THEN 1 ELSE 0 END) AS g{i}")
        (row,) = self.engine.sample(self._query(f"SELECT {', '.join(parts)} FROM flagged"), 1)
        self._rows = int(row["n"])
        for i, group in enumerate(wanted):
            self._counts[group] = int(row[f"g{i}"] or 0)

    def aggregate(self, exprs: dict[str, str], probe: bool = False) -> dict[str, Any]:
        """``{name: SQL aggregate}`` over the flagged frame (``FAILS`` in an expression is the
        flag of the check named by the part of the name before ``/``), computed with the row
        count and every check's count in the same pass. Values come typed, through Arrow.
        ``probe``: only plan the query (an error in it is raised; nothing is counted)."""
        from odibi_quality.measures import FAILS

        labels = [c.label for c in self.checks]
        parts = ["COUNT(*) AS __odibi_n"]
        parts += [
            f"SUM(CASE WHEN {self.flag(lb)} THEN 1 ELSE 0 END) AS __odibi_c{i}"
            for i, lb in enumerate(labels)
        ]
        names = {}
        for i, (name, expr) in enumerate(exprs.items()):
            owner = name.partition("/")[0]
            if FAILS in expr:
                expr = expr.replace(FAILS, self.flag(owner))
            names[f"__odibi_m{i}"] = name
            parts.append(f"{expr} AS __odibi_m{i}")
        query = self._query(f"SELECT {', '.join(parts)} FROM flagged{' LIMIT 0' if probe else ''}")
        if probe:
            self.engine.schema(query)
            return {}
        (row,) = typed_rows(self.engine, query)
        self._rows = int(row["__odibi_n"])
        for i, label in enumerate(labels):
            self._counts[frozenset([label])] = int(row[f"__odibi_c{i}"] or 0)
        return {name: row[alias] for alias, name in names.items()}

    def examples(self, label: str, shown: str, predicate: str, n: int) -> list[Any]:
        """``shown`` for the first ``n`` rows (in the frame's order) where ``predicate`` holds
        (``FAILS``: check ``label``'s flag)."""
        from odibi_quality.measures import FAILS

        predicate = predicate.replace(FAILS, self.flag(label))
        query = self._query(
            f"SELECT {shown} AS v FROM flagged WHERE COALESCE(({predicate}), FALSE) "
            f"ORDER BY {ROW} LIMIT {int(n)}"
        )
        return [r["v"] for r in typed_rows(self.engine, query)]

    def failing(self, labels: Iterable[str]) -> int:
        """Rows failing at least one of the checks ``labels``."""
        group = frozenset(labels)
        if not group:
            return 0
        if group not in self._counts:
            self.prefetch([group])
        return self._counts[group]

    @property
    def rows(self) -> int:
        if self._rows is None:
            self.prefetch([])
        assert self._rows is not None
        return self._rows

    # ------------------------------------------------------------ rows

    def keep(self, dropped: Iterable[str]) -> Any:
        """The frame without the rows failing any of the checks ``dropped``, in its order."""
        cols = ", ".join(self.dialect.quote(c) for c in self.columns)
        where = self._any(frozenset(dropped))
        return self._query(f"SELECT {cols} FROM flagged WHERE NOT ({where}) ORDER BY {ROW}")

    def rejected(
        self,
        labels: list[str],
        extra: Callable[[RowRules, list[str]], list[str]],
        limit: int | None = None,
    ) -> Any:
        """The rows failing any of the checks ``labels`` (the first ``limit``), in the frame's
        order, with the columns ``extra(self, labels)`` adds (``<sql> AS <name>`` items)."""
        cols = [self.dialect.quote(c) for c in self.columns]
        where = self._any(frozenset(labels))
        select = ", ".join([*cols, *extra(self, labels)])
        first = f" LIMIT {int(limit)}" if limit is not None else ""
        return self._query(f"SELECT {select} FROM flagged WHERE {where} ORDER BY {ROW}{first}")

    def flag(self, label: str) -> str:
        """The column of ``flagged`` that is true where check ``label`` fails."""
        return _FLAG.format(self._index(label))

    @property
    def columns(self) -> list[str]:
        """The frame's own columns."""
        if self._columns is None:
            self._columns = [str(c) for c, _ in self.engine.schema(self.frame)]
        return self._columns

    # ------------------------------------------------------------ queries

    def _any(self, group: frozenset[str]) -> str:
        flags = [self.flag(label) for label in sorted(group)]
        return " OR ".join(flags) if flags else "FALSE"

    def _index(self, label: str) -> int:
        for i, check in enumerate(self.checks):
            if check.label == label:
                return i
        raise KeyError(label)

    def _query(self, select: str) -> Any:
        """``select`` over ``flagged``: the frame's rows numbered, with a flag per check."""
        pos = self.engine.row_position()
        flags = []
        for i, check in enumerate(self.checks):
            predicate = check.predicate if check.predicate is not None else _MASK.format(i)
            flags.append(f"COALESCE(({predicate}), FALSE) AS {_FLAG.format(i)}")
        query = (
            f"WITH numbered AS (SELECT *, {pos} AS {ROW} FROM df), "
            f"flagged AS (SELECT *, {', '.join(flags) or 'FALSE AS __odibi_none'} "
            f"FROM numbered) {select}"
        )
        return self.engine.sql(query, {"df": self._with_masks()})

    def _with_masks(self) -> Any:
        """The frame, plus a boolean column per check that only has a pandas mask."""
        if self._base is not None:
            return self._base
        masked = [(i, c) for i, c in enumerate(self.checks) if c.predicate is None]
        if not masked:
            self._base = self.frame
            return self._base
        import pyarrow as pa

        from odibi_core.engines.pandas_arrow import read_as_pandas

        table = self.engine.to_arrow(self.frame)
        pandas = read_as_pandas(table)
        for i, check in masked:
            assert check.mask is not None
            values = check.mask(pandas)
            values = values.fillna(False) if hasattr(values, "fillna") else values
            table = table.append_column(_MASK.format(i), pa.array(list(map(bool, values))))
        self._base = self.engine.from_arrow(table)
        return self._base
