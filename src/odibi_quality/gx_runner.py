"""Running one ExpectationSuite on an in-memory frame with Great Expectations, cheaply.

GX is imported here only, for the assertion types without an SQL measure (``expect``, plugin
types) and for Data Docs. One ephemeral context and one whole-frame batch definition serve
the whole process. Costs GX adds by default that are cut:

* it fingerprints the entire frame (an md5 over a hash of every row) for each batch, only to
  put the digest in the result's metadata;
* richer result formats build row-index lists;
* ``Batch.validate`` loads the frame as a batch twice (once for the ``Batch``, once more for the
  validator it creates); the validator GX itself uses for ``ValidationDefinition.run`` is given
  the batch parameters instead, so it is loaded once;
* every metric GX plans gets an id: an md5 of its arguments converted to JSON by a general
  converter that tries ~20 type checks (four of them numpy ``issubdtype``) before it recognises
  ``None``, which most metric arguments are. Plain JSON values skip that (``_json_ready``).

The private names these rely on are pinned by tests/quality, so a GX upgrade that moves them
fails loudly instead of silently getting slower or wrong.

GX's import is most of a checked run's fixed cost, so it is trimmed and moved off the
critical path (:func:`import_gx`, :func:`start_background_import`): a pipeline with checks
starts importing GX in a thread when the run begins, while data loads.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import logging
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

log = logging.getLogger("odibi.quality")
_lock = threading.Lock()
_batch_definition: Any = None
_spark_batch_definition: Any = None
_context: Any = None

#: Enough detail for counts and a few failing values, without per-row index lists.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}

#: Integrations GX imports when they are installed, each through a guarded import in its
#: ``compatibility`` package, and that validating in-memory frames never uses (SQL, cloud
#: stores, warehouses). Hidden from GX's import (never from the rest of the process) they
#: cost nothing; GX then treats them as not installed. pyspark is hidden too unless the
#: process already has it: a later Spark run re-imports GX with it (:func:`import_gx`).
UNUSED_INTEGRATIONS = (
    "sqlalchemy",
    "azure",
    "google",
    "boto3",
    "botocore",
    "snowflake",
    "databricks",
    "trino",
    "pyodbc",
    "psycopg2",
    "sqlalchemy_bigquery",
)
SPARK_PACKAGES = ("pyspark", "py4j")
#: Imported by GX at module level but only used inside functions Odibi does not call
#: (charts of a few renderers, KL divergence): loaded on first use instead.
LAZY_MODULES = ("altair", "scipy.stats")

_import_lock = threading.Lock()
_gx_has_spark: bool | None = None  # None: GX not imported yet by import_gx
_background: threading.Thread | None = None


class _HideFromThread(importlib.abc.MetaPathFinder):
    """Makes packages look missing to imports made by one thread."""

    def __init__(self, packages: set[str], thread: int):
        self.packages, self.thread = packages, thread

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if threading.get_ident() == self.thread and name.partition(".")[0] in self.packages:
            raise ImportError(f"{name} is hidden from Great Expectations' import by Odibi")
        return None


def import_gx() -> None:
    """Import Great Expectations once per process, trimmed (see ``UNUSED_INTEGRATIONS``
    and ``LAZY_MODULES``). Safe from several threads: later callers wait for the first.

    A process that imported GX before it had pyspark (a pandas run, then a Spark one)
    forgets that import here, before the Spark run builds any expectation, and imports GX
    again with Spark."""
    global _gx_has_spark
    with _import_lock:
        if _gx_has_spark or (_gx_has_spark is False and "pyspark" not in sys.modules):
            return
        if _gx_has_spark is False:
            _forget_gx()
        elif "great_expectations" in sys.modules:  # imported by someone else: as it is
            _gx_has_spark = _spark_compat_ok()
            if _gx_has_spark or "pyspark" not in sys.modules:
                return
            _forget_gx()
        hidden = {p for p in UNUSED_INTEGRATIONS if p not in sys.modules}
        with_spark = "pyspark" in sys.modules
        if with_spark:
            hidden.discard("google")  # protobuf: GX's import reaches Spark Connect's modules
        else:
            hidden |= set(SPARK_PACKAGES)
        for name in LAZY_MODULES:
            _import_lazily(name)
        finder = _HideFromThread(hidden, threading.get_ident())
        sys.meta_path.insert(0, finder)
        try:
            import great_expectations  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
        _gx_has_spark = with_spark


def _forget_gx() -> None:
    global _batch_definition, _spark_batch_definition, _context

    log.debug("re-importing Great Expectations with pyspark")
    for name in [m for m in sys.modules if m.partition(".")[0] == "great_expectations"]:
        del sys.modules[name]
    _batch_definition = _spark_batch_definition = _context = None
    # pydantic v1 remembers every validator's qualified name to refuse a second definition
    # (meant for notebooks); GX's models are defined again on purpose. Pinned by tests/quality.
    from pydantic.v1 import class_validators

    class_validators._FUNCS -= {
        name
        for name in class_validators._FUNCS
        if name.startswith(("great_expectations.", "odibi_quality."))
    }


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is first read,
    then imports the real module, puts it in ``sys.modules`` and answers from it.
    (``importlib.util.LazyLoader`` cannot serve: the import statement itself reads the
    module's ``__spec__``, which loads it.)"""

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__.get("_odibi_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__["_odibi_real"] = real
        return getattr(real, attr)


def _import_lazily(name: str) -> None:
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return
    if spec is not None:
        stub = _Deferred(name)
        # The real spec, so that find_spec() still answers; the import statement reads it
        # from the stub's own attributes, which loads nothing.
        stub.__spec__ = spec
        sys.modules[name] = stub


def _spark_compat_ok() -> bool:
    from great_expectations.compatibility import pyspark as compat
    from great_expectations.compatibility.not_imported import NotImported

    return not isinstance(compat.pyspark, NotImported)


def start_background_import() -> None:
    """Begin importing GX (and making its context) in a daemon thread, once per process, so
    the first node with checks finds it ready. Errors are left for the node to meet."""
    global _background
    with _import_lock:
        if _background is not None or _gx_has_spark is not None:
            return
        _background = threading.Thread(target=_warm, name="odibi-gx-import", daemon=True)
    _background.start()


def _warm() -> None:
    try:
        import_gx()
        with _lock:
            _definition()
        # What the run's Data Docs will need at its end.
        import great_expectations.render.renderer
        import great_expectations.render.view  # noqa: F401
    except Exception:  # missing GX, or a broken install: the node reports it
        log.debug("background import of Great Expectations failed", exc_info=True)


def _definition() -> Any:
    global _batch_definition, _context
    if _batch_definition is None:
        import_gx()
        import great_expectations as gx
        from great_expectations.core import id_dict
        from great_expectations.execution_engine import pandas_execution_engine
        from great_expectations.expectations import expectation as gx_expectation

        # The fingerprint is skipped for frames above this many bytes; 0 skips it always.
        # A private constant: tests/quality pin that it still exists.
        pandas_execution_engine.HASH_THRESHOLD = 0
        # Validation rebuilds each expectation's configuration hundreds of times, converting
        # the class name with regular expressions every time; the answer never changes.
        gx_expectation.camel_to_snake = functools.lru_cache(maxsize=1024)(
            gx_expectation.camel_to_snake
        )
        # Metric ids: the same JSON, sooner, for plain values (see the module docstring).
        id_dict.convert_to_json_serializable = _json_ready(  # type: ignore[assignment]
            id_dict.convert_to_json_serializable
        )
        # GX logs a warning for every expectation class registered twice (ours are deliberate)
        # and one module sets itself to INFO, which would reach the CLI's log handler.
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.ERROR)
        context = _context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
        _batch_definition = (
            context.data_sources.add_pandas("odibi")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
    return _batch_definition


def _spark_definition() -> Any:
    """The whole-dataframe batch definition for Spark DataFrames, beside the pandas one."""
    global _spark_batch_definition
    if _spark_batch_definition is None:
        _definition()  # the context, with the patches above
        _spark_batch_definition = (
            _context.data_sources.add_spark("odibi_spark")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
    return _spark_batch_definition


def _json_ready(general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``general`` (GX's ``convert_to_json_serializable``) with a fast path giving the same
    answer for ``None``, ``str``, ``int``, ``bool`` and plain dicts, lists and tuples of them."""

    def convert(data: Any) -> Any:
        kind = type(data)
        if data is None or kind is str or kind is int or kind is bool:
            return data
        if kind is dict:
            return {str(key): convert(value) for key, value in data.items()}
        if kind is list or kind is tuple:
            return [convert(value) for value in data]
        return general(data)

    convert.__wrapped__ = general  # type: ignore[attr-defined]
    return convert


def require() -> None:
    """Fail the node with an install hint when Great Expectations is missing."""
    try:
        import_gx()
    except ImportError:
        from odibi_core.errors import NodeError

        raise NodeError(
            "quality checks need Great Expectations: pip install 'odibi[quality]'"
        ) from None


def validate(frame: Any, suite_name: str, expectations: list[Any], engine: str) -> Any:
    """The ExpectationSuiteValidationResult of ``expectations`` on ``frame`` (a Spark
    DataFrame when ``engine`` is ``spark``, else a pandas one); its ``results`` come in no
    particular order (match them by ``expectation_config.meta``)."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    with _lock:  # the context is shared; nodes may validate concurrently with --parallel
        suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
        validator = Validator(
            batch_definition=_spark_definition() if engine == "spark" else _definition(),
            batch_parameters={"dataframe": frame},
            result_format=RESULT_FORMAT,
        )
        validation = validator.validate_expectation_suite(suite)
    for res in validation.results:
        if res.result:
            res.result = _plain(res.result)
    return validation


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers. GX's pandas metrics return numpy
    scalars (a column mean is a ``numpy.float64``); the Data Docs renderer formats observed
    values through ``repr``, which under numpy 2 reads ``np.float64(2.0)``, fails to parse,
    and GX logs a traceback for every such check of a successful run."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value
