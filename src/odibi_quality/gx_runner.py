"""Running one ExpectationSuite on an in-memory frame with Great Expectations, cheaply.

GX is imported here only, on the first node that has checks. One ephemeral context and one
whole-frame batch definition serve the whole process. Two costs GX adds by default are turned
off: it fingerprints the entire frame (an md5 over a hash of every row) for each batch, only to
put the digest in the result's metadata, and richer result formats build row-index lists.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

_lock = threading.Lock()
_batch_definition: Any = None

#: Enough detail for counts and a few failing values, without per-row index lists.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}


def _definition() -> Any:
    global _batch_definition
    if _batch_definition is None:
        import great_expectations as gx
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
        # GX logs a warning for every expectation class registered twice (ours are deliberate)
        # and one module sets itself to INFO, which would reach the CLI's log handler.
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.ERROR)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
        _batch_definition = (
            context.data_sources.add_pandas("odibi")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
    return _batch_definition


def require() -> None:
    """Fail the node with an install hint when Great Expectations is missing."""
    try:
        import great_expectations  # noqa: F401
    except ImportError:
        from odibi_core.errors import NodeError

        raise NodeError(
            "quality checks need Great Expectations: pip install 'odibi[quality]'"
        ) from None


def validate(frame: Any, suite_name: str, expectations: list[Any]) -> Any:
    """The ExpectationSuiteValidationResult of ``expectations`` on ``frame``; its ``results``
    come in no particular order (match them by ``expectation_config.meta``)."""
    import great_expectations as gx

    with _lock:  # the context is shared; nodes may validate concurrently with --parallel
        batch = _definition().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
        return batch.validate(suite, result_format=RESULT_FORMAT)
