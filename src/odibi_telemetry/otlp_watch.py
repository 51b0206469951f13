"""Noticing that a run's OTLP export failed, and saying so once.

OpenTelemetry's exporters report a failed export only through their own loggers, a line per
retry ("Transient error ... retrying in 1.02s", then "Failed to export ..."), and the span
processor drops the result. A :class:`ExportWatch` wraps a run's exporters to learn which
signal failed, reads those loggers' records for why, and the run logs one warning naming the
endpoint. While a watch is alive the exporters' own records are held back (``-v`` shows them).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from odibi_core.errors import brief
from odibi_telemetry.settings import GRPC

log = logging.getLogger("odibi.telemetry")

_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
)
_SIGNAL_PATHS = {"spans": "TRACES", "metrics": "METRICS"}
_HTTP_STATUS = re.compile(r"code: (\d{3}), reason: ([^,]*)")

_watches: weakref.WeakSet[ExportWatch] = weakref.WeakSet()
_installed = False
_install_lock = threading.Lock()


class ExportWatch:
    """The OTLP export of one run: which signals failed, and the first reason heard."""

    def __init__(self, protocols: Mapping[str, str | None], env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        #: signal ("spans", "metrics") -> the endpoint it goes to, fit to be shown.
        self.endpoints = {
            signal: endpoint(signal, protocol, env)
            for signal, protocol in protocols.items()
            if protocol
        }
        self.failed: list[str] = []
        self.reason: str | None = None
        self._lock = threading.Lock()
        _install()
        _watches.add(self)

    def wrap(self, exporter: Any, signal: str) -> Any:
        """``exporter`` with its ``export`` reporting failures here (an instance attribute:
        the SDK's readers and processors call it like the method it replaces)."""
        export = exporter.export

        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                result = export(*args, **kwargs)
            except Exception as exc:
                self._note(signal, brief(exc))
                raise
            if getattr(result, "name", "") == "FAILURE":
                self._note(signal, None)
            return result

        exporter.export = watched
        return exporter

    def heard(self, message: str) -> None:
        """A record of the exporters' loggers: remember the first reason it gives."""
        reason = _reason(message)
        with self._lock:
            if reason and self.reason is None:
                self.reason = reason

    def _note(self, signal: str, reason: str | None) -> None:
        with self._lock:
            if signal not in self.failed:
                self.failed.append(signal)
            if reason and self.reason is None:
                self.reason = reason

    def where(self, signals: list[str] | None = None) -> str:
        """The endpoints of ``signals`` (all by default), each once."""
        chosen = signals or list(self.endpoints)
        return ", ".join(dict.fromkeys(self.endpoints[s] for s in chosen if s in self.endpoints))

    def problem(self) -> str | None:
        """One line about the failed export, or None when every export succeeded."""
        with self._lock:
            failed = [s for s in _SIGNAL_PATHS if s in self.failed]
            reason = self.reason
        if not failed:
            return None
        what = " and ".join(failed)
        because = f" ({reason})" if reason else ""
        return (
            f"OTLP export to {self.where(failed)} failed{because}: this run's {what} were "
            "not sent (the catalog has them)"
        )


def endpoint(signal: str, protocol: str, env: Mapping[str, str]) -> str:
    """Where ``signal`` is exported (as the exporters read the variables), without the parts
    of a URL that may carry credentials (user, password, query)."""
    name = _SIGNAL_PATHS[signal]
    raw = (
        env.get(f"OTEL_EXPORTER_OTLP_{name}_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or ("http://localhost:4317" if protocol == GRPC else "http://localhost:4318")
    )
    if "://" not in raw:  # gRPC also takes host:port
        return raw.split("@")[-1].split("?")[0]
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _reason(message: str) -> str | None:
    """What went wrong, in a few words, from an exporter's log line."""
    if "due to timeout, max retries or shutdown" in message:
        return None  # the http exporter's last word, whatever the cause was
    status = _HTTP_STATUS.search(message)
    if status:
        return f"HTTP {status.group(1)} {status.group(2).strip()}".strip()
    lowered = message.lower()
    if "refused" in lowered:
        return "connection refused"
    if "timed out" in lowered or "timeout" in lowered or "deadline_exceeded" in lowered:
        return "timed out"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host"
    if "unavailable" in lowered:
        return "unavailable"
    return None


class _HoldBack(logging.Filter):
    """Hands the exporters' records to the live watches and keeps them from the log, unless
    Odibi's debug logs are on (``-v``) or no run is watching."""

    def filter(self, record: logging.LogRecord) -> bool:
        watches = list(_watches)
        if not watches:
            return True
        message = record.getMessage()
        for watch in watches:
            watch.heard(message)
        return log.isEnabledFor(logging.DEBUG)


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        hold_back = _HoldBack()
        for name in _EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(hold_back)
        _installed = True
