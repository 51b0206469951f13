"""``pip install -e '.[quality]'`` into a new virtual environment, then a ``quality:`` block:
``meta_quality`` rows, with nothing else installed.

Cheap on purpose: the new environment sees the test environment's third-party packages through
a site directory of links to them, leaving out everything of the ``odibi`` distribution (its
metadata, entry points and editable finder). pip finds every dependency of ``odibi[quality]``
installed, so it downloads none (only the build backend, into its isolated build environment,
from its cache as a rule, as any install of the project does); what it installs is the project
itself, from a copy of its sources, with its own metadata and entry points. The run then finds
``odibi_quality`` and ``catalog_quality`` only through what that install wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

pytest.importorskip("great_expectations", reason="the quality extra is part of the dev install")

ROOT = Path(__file__).resolve().parents[2]

PROJECT = """\
project: fresh
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: not_null, columns: [amount], severity: warn}
            - {type: unique, columns: [order_id]}
"""


#: Odibi itself, and the build backend: pip builds the project with the one its build
#: requirements name, in an isolated environment the links would otherwise leak into.
_LEFT_OUT = ("odibi", "__editable__.odibi", "setuptools", "pkg_resources", "_distutils_hack")
_LEFT_OUT += ("distutils-precedence.pth",)


def _fresh_env(tmp: Path) -> Path:
    """A new virtual environment whose python sees the test environment's packages but no
    ``odibi``; returns its python."""
    deps = tmp / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(_LEFT_OUT):
            (deps / entry.name).symlink_to(entry)
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # addsitedir, not a plain path line: the packages' own .pth files are processed too.
    (Path(purelib) / "_test_deps.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
    return python


def _clean_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_a_fresh_install_with_the_quality_extra_writes_meta_quality(tmp_path, odibi_project):
    python = _fresh_env(tmp_path)
    env = _clean_environ()
    found = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('odibi_core'))"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert found.stdout.strip() == "None"  # nothing of odibi before the install

    source = tmp_path / "source"  # a copy: the build writes its egg-info beside the sources
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "-e", ".[quality]"],
        cwd=source,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    project = odibi_project(
        {"odibi.yaml": PROJECT, "orders.csv": "order_id,amount\n1,10\n1,\n2,5\n"}
    )
    odibi = python.parent / "odibi"
    listed = subprocess.run(
        [odibi, "plugins", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project.root,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    for name in ("quality", "catalog_quality"):
        assert (plugins[name]["source"], plugins[name]["distribution"]) == ("entrypoint", "odibi")
    where = subprocess.run(
        [python, "-c", "import odibi_quality; print(odibi_quality.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(source))  # the fresh install's code, not the tests'

    run = subprocess.run(
        [odibi, "run", str(project.path("odibi.yaml"))],
        capture_output=True,
        text=True,
        env=env,
        cwd=project.root,
        timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # the unique check is an error
    rows = {r["assertion_name"]: r for r in project.catalog("meta_quality")}
    assert {n: (r["status"], r["violation_count"]) for n, r in rows.items()} == {
        "not_null": ("failed", 1),
        "unique": ("failed", 2),
    }
