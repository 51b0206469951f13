"""Which standard OTEL_* variables turn what on (read without importing OpenTelemetry)."""

from __future__ import annotations

import pytest

from odibi_telemetry.settings import Settings, from_env


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, Settings()),
        ({"OTEL_SDK_DISABLED": "true"}, Settings(disabled=True)),
        (
            {"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"},
            Settings(disabled=True),
        ),
        ({"OTEL_SDK_DISABLED": "false"}, Settings()),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
            Settings(traces_otlp="http/protobuf", metrics_otlp="http/protobuf"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            Settings(traces_otlp="grpc", metrics_otlp="grpc"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
            Settings(traces_otlp="http/protobuf"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "e", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
            Settings(traces_otlp="http/protobuf", metrics_otlp="grpc"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "e", "OTEL_METRICS_EXPORTER": "none"},
            Settings(traces_otlp="http/protobuf"),
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, Settings(traces_otlp="http/protobuf")),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "e", "OTEL_EXPORTER_OTLP_TIMEOUT": "2.5"},
            Settings(traces_otlp="http/protobuf", metrics_otlp="http/protobuf", timeout_s=2.5),
        ),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, Settings()),
    ],
)
def test_settings_from_the_standard_variables(env, expected):
    assert from_env(env) == expected
