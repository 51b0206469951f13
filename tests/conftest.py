"""Shared test set-up. The ``odibi_project`` fixture comes from ``odibi_core.testing``."""

from __future__ import annotations

import os

# Runs in tests must not be slowed by retry back-off unless a test asks for it.
os.environ.setdefault("ODIBI_VERBOSE", "0")

# Runs in tests keep their telemetry in their own catalog: never send it to a collector the
# developer's shell points at (the telemetry tests set OTEL_* themselves where they need it).
for _name in [n for n in os.environ if n.startswith("OTEL_")]:
    del os.environ[_name]
