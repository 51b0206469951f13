"""Odibi telemetry: OpenTelemetry traces and metrics of runs (SPEC §6), joined through hooks."""

__version__ = "0.1.0"
