"""Build a project from a dict of files and run the real ``odibi`` command on it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odibi_core.testing.delta_reader import read_delta


@dataclass
class ProjectRun:
    """What one ``odibi`` invocation did."""

    exit_code: int
    stdout: str
    stderr: str
    project: OdibiProject

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def catalog(self, table: str) -> list[dict[str, Any]]:
        return self.project.catalog(table)


class OdibiProject:
    """A project folder. ``files`` maps relative paths to text (dedented) or bytes."""

    def __init__(
        self, root: Path, files: dict[str, str | bytes] | None = None, config: str = "odibi.yaml"
    ):
        self.root = Path(root)
        self.config = config
        self.root.mkdir(parents=True, exist_ok=True)
        if files:
            self.write(files)

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")

    def path(self, rel: str) -> Path:
        return self.root / rel

    def odibi(
        self, *args: str, subprocess_: bool = False, env: dict[str, str] | None = None
    ) -> ProjectRun:
        """Run ``odibi ARGS``; the token ``{config}`` is replaced by the project file path.

        In-process by default (the real CLI entry point, faster); ``subprocess_=True`` runs
        the installed console script in a fresh process.
        """
        argv = [str(self.root / self.config) if a == "{config}" else a for a in args]
        if subprocess_:
            exe = Path(sys.executable).with_name("odibi")
            proc = subprocess.run(
                [str(exe), *argv],
                capture_output=True,
                text=True,
                env={**os.environ, **(env or {})},
                cwd=self.root,
                timeout=600,
            )
            return ProjectRun(proc.returncode, proc.stdout, proc.stderr, self)
        from odibi_core.cli.main import main

        out, err = io.StringIO(), io.StringIO()
        saved = {k: os.environ.get(k) for k in (env or {})}
        os.environ.update(env or {})
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return ProjectRun(code, out.getvalue(), err.getvalue(), self)

    def run(self, *args: str, **kwargs: Any) -> ProjectRun:
        """``odibi run CONFIG ARGS``."""
        return self.odibi("run", "{config}", *args, **kwargs)

    def catalog(self, table: str, system: str = ".odibi/system") -> list[dict[str, Any]]:
        """Rows of a catalog table, read with the independent Delta reader."""
        return read_delta(self.root / system / table)

    def delta(self, rel: str) -> list[dict[str, Any]]:
        return read_delta(self.root / rel)
