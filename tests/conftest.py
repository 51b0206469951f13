"""Shared test set-up. The ``odibi_project`` fixture comes from ``odibi_core.testing``."""

from __future__ import annotations

import os

# Runs in tests must not be slowed by retry back-off unless a test asks for it.
os.environ.setdefault("ODIBI_VERBOSE", "0")
