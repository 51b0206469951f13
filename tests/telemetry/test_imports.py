"""Without an OTLP metrics endpoint, a run never imports OpenTelemetry's metrics SDK."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from odibi_core.runner.api import run_project
(result,) = run_project("odibi.yaml")
assert result.status == "SUCCESS", result.status
print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk.")))
"""


def test_a_run_without_otlp_metrics_imports_the_trace_sdk_but_not_the_metrics_sdk(healthy):
    out = subprocess.run(
        [sys.executable, "-c", CODE], cwd=healthy.root, capture_output=True, text=True, check=True
    )
    loaded = out.stdout.strip()
    assert "'opentelemetry.sdk.trace'" in loaded  # telemetry was on
    assert "opentelemetry.sdk.metrics" not in loaded
    assert healthy.catalog("meta_metrics")  # and the points were written
