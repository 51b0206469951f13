"""``odibi completion bash|zsh``: the script the real CLI writes completes commands, actions,
options and their values in a real bash, what installed plugins add included."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _complete(script: str, cwd, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    code = (
        f"{script}\nCOMP_WORDS=(odibi {line}); COMP_CWORD={len(words)}; _odibi;"
        ' printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return sorted(set(out.stdout.split()))


def test_bash_completion_from_the_parser(odibi_project):
    project = odibi_project({"odibi.yaml": "project: p\npipelines: []\n"})
    run = project.odibi("completion", "bash", "{config}", subprocess_=True)
    assert run.exit_code == 2  # the shell is the only argument
    written = project.odibi("completion", "bash", subprocess_=True)
    assert written.exit_code == 0, written.output
    script = written.stdout
    root = project.root
    assert _complete(script, root, "ca") == ["catalog"]
    assert _complete(script, root, "catalog", "q") == ["quality"]  # a plugin's table
    assert _complete(script, root, "catalog", "runs", "--format", "") == ["json", "table"]
    assert {"transformers", "patterns", "connections", "assertions"} <= set(
        _complete(script, root, "list", "")
    )
    assert _complete(script, root, "run", "odi") == ["odibi.yaml"]
    assert "--parallel" in _complete(script, root, "run", "odibi.yaml", "--p")
    assert _complete(script, root, "templ") == ["templates"]


def test_zsh_completion_runs_bash_completion(odibi_project):
    run = odibi_project().odibi("completion", "zsh")
    assert run.exit_code == 0
    assert run.stdout.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -o filenames -F _odibi odibi" in run.stdout
