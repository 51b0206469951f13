"""What the standard ``OTEL_*`` variables ask for, read at the start of each run.

Reading them imports nothing from OpenTelemetry, so a disabled SDK costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

HTTP = "http/protobuf"
GRPC = "grpc"
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    #: ``OTEL_SDK_DISABLED=true``: no spans, no metrics, no OpenTelemetry import.
    disabled: bool = False
    #: OTLP protocol for traces (``http/protobuf`` or ``grpc``), None when not exported.
    traces_otlp: str | None = None
    metrics_otlp: str | None = None
    #: Longest a run may wait at its end for OTLP export (seconds, as the Python SDK reads
    #: ``OTEL_EXPORTER_OTLP_TIMEOUT``), plus a little for shutting down.
    timeout_s: float = 10.0

    @property
    def otlp(self) -> bool:
        return bool(self.traces_otlp or self.metrics_otlp)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return Settings(disabled=True)
    timeouts = [
        _seconds(
            env.get(f"OTEL_EXPORTER_OTLP_{s}_TIMEOUT") or env.get("OTEL_EXPORTER_OTLP_TIMEOUT")
        )
        for s in ("TRACES", "METRICS")
    ]
    return Settings(
        traces_otlp=_protocol(env, "TRACES"),
        metrics_otlp=_protocol(env, "METRICS"),
        timeout_s=max(timeouts),
    )


def _protocol(env: Mapping[str, str], signal: str) -> str | None:
    """OTLP for one signal: on when ``OTEL_<SIGNAL>_EXPORTER`` names ``otlp``, or when it is
    unset and an OTLP endpoint or protocol variable is set; ``none`` (or any other exporter
    name) turns OTLP off for that signal. The catalog receives everything either way."""
    chosen = env.get(f"OTEL_{signal}_EXPORTER", "").strip().lower()
    configured = any(
        env.get(name, "").strip()
        for name in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL",
        )
    )
    wanted = "otlp" in {p.strip() for p in chosen.split(",")} if chosen else configured
    if not wanted:
        return None
    protocol = (
        env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or HTTP
    ).strip()
    return GRPC if protocol == GRPC else HTTP


def _seconds(raw: str | None) -> float:
    try:
        value = float(raw) if raw else 10.0
    except ValueError:
        return 10.0
    return value if value > 0 else 10.0
