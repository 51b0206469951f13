"""Turning a node's quality block into one GX suite, running it, and normalising the results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from odibi_quality.config import AssertionConfig, QualityConfig
from odibi_quality.results import ERROR, FAILED, PASSED, AssertionResult
from odibi_quality.types import AssertionType, CheckContext

if TYPE_CHECKING:
    from odibi_core.engines.base import Engine
    from odibi_quality.measures import Measured, Part
    from odibi_quality.rules import Dialect, RowCheck, RowRules


@dataclass
class Prepared:
    """An assertion with its validated params and its type."""

    index: int
    config: AssertionConfig
    kind: AssertionType
    params: Any

    @property
    def label(self) -> str:
        return self.config.label(self.index)


@dataclass
class Validation:
    suite_name: str
    results: list[AssertionResult] = field(default_factory=list)
    prepared: list[Prepared] = field(default_factory=list)
    #: GX's own result object (rendered into Data Docs), None when nothing ran in GX.
    raw: Any = None
    #: The row checks of the assertions that could run, over the frame validated.
    rules: Any = None
    #: What each expectation measured in SQL (for Data Docs): (assertion, part, measured,
    #: failing examples).
    measured: list[tuple[Prepared, Part, Measured, list[Any]]] = field(default_factory=list)


def prepare(quality: QualityConfig, types: dict[str, AssertionType]) -> list[Prepared]:
    out = []
    for i, assertion in enumerate(quality.assertions):
        kind = types[assertion.type]
        out.append(
            Prepared(i, assertion, kind, kind.params_model.model_validate(assertion.params()))
        )
    return out


def run(
    engine: Engine,
    frame: Any,
    quality: QualityConfig,
    types: dict[str, AssertionType],
    ctx: CheckContext,
    suite_name: str,
) -> Validation:
    """Validate ``frame`` (the engine's own): the types that say in SQL what they measure in
    one query through the engine, the others with GX (imported only for them)."""
    from odibi_quality.rules import RowRules, dialect

    prepared = prepare(quality, types)
    validation = Validation(suite_name, prepared=prepared)
    sql = dialect(engine)
    columns = [str(c) for c, _ in engine.schema(frame)]
    ctx.frame_columns, ctx.engine = columns, engine.name
    errored: dict[int, str] = {}
    for item in prepared:
        missing = _missing(item, sql, set(columns))
        if missing:
            errored[item.index] = f"no column {', '.join(missing)} in the frame"
    checks: dict[int, RowCheck] = {}
    for item in prepared:
        if item.index not in errored and item.kind.row_level:
            check = _row_check(item, sql, ctx)
            if check is not None:
                checks[item.index] = check
    parts: dict[int, list[Part]] = {}
    for item in prepared:
        if item.kind.measure is None or item.index in errored:
            continue
        try:
            parts[item.index] = _parts(item, sql, ctx)
        except Exception as exc:  # e.g. its history could not be read
            errored[item.index] = f"{type(exc).__name__}: {exc}"
    rules = RowRules(engine, frame, [c for i, c in checks.items() if i not in errored])
    try:
        values = rules.aggregate(_aggregates(prepared, parts, errored))
    except Exception:  # a condition the engine cannot run (custom_sql, types): which one?
        for item in prepared:
            if item.index in errored or (item.index not in parts and item.index not in checks):
                continue
            own = [checks[item.index]] if item.index in checks else []
            try:
                for check in own:  # its condition alone, for a message the user can read
                    if check.predicate is not None:
                        probe = (
                            f"SELECT COUNT(*) AS n FROM (SELECT ({check.predicate}) AS failing "
                            "FROM df) AS t WHERE failing"
                        )
                        engine.count(engine.sql(probe, {"df": frame}))
                RowRules(engine, frame, own).aggregate(_aggregates([item], parts, errored))
            except Exception as exc:
                errored[item.index] = f"{type(exc).__name__}: {exc}"
        rules = RowRules(engine, frame, [c for i, c in checks.items() if i not in errored])
        values = rules.aggregate(_aggregates(prepared, parts, errored))
    validation.rules = rules
    for item in prepared:
        if item.index in errored:
            validation.results.append(_errored(item, errored[item.index]))
        elif item.index in parts:
            validation.results.append(
                _measured(item, parts[item.index], values, rules, validation.measured)
            )
    gx_items = [p for p in prepared if p.kind.measure is None and p.index not in errored]
    if gx_items:
        _validate_with_gx(engine, frame, gx_items, ctx, validation)
    order = [p.label for p in prepared]
    validation.results.sort(key=lambda r: order.index(r.name))
    for item, result in zip(prepared, list(validation.results), strict=True):
        if item.kind.conclude is not None and item.index not in errored:
            item.kind.conclude(result, item.params, ctx, validation.results)
    return validation


def _missing(item: Prepared, sql: Dialect, columns: set[str]) -> list[str]:
    derived = set(item.kind.derive(item.params, sql)) if item.kind.derive else set()
    return [c for c in item.kind.columns(item.params) or [] if c not in derived | columns]


def _row_check(item: Prepared, sql: Dialect, ctx: CheckContext) -> RowCheck | None:
    """``item`` (a row check) as the row queries check it; None for a type told by a pandas
    mask on Spark (validate refuses a gate or quarantine of it)."""
    from odibi_quality.rules import RowCheck

    derived = set(item.kind.derive(item.params, sql)) if item.kind.derive else set()
    columns = [c for c in item.kind.columns(item.params) or [] if c not in derived]
    if item.kind.rule is not None:
        return RowCheck(item.label, columns, item.kind.rule(item.params, sql))
    if sql.spark:
        return None
    failing_rows = item.kind.failing_rows
    assert failing_rows is not None
    return RowCheck(item.label, columns, mask=lambda frame: failing_rows(frame, item.params, ctx))


def _parts(item: Prepared, sql: Dialect, ctx: CheckContext) -> list[Part]:
    assert item.kind.measure is not None
    parts: list[Part] = item.kind.measure(item.params, sql, ctx)
    for part in parts:
        if part.judge is None and item.config.mostly is not None:
            part.mostly = item.config.mostly
    return parts


def _aggregates(
    items: list[Prepared], parts: dict[int, list[Part]], errored: dict[int, str]
) -> dict[str, str]:
    """Every part's aggregates, named ``<label>/<part>/<name>`` (the label first: its flag)."""
    out = {}
    for item in items:
        if item.index in errored:
            continue
        for j, part in enumerate(parts.get(item.index, [])):
            for name, expr in part.aggregates.items():
                out[f"{item.label}/{j}/{name}"] = expr
    return out


def _measured(
    item: Prepared,
    parts: list[Part],
    values: dict[str, Any],
    rules: RowRules,
    sink: list[tuple[Prepared, Part, Measured, list[Any]]],
) -> AssertionResult:
    """One assertion result from its parts' measures, as :func:`_combine` makes one of GX's."""
    from odibi_quality.measures import EXAMPLES, judge_rows, plain

    out = AssertionResult(
        item.label,
        item.config.type,
        _columns(item),
        item.config.severity,
        PASSED,
        0,
        0,
        table_level=item.kind.table_level,
    )
    observed, present = [], 0
    for j, part in enumerate(parts):
        own = {k: values[f"{item.label}/{j}/{k}"] for k in part.aggregates}
        measured = part.judge(own) if part.judge is not None else judge_rows(part, own)
        out.expectation_types.append(part.expectation_type)
        if item.kind.table_level:
            out.element_count += 1
            out.violation_count += 0 if measured.success else 1
            observed.append(measured.observed_value)
        else:
            out.element_count += measured.element_count
            out.violation_count += measured.unexpected_count
            present += measured.present or 0
        examples: list[Any] = []
        if measured.unexpected_count and part.examples and len(out.failing_examples) < EXAMPLES:
            shown, predicate = part.examples
            examples = [plain(v) for v in rules.examples(item.label, shown, predicate, EXAMPLES)]
            out.failing_examples += examples
        sink.append((item, part, measured, examples))
        if not measured.success:
            out.status = FAILED
    if observed:
        out.observed_value = plain(observed[0] if len(observed) == 1 else observed)
    out.failing_examples = out.failing_examples[:EXAMPLES]
    if (
        out.status == PASSED
        and not item.kind.table_level
        and item.config.type != "not_null"
        and present == 0
    ):
        # A check with no value to look at passes; say so instead.
        out.status, out.severity = FAILED, "warn"
        out.message = "no non-null values to check"
    return out


def _validate_with_gx(
    engine: Engine, frame: Any, prepared: list[Prepared], ctx: CheckContext, validation: Validation
) -> None:
    """Results of the types that have only GX expectations (``expect``, third-party types)."""
    from odibi_quality import gx_runner
    from odibi_quality.rules import dialect

    gx_runner.require()
    needed: set[str] | None = set()
    derived: dict[str, str] = {}
    failed: set[int] = set()
    sql = dialect(engine)
    # Derived columns first, so every expectation (a schema check) knows they are extra.
    for item in prepared:
        cols = item.kind.columns(item.params)
        needed = None if cols is None or needed is None else needed | set(cols)
        if item.kind.derive is None:
            continue
        try:
            derived.update(item.kind.derive(item.params, sql))
        except Exception as exc:
            validation.results.append(_errored(item, f"{type(exc).__name__}: {exc}"))
            failed.add(item.index)
    ctx.derived_columns = list(derived)
    columns = [str(c) for c, _ in engine.schema(frame)]
    chosen = None if needed is None else [c for c in columns if c in needed]
    try:
        subset = _gx_frame(engine, frame, chosen, derived)
    except Exception:  # a derived column the engine cannot compute: which one?
        for item in prepared:
            if item.kind.derive is None or item.index in failed:
                continue
            own = item.kind.derive(item.params, sql)
            try:
                _gx_frame(engine, engine.sql("SELECT * FROM df LIMIT 0", {"df": frame}), [], own)
            except Exception as exc:
                validation.results.append(_errored(item, f"{type(exc).__name__}: {exc}"))
                failed.add(item.index)
                for name in own:
                    derived.pop(name, None)
        ctx.derived_columns = list(derived)
        subset = _gx_frame(engine, frame, chosen, derived)
    ctx.dtypes = _dtypes(engine, subset)
    expectations = []
    for item in prepared:
        if item.index in failed:
            continue
        assert item.kind.expectations is not None  # a type has it or a measure
        try:
            built = item.kind.expectations(item.params, ctx)
        except Exception as exc:  # e.g. an unknown GX expectation name: an error, not a crash
            validation.results.append(_errored(item, f"{type(exc).__name__}: {exc}"))
            failed.add(item.index)
            continue
        for exp in built:
            if item.config.mostly is not None and hasattr(exp, "mostly"):
                exp.mostly = item.config.mostly
            exp.meta = {"odibi_assertion": item.index}
            expectations.append(exp)
    by_index: dict[int, list[Any]] = {}
    if expectations:
        validation.raw = gx_runner.validate(
            subset, validation.suite_name, expectations, engine.name
        )
        for res in validation.raw.results:
            by_index.setdefault(res.expectation_config.meta["odibi_assertion"], []).append(res)
    for item in prepared:
        if item.index not in failed:
            result = _combine(item, by_index.get(item.index, []))
            if result.status == PASSED and _nothing_to_check(engine, subset, item):
                # GX passes a check of an empty or all-null column; say so instead.
                result.status, result.severity = FAILED, "warn"
                result.message = "no non-null values to check"
            validation.results.append(result)


def _gx_frame(
    engine: Engine, frame: Any, columns: list[str] | None, derived: dict[str, str]
) -> Any:
    """What GX validates: the columns checked (GX filters whole frames in its map metrics) and
    the derived ones, as a Spark DataFrame on Spark and a pandas one elsewhere."""
    if derived:
        from odibi_quality.rules import dialect

        q = dialect(engine).quote
        keep = [q(c) for c in columns] if columns is not None else ["*"]
        exprs = [f"{expr} AS {q(name)}" for name, expr in derived.items()]
        frame = engine.sql(f"SELECT {', '.join([*keep, *exprs])} FROM df", {"df": frame})
        columns = None
    native = engine.native(frame)
    if engine.name == "spark":
        return native.select(*columns) if columns is not None else native
    if engine.name == "pandas":
        return native[columns] if columns is not None else native
    from odibi_core.engines.pandas_arrow import read_as_pandas

    table = engine.to_arrow(frame)
    return read_as_pandas(table.select(columns) if columns is not None else table)


def _dtypes(engine: Engine, subset: Any) -> dict[str, str]:
    if engine.name == "spark":
        return {f.name: f.dataType.simpleString() for f in subset.schema.fields}
    return {str(c): str(t) for c, t in subset.dtypes.items()}


def _errored(item: Prepared, message: str) -> AssertionResult:
    return AssertionResult(
        item.label,
        item.config.type,
        _columns(item),
        item.config.severity,
        ERROR,
        0,
        0,
        message=message,
        table_level=item.kind.table_level,
    )


def _columns(item: Prepared) -> list[str]:
    return list(item.kind.columns(item.params) or [])


def _combine(item: Prepared, results: list[Any]) -> AssertionResult:
    """One assertion result from its expectations' results (several for several columns)."""
    out = AssertionResult(
        item.label,
        item.config.type,
        _columns(item),
        item.config.severity,
        PASSED,
        0,
        0,
        table_level=item.kind.table_level,
    )
    observed = []
    for res in results:
        out.expectation_types.append(res.expectation_config.type)
        error = _exception(res)
        if error:
            out.status = ERROR
            out.message = error
            continue
        detail = res.result or {}
        if item.kind.table_level:
            out.element_count += 1
            out.violation_count += 0 if res.success else 1
            observed.append(detail.get("observed_value"))
        else:
            out.element_count += int(detail.get("element_count") or 0)
            out.violation_count += int(detail.get("unexpected_count") or 0)
            out.failing_examples.extend(detail.get("partial_unexpected_list") or [])
        if not res.success and out.status != ERROR:
            out.status = FAILED
    if observed:
        out.observed_value = _jsonable(observed[0] if len(observed) == 1 else observed)
    out.failing_examples = [_jsonable(v) for v in out.failing_examples[:5]]
    return out


def _nothing_to_check(engine: Engine, subset: Any, item: Prepared) -> bool:
    """A row check whose columns hold no value at all (``not_null`` means to catch that)."""
    if item.kind.table_level or item.config.type == "not_null":
        return False
    columns = [c for c in _columns(item) if c in _dtypes(engine, subset)]
    if not columns:
        return False
    if engine.name == "spark":
        return bool(subset.select(*columns).dropna(how="all").limit(1).count() == 0)
    return not subset[columns].notna().to_numpy().any()


def _exception(res: Any) -> str | None:
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    # For metric errors GX nests the details under each metric id.
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)
