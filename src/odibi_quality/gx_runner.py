"""Running one ExpectationSuite on an in-memory frame with Great Expectations, cheaply.

GX is imported here only, on the first node that has checks. One ephemeral context and one
whole-frame batch definition serve the whole process. Costs GX adds by default that are cut:

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
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_batch_definition: Any = None
_spark_batch_definition: Any = None
_context: Any = None

#: Enough detail for counts and a few failing values, without per-row index lists.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}


def _definition() -> Any:
    global _batch_definition, _context
    if _batch_definition is None:
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
        import great_expectations  # noqa: F401
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
