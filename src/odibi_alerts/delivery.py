"""Posting alerts: one background worker per channel and run (so a channel's alerts arrive in
order and a slow channel holds up no other), a timeout per request, one retry, throttling,
and a bounded wait at the run's end."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from odibi_alerts.events import Alert
    from odibi_core.config.models import AlertConfig

log = logging.getLogger("odibi.alerts")

#: Seconds one request may take; also how long a run's end waits for what is still in flight.
DEFAULT_TIMEOUT = 5.0
#: Seconds before the one retry of a failed request.
RETRY_DELAY = 0.5
_DONE = object()


def timeout() -> float:
    """``ODIBI_ALERTS_TIMEOUT`` (seconds), else :data:`DEFAULT_TIMEOUT`."""
    try:
        value = float(os.environ.get("ODIBI_ALERTS_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def where(url: str) -> str:
    """A channel as logs name it: its host only, since webhook URLs carry their token."""
    parts = urlsplit(url)
    return parts.hostname or "?"


class Throttle:
    """Odibi's throttling, per channel, pipeline and event, for this process: at least
    ``throttle_minutes`` between two alerts and at most ``max_per_hour`` in an hour."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._sent: dict[tuple[str, str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, config: AlertConfig, pipeline: str, event: str) -> bool:
        key = (config.url, pipeline, event)
        now = self._clock()
        with self._lock:
            sent = self._sent.setdefault(key, deque())
            while sent and now - sent[0] >= 3600:
                sent.popleft()
            if sent and now - sent[-1] < config.metadata.throttle_minutes * 60:
                return False
            if len(sent) >= config.metadata.max_per_hour:
                return False
            sent.append(now)
            return True

    def forget(self, config: AlertConfig, pipeline: str, event: str) -> None:
        """Take back the last alert counted: it was not delivered, so a later one may go."""
        with self._lock:
            sent = self._sent.get((config.url, pipeline, event))
            if sent:
                sent.pop()


THROTTLE = Throttle()


def post(url: str, body: dict[str, Any], wait: float) -> None:
    """POST ``body`` as JSON; retried once after a connection error, a 429 or a 5xx."""
    data = json.dumps(body, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "odibi-alerts"}
    for attempt in (1, 2):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:
                response.read()
            return
        except urllib.error.HTTPError as exc:
            if attempt == 2 or not (exc.code == 429 or exc.code >= 500):
                raise
        except (urllib.error.URLError, OSError):
            if attempt == 2:
                raise
        time.sleep(RETRY_DELAY)


class Outbox:
    """The alerts of one run; ``close`` waits for them a bounded time."""

    def __init__(self, configs: list[AlertConfig], scrub: Callable[[Any], Any]):
        self.configs = configs
        self.scrub = scrub
        self.wait = timeout()
        self._queues: dict[int, queue.Queue[Any]] = {}
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.closed = False

    def emit(self, alert: Alert) -> None:
        """Queue ``alert`` for every channel that listens to its event (throttling allowing)."""
        from odibi_alerts.payloads import build

        for i, config in enumerate(self.configs):
            if alert.event not in config.on_events:
                continue
            if not THROTTLE.allow(config, alert.pipeline, alert.event):
                log.info(
                    "alert %s of %s to %s throttled",
                    alert.event,
                    alert.pipeline,
                    where(config.url),
                )
                continue
            try:
                body = self.scrub(build(config, alert))
            except Exception as exc:  # a bad payload is a lost alert, never a failed run
                THROTTLE.forget(config, alert.pipeline, alert.event)
                log.warning("alert %s not built: %s: %s", alert.event, type(exc).__name__, exc)
                continue
            self._queue(i, config).put((alert, body))

    def _queue(self, i: int, config: AlertConfig) -> queue.Queue[Any]:
        with self._lock:
            if i not in self._queues:
                q: queue.Queue[Any] = queue.Queue()
                worker = threading.Thread(
                    target=self._deliver, args=(config, q), name="odibi-alerts", daemon=True
                )
                self._queues[i] = q
                self._workers.append(worker)
                worker.start()
            return self._queues[i]

    def _deliver(self, config: AlertConfig, q: queue.Queue[Any]) -> None:
        while (item := q.get()) is not _DONE:
            alert, body = item
            try:
                post(config.url, body, self.wait)
                log.debug(
                    "alert %s of %s sent to %s", alert.event, alert.pipeline, where(config.url)
                )
            except Exception as exc:
                THROTTLE.forget(config, alert.pipeline, alert.event)
                problem = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                log.warning(
                    "alert %s of %s to %s not delivered: %s",
                    alert.event,
                    alert.pipeline,
                    where(config.url),
                    problem,
                )

    def close(self) -> None:
        """Let every worker finish what it holds, waiting at most ``wait`` seconds in all;
        what is still in flight then is given up (its thread dies with the process)."""
        if self.closed:
            return
        self.closed = True
        with self._lock:
            for q in self._queues.values():
                q.put(_DONE)
            workers = list(self._workers)
        deadline = time.monotonic() + self.wait
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        late = sum(w.is_alive() for w in workers)
        if late:
            log.warning(
                "alerts: %d channel(s) still sending after %.1fs; given up", late, self.wait
            )
