"""Helpers for testing Odibi projects and plugins: build a project in a folder, run the real
``odibi`` command on it, read the Delta tables it wrote with an independent reader."""

from odibi_core.testing.delta_reader import read_delta
from odibi_core.testing.project import OdibiProject, ProjectRun

__all__ = ["OdibiProject", "ProjectRun", "read_delta"]
