"""Project-wide checks pydantic cannot do alone: names that refer to other things.

They run on the raw (substituted) data even when model validation failed, so one
``odibi validate`` reports every problem at once.
"""

from __future__ import annotations

import graphlib
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from odibi_core.config.errors import describe, did_you_mean, pydantic_issues
from odibi_core.config.models import ReadConfig, WriteConfig, input_reference
from odibi_core.config.source_map import SourceMap
from odibi_core.errors import ConfigIssue
from odibi_core.patterns import GENERATORS, PATTERN_TYPES
from odibi_core.runner import node_sql
from odibi_core.transforms import operations

if TYPE_CHECKING:
    from odibi_core.plugin_manager import Registry


def check_project(
    data: dict[str, Any], source_map: SourceMap, registry: Registry, hook: Any = None
) -> list[ConfigIssue]:
    """Every reference problem in the raw project; ``hook`` (the plugin manager's) lets
    plugins check the node keys they own."""
    checker = _Checker(data, source_map, registry, hook)
    checker.run()
    return checker.issues


class _Checker:
    def __init__(
        self, data: dict[str, Any], source_map: SourceMap, registry: Registry, hook: Any = None
    ):
        self.data = data
        self.map = source_map
        self.registry = registry
        self.hook = hook
        self.issues: list[ConfigIssue] = []
        conns = data.get("connections")
        self.connections: dict[str, Any] = conns if isinstance(conns, dict) else {}
        engine = data.get("engine", "pandas")
        self.engine = engine if isinstance(engine, str) else "pandas"
        #: pipeline → its node names, for ``$pipeline.node`` inputs.
        self.pipelines: dict[str, list[str]] = {}

    def add(self, message: str, path: tuple[Any, ...]) -> None:
        mark = self.map.at_path(self.data, path)
        self.issues.append(ConfigIssue.at(message, mark))

    def run(self) -> None:
        if self.engine not in self.registry.engines:
            known = sorted(self.registry.engines)
            self.add(
                f"unknown engine '{self.engine}'; installed: {', '.join(known)}"
                + did_you_mean(self.engine, known),
                ("engine",),
            )
        performance = self.data.get("performance")
        spark_config = isinstance(performance, dict) and performance.get("spark_config")
        if spark_config and self.engine != "spark":
            self.add(
                f"performance.spark_config applies to engine spark, not '{self.engine}'",
                ("performance", "spark_config"),
            )
        for name, conn in self.connections.items():
            self.check_connection(name, conn)
        for section in ("story", "system"):
            block = self.data.get(section)
            if isinstance(block, dict) and block.get("connection") is not None:
                self.check_connection_ref(block["connection"], (section, "connection"))
                self.check_stores_files(block["connection"], (section, "connection"))
        pipelines = self.data.get("pipelines")
        if isinstance(pipelines, list):
            self.pipelines = _node_names(pipelines)
            seen: set[Any] = set()
            for i, pipeline in enumerate(pipelines):
                if not isinstance(pipeline, dict):
                    continue
                p_name = pipeline.get("pipeline")
                if isinstance(p_name, str):  # other types are reported by the model
                    if p_name in seen:
                        self.add(
                            f"duplicate pipeline name '{p_name}'", ("pipelines", i, "pipeline")
                        )
                    seen.add(p_name)
                self.check_pipeline(pipeline, ("pipelines", i))

    def check_connection(self, name: str, conn: Any) -> None:
        path = ("connections", name)
        if not isinstance(conn, dict):
            self.add(f"connection '{name}' must be a mapping with a 'type'", path)
            return
        kind = conn.get("type")
        if not isinstance(kind, str):
            return  # reported by the model ('type' is a required string)
        cls = self.registry.connection_types.get(kind)
        if cls is None:
            known = sorted(self.registry.connection_types)
            self.add(
                f"connection '{name}': unknown type '{kind}'; installed: {', '.join(known)}"
                + did_you_mean(kind, known),
                (*path, "type"),
            )
            return
        fields = {k: v for k, v in conn.items() if k != "type"}
        try:
            config = cls.config_model.model_validate(fields)
        except ValidationError as exc:
            self.issues.extend(pydantic_issues(exc, cls.config_model, self.data, self.map, path))
            return
        engine = self.registry.engines.get(self.engine)
        in_process = engine is not None and getattr(engine, "read_formats", None) is None
        problem = getattr(cls, "engine_problem", None)
        message = problem(config, self.engine, in_process) if problem else None
        if message:
            self.add(f"connection '{name}': {message}", path)

    def check_format_fits(self, block: str, spec: dict[str, Any], path: tuple[Any, ...]) -> None:
        """A file format on a database connection, or ``format: sql`` on files, is refused."""
        fmt = self.registry.formats.get(str(spec.get("format", "")).lower())
        name = spec.get("connection")
        conn = self.connections.get(name) if isinstance(name, str) else None
        kind = conn.get("type") if isinstance(conn, dict) else None
        cls = self.registry.connection_types.get(kind) if isinstance(kind, str) else None
        if fmt is None or cls is None:
            return
        stores = getattr(cls, "stores", "files")
        if getattr(fmt, "stores", "files") != stores:
            hint = "format: sql" if stores == "tables" else "a file format (csv, parquet …)"
            self.add(
                f"{describe(self.data, path)}: format '{fmt.name}' {block}s {fmt.stores}, but "
                f"connection '{name}' ({kind}) holds {stores}: use {hint}",
                path,
            )

    def check_stores_files(self, name: Any, path: tuple[Any, ...]) -> None:
        """Stories and the catalog are files: a database connection cannot hold them."""
        conn = self.connections.get(name) if isinstance(name, str) else None
        kind = conn.get("type") if isinstance(conn, dict) else None
        cls = self.registry.connection_types.get(kind) if isinstance(kind, str) else None
        if cls is not None and getattr(cls, "stores", "files") != "files":
            self.add(
                f"{describe(self.data, path)}: connection '{name}' ({kind}) holds "
                f"{cls.stores}, not files; give a connection that stores files (local, "
                "azure_adls)",
                path,
            )

    def check_connection_ref(self, name: Any, path: tuple[Any, ...]) -> None:
        if isinstance(name, str) and name not in self.connections:
            known = sorted(self.connections)
            self.add(
                f"{describe(self.data, path)}: unknown connection '{name}'"
                + (f"; defined: {', '.join(known)}" if known else "; no connections are defined")
                + did_you_mean(name, known),
                path,
            )

    def check_pipeline(self, pipeline: dict[str, Any], path: tuple[Any, ...]) -> None:
        nodes = pipeline.get("nodes")
        if not isinstance(nodes, list):
            return
        names: dict[str, int] = {}
        for j, node in enumerate(nodes):
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                if node["name"] in names:
                    self.add(
                        f"duplicate node name '{node['name']}' in pipeline "
                        f"'{pipeline.get('pipeline')}'",
                        (*path, "nodes", j, "name"),
                    )
                names.setdefault(node["name"], j)
        graph: dict[str, list[str]] = {}
        for j, node in enumerate(nodes):
            if isinstance(node, dict):
                where = (*path, "nodes", j)
                graph[str(node.get("name"))] = [
                    *self.check_node(node, where, names),
                    *self.check_references(pipeline.get("pipeline"), node, where),
                ]
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            first = names.get(cycle[0], 0)
            self.add(
                f"dependency cycle in pipeline '{pipeline.get('pipeline')}': " + " -> ".join(cycle),
                (*path, "nodes", first, "depends_on"),
            )

    def check_node(
        self, node: dict[str, Any], path: tuple[Any, ...], names: dict[str, int]
    ) -> list[str]:
        deps = node.get("depends_on") or []
        if isinstance(deps, str):
            deps = [deps]
        valid: list[str] = []
        for k, dep in enumerate(deps if isinstance(deps, list) else []):
            if not isinstance(dep, str):
                continue  # reported by the model (depends_on is a list of names)
            if dep in names:
                valid.append(dep)
            else:
                self.add(
                    f"node '{node.get('name')}' depends on unknown node '{dep}'"
                    + did_you_mean(dep, names),
                    (*path, "depends_on", k),
                )
        for block in ("read", "write"):
            spec = node.get(block)
            if isinstance(spec, dict):
                self.check_io(block, spec, (*path, block))
        inputs = node.get("inputs")
        for name, spec in (inputs if isinstance(inputs, dict) else {}).items():
            if isinstance(spec, dict):
                self.check_io("read", spec, (*path, "inputs", name))
        pattern = node.get("pattern")
        if isinstance(pattern, dict) and isinstance(pattern.get("type"), str):
            self.check_pattern(pattern, (*path, "pattern"))
        generator = _pattern_type(node) in GENERATORS
        sourced = node.get("read") or node.get("inputs") or deps
        if not sourced and not _only_sql_steps(node) and not generator:
            self.add(
                f"node '{node.get('name')}' has no input: give it 'read', 'depends_on' "
                "or a SQL step",
                path,
            )
        transformer = node.get("transformer")
        if isinstance(transformer, str):
            self.check_transform(
                transformer, node.get("params") or {}, (*path, "transformer"), (*path, "params")
            )
        transform = node.get("transform")
        steps = transform.get("steps") if isinstance(transform, dict) else None
        registry = self.registry
        transforms = registry.transform_names(self.engine) + registry.transform_names("any")
        for k, step in enumerate(steps if isinstance(steps, list) else []):
            op = step.get("operation") if isinstance(step, dict) else None
            if isinstance(op, str) and op not in operations.NAMES and op not in transforms:
                self.add(
                    f"unknown operation '{op}' (pandas' {', '.join(sorted(operations.NAMES))}, "
                    "or a transformer)" + did_you_mean(op, [*operations.NAMES, *transforms]),
                    (*path, "transform", "steps", k, "operation"),
                )
            elif isinstance(op, str) and op not in operations.NAMES:  # a transformer
                self.check_transform(
                    op,
                    step.get("params") or {},
                    (*path, "transform", "steps", k, "operation"),
                    (*path, "transform", "steps", k, "params"),
                )
            if isinstance(step, dict) and isinstance(step.get("function"), str):
                self.check_transform(
                    step["function"],
                    step.get("params") or {},
                    (*path, "transform", "steps", k, "function"),
                    (*path, "transform", "steps", k, "params"),
                )
        for rel_path, message in node_sql.problems(
            node, self.registry.engines.get(self.engine), self.connections, registry
        ):
            self.add(f"node '{node.get('name')}': {message}", (*path, *rel_path))
        if self.hook is not None:
            for problems in self.hook.odibi_validate_node(
                node=node, engine=self.engine, registry=self.registry
            ):
                for rel_path, message in problems or []:
                    self.add(f"node '{node.get('name')}': {message}", (*path, *rel_path))
        return valid

    def check_io(self, block: str, spec: dict[str, Any], path: tuple[Any, ...]) -> None:
        """A read or write block: its connection, format and options."""
        engine = self.registry.engines.get(self.engine)
        if "connection" in spec:
            self.check_connection_ref(spec["connection"], (*path, "connection"))
        formats = self.formats(engine, block)
        fmt = spec.get("format")
        if formats and isinstance(fmt, str) and fmt.lower() not in formats:
            self.add(
                f"{block}.format '{fmt}' is not supported by the {self.engine} engine "
                f"({', '.join(sorted(formats))})" + did_you_mean(fmt, formats),
                (*path, "format"),
            )
        else:
            self.check_connection_type(block, spec, path)
            if engine is not None and isinstance(fmt, str) and spec.get("options"):
                self.check_options(engine, block, spec, path)
        self.check_format_fits(block, spec, (*path, "format"))

    def check_references(
        self, pipeline: Any, node: dict[str, Any], path: tuple[Any, ...]
    ) -> list[str]:
        """``$pipeline.node`` inputs name a pipeline of the project and one of its nodes;
        returns the nodes of ``pipeline`` they name (dependencies, for the cycle check)."""
        inputs = node.get("inputs")
        same: list[str] = []
        for name, source in (inputs if isinstance(inputs, dict) else {}).items():
            ref = input_reference(source)
            if ref is None:
                continue  # not a reference, or a malformed one the model reports
            where = (*path, "inputs", name)
            nodes = self.pipelines.get(ref[0])
            if nodes is None:
                known = sorted(self.pipelines)
                self.add(
                    f"{describe(self.data, path)}: input '{name}' names unknown pipeline "
                    f"'{ref[0]}' (pipelines: {', '.join(known) or 'none'})"
                    + did_you_mean(ref[0], known),
                    where,
                )
            elif ref[1] not in nodes:
                self.add(
                    f"{describe(self.data, path)}: input '{name}' names unknown node '{ref[1]}' "
                    f"of pipeline '{ref[0]}'" + did_you_mean(ref[1], nodes),
                    where,
                )
            elif ref[0] == pipeline:
                same.append(ref[1])
        return same

    def formats(self, engine: Any, block: str) -> frozenset[str]:
        """The formats ``block`` may name on ``engine``: its own, or the IO layer's."""
        if engine is None:
            return frozenset()
        own = getattr(engine, f"{block}_formats", None)
        if own is not None:
            return frozenset(own)
        can = "reads" if block == "read" else "writes"
        return frozenset(n for n, f in self.registry.formats.items() if getattr(f, can, True))

    def check_connection_type(
        self, block: str, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> None:
        """A format that reads through one kind of connection (``api``: ``http``), and a
        connection that holds one format only (``type: delta``)."""
        fmt = spec.get("format")
        owner = self.registry.formats.get(fmt.lower()) if isinstance(fmt, str) else None
        wanted = getattr(owner, "connection_types", None)
        name = spec.get("connection")
        conn = self.connections.get(name) if isinstance(name, str) else None
        kind = conn.get("type") if isinstance(conn, dict) else None
        if wanted and isinstance(kind, str) and kind not in wanted:
            self.add(
                f"{describe(self.data, (*path, 'connection'))}: format '{fmt}' needs a connection "
                f"of type {' or '.join(sorted(wanted))}; '{spec['connection']}' is type {kind}",
                (*path, "connection"),
            )
        cls = self.registry.connection_types.get(kind) if isinstance(kind, str) else None
        holds = getattr(cls, "formats", None)
        if holds and isinstance(fmt, str) and fmt.lower() not in holds:
            self.add(
                f"{describe(self.data, (*path, 'format'))}: connection '{name}' (type {kind}) "
                f"holds {' or '.join(sorted(holds))} tables only, not {fmt}",
                (*path, "format"),
            )

    def check_options(
        self, engine: Any, block: str, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> None:
        options = spec.get("options")
        if not isinstance(options, dict):
            return  # reported by the model
        # Only names the model takes as text (null or a date as a key is reported by it).
        named = {k: v for k, v in options.items() if isinstance(k, str | int | float)}
        named = {k: v for k, v in named.items() if not isinstance(k, bool)}
        keys = _BLOCK_KEYS[block]
        owner = engine
        if getattr(engine, f"{block}_formats", None) is None:  # the IO layer's formats
            owner = self.registry.formats.get(str(spec.get("format", "")).lower())
        problems = owner.option_problems(block, {**spec, "options": named}) if owner else []
        for name, message in problems:
            if name in keys:
                message += f" ('{name}' is a key of {block} itself: move it out of options)"
            self.add(
                f"{describe(self.data, (*path, 'options'))}: {message}", (*path, "options", name)
            )

    def check_pattern(self, pattern: dict[str, Any], path: tuple[Any, ...]) -> None:
        kind = pattern["type"]
        if kind not in PATTERN_TYPES:
            self.add(
                f"unknown pattern type '{kind}' ({', '.join(PATTERN_TYPES)})"
                + did_you_mean(kind, PATTERN_TYPES),
                (*path, "type"),
            )
            return
        self.check_transform(kind, pattern.get("params") or {}, (*path, "type"), (*path, "params"))

    def check_transform(
        self, name: str, params: Any, name_path: tuple[Any, ...], params_path: tuple[Any, ...]
    ) -> None:
        found = self.registry.transform(name, self.engine) or self.registry.transform(name, "any")
        if found is None:
            engines = sorted(e for n, e in self.registry.transforms if n == name)
            if engines:
                self.add(
                    f"transform '{name}' is not available on the {self.engine} engine "
                    f"(only on: {', '.join(engines)})",
                    name_path,
                )
                return
            known = self.registry.transform_names()
            self.add(
                f"unknown transform '{name}'"
                + did_you_mean(name, known)
                + " (see `odibi plugins` for installed transforms)",
                name_path,
            )
            return
        if found.params_model is not None and isinstance(params, dict):
            try:
                # The engine, for params that mean something on one engine only.
                found.params_model.model_validate(params, context={"engine": self.engine})
            except ValidationError as exc:
                self.issues.extend(
                    pydantic_issues(exc, found.params_model, self.data, self.map, params_path)
                )


_BLOCK_KEYS = {
    "read": frozenset(ReadConfig.model_fields),
    "write": frozenset(WriteConfig.model_fields),
}


def _node_names(pipelines: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pipeline in pipelines:
        nodes = pipeline.get("nodes") if isinstance(pipeline, dict) else None
        if isinstance(pipeline, dict) and isinstance(pipeline.get("pipeline"), str):
            found[pipeline["pipeline"]] = [
                n["name"]
                for n in (nodes if isinstance(nodes, list) else [])
                if isinstance(n, dict) and isinstance(n.get("name"), str)
            ]
    return found


def _pattern_type(node: dict[str, Any]) -> Any:
    pattern = node.get("pattern")
    return pattern.get("type") if isinstance(pattern, dict) else node.get("transformer")


def _only_sql_steps(node: dict[str, Any]) -> bool:
    """A node may start from SQL alone (``SELECT 1 AS x``): its first step makes the frame."""
    transform = node.get("transform")
    steps = transform.get("steps") if isinstance(transform, dict) else None
    if not isinstance(steps, list) or not steps or node.get("transformer"):
        return False
    first = steps[0]
    return isinstance(first, str) or (
        isinstance(first, dict) and bool(first.get("sql") or first.get("sql_file"))
    )
