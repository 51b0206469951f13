"""OTLP exporters (http/protobuf or grpc), imported only when an endpoint is configured.

Endpoints, headers, compression, certificates and timeouts come from the standard
``OTEL_EXPORTER_OTLP_*`` variables, which the exporters read themselves.
"""

from __future__ import annotations

from typing import Any

from odibi_telemetry.settings import GRPC

INSTALL_HINT = "install the OTLP exporters with: pip install 'odibi[otlp]'"


def span_exporter(protocol: str) -> Any:
    if protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    return OTLPSpanExporter()


def metric_exporter(protocol: str) -> Any:
    if protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
            OTLPMetricExporter,
        )
    return OTLPMetricExporter()
