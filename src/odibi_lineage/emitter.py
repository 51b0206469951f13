"""Sending events: the openlineage-python HTTP transport on one background thread per run
(events keep their order), one retry, and a bounded wait at the run's end."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from odibi_core.config.models import LineageConfig

log = logging.getLogger("odibi.lineage")

#: Seconds one request may take; also how long a run's end waits for unsent events.
DEFAULT_TIMEOUT = 5.0
_DONE = object()


def timeout() -> float:
    """``ODIBI_LINEAGE_TIMEOUT`` (seconds), else :data:`DEFAULT_TIMEOUT`."""
    try:
        value = float(os.environ.get("ODIBI_LINEAGE_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def client(config: LineageConfig, wait: float) -> Any:
    """An OpenLineage client posting to ``config.url``, retrying a failed request once."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider,
        HttpConfig,
        HttpTransport,
        TokenProvider,
    )

    auth = ApiKeyTokenProvider({"apiKey": config.api_key}) if config.api_key else TokenProvider({})
    # The client joins its endpoint to the URL: without a trailing '/', a path in the URL
    # (a server behind a prefix) would be replaced instead of extended.
    url = str(config.url)
    http = HttpConfig(
        url=url if url.endswith("/") else url + "/",
        timeout=wait,
        auth=auth,
        retry={
            "total": 1,
            "connect": 1,
            "read": 1,
            "status": 1,
            "backoff_factor": 0.3,
            "status_forcelist": [429, 500, 502, 503, 504],
            "allowed_methods": ["POST"],
        },
    )
    return OpenLineageClient(transport=HttpTransport(http))


class Emitter:
    """The events of one run, sent in order; ``close`` waits for them a bounded time."""

    def __init__(self, config: LineageConfig):
        self.wait = timeout()
        self.host = urlsplit(str(config.url)).hostname or "?"
        self._client = client(config, self.wait)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._worker = threading.Thread(target=self._send, name="odibi-lineage", daemon=True)
        self._worker.start()
        self.closed = False

    def emit(self, event: Any) -> None:
        if not self.closed:
            self._queue.put(event)

    def _send(self) -> None:
        failed = 0
        while (event := self._queue.get()) is not _DONE:
            try:
                self._client.emit(event)
            except Exception as exc:
                failed += 1
                if failed == 1:  # one line per run, not one per event
                    log.warning(
                        "lineage: event to %s not delivered: %s: %s",
                        self.host,
                        type(exc).__name__,
                        exc,
                    )

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.put(_DONE)
        started = time.monotonic()
        self._worker.join(self.wait)
        if self._worker.is_alive():
            log.warning(
                "lineage: events still unsent after %.1fs; given up",
                time.monotonic() - started,
            )
