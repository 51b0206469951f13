"""What a transform is, and what it receives when it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from odibi_core.errors import NodeError, SQLError

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.engines.base import Engine

log = logging.getLogger("odibi.transforms")


@dataclass(frozen=True)
class Transform:
    """A named transform. ``func(ctx, df, **params)`` returns the new frame.

    ``engine`` is the engine it works on, or ``"any"`` when it only uses ``ctx.sql`` and so
    runs on every engine. With ``params_model`` the params are validated by ``odibi validate``
    and passed to ``func`` as the model's fields.
    """

    name: str
    func: Callable[..., Any]
    engine: str = "any"
    params_model: type[BaseModel] | None = None
    description: str = ""
    #: ``"pattern"`` for Odibi's dimensional patterns (``pattern: {type, params}``), which
    #: ``odibi list patterns`` shows apart from the other transformers.
    kind: str = "transformer"

    def __call__(self, ctx: TransformContext, df: Any, params: Mapping[str, Any]) -> Any:
        if self.params_model is not None:
            model = self.params_model.model_validate(dict(params))
            # Not dict(model): a field named like a dict method ("keys") would shadow it.
            values = {name: getattr(model, name) for name in type(model).model_fields}
        else:
            values = dict(params)
        if self.engine == "any":
            return self.func(ctx, df, **values)
        # Written for one engine's DataFrames: it gets one, and gives one back.
        engine = ctx.engine
        return engine.from_native(self.func(ctx, engine.native(df), **values))


def transform(
    name: str | None = None,
    *,
    engine: str = "any",
    params: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Transform]:
    """Decorator turning ``func(ctx, df, **params)`` into a :class:`Transform`."""

    def wrap(func: Callable[..., Any]) -> Transform:
        doc = (func.__doc__ or "").strip().splitlines()
        return Transform(name or func.__name__, func, engine, params, doc[0] if doc else "")

    return wrap


@dataclass
class TransformContext:
    """What a running transform can use besides its input frame."""

    engine: Engine
    node: NodeConfig
    tables: Mapping[str, Any] = field(default_factory=dict)
    executed_sql: list[str] = field(default_factory=list)
    #: Every node of the pipeline, to tell a missing dependency from a misspelt table.
    pipeline_nodes: Sequence[str] = ()
    #: The run's connections by name, for patterns that read back (or quarantine into) a table.
    connections: Mapping[str, Any] = field(default_factory=dict)

    def sql(self, query: str, df: Any) -> Any:
        """Run SQL with ``df`` and every dependency visible as tables."""
        self.executed_sql.append(query)
        log.debug("node %s: SQL %s", self.node.name, " ".join(query.split()))
        try:
            return self.engine.sql(query, {**self.tables, "df": df}, node=self.node.name)
        except SQLError as exc:
            other = self._other_node(exc.missing_table)
            if other is not None:
                exc.add_hint(f"did you mean to add '{other}' to depends_on?")
            raise

    def _other_node(self, table: str | None) -> str | None:
        """The pipeline's node ``table`` names (SQL names ignore case), if it is not this
        node and not already a dependency."""
        if not table:
            return None
        found = [n for n in self.pipeline_nodes if n.lower() == table.lower()]
        name = found[0] if found else None
        return name if name and name != self.node.name and name not in self.tables else None

    def table(self, name: str) -> Any:
        """A dependency's output by node name."""
        if name not in self.tables:
            known = ", ".join(sorted(self.tables)) or "none"
            raise NodeError(
                f"'{name}' is not a dependency of this node (add it to depends_on; have: {known})",
                node=self.node.name,
            )
        return self.tables[name]

    def quote(self, identifier: str) -> str:
        return self.engine.quote(identifier)

    def row_position(self) -> str:
        return self.engine.row_position()
