"""The project templates ``odibi init`` copies: folders under ``odibi_core/templates/projects``.

Each holds an ``odibi.yaml`` whose first line, ``# {{ project }}: what it is``, describes it,
and the files it needs (sample data). ``{{ project }}`` is replaced by the project's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from odibi_core.errors import OdibiError

PLACEHOLDER = "{{ project }}"
#: Environment variables a project file uses (``${NAME}`` or ``${NAME:default}``).
_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::[^}]*)?\}")


@dataclass(frozen=True)
class ProjectTemplate:
    name: str
    description: str
    root: Traversable

    def files(self) -> dict[str, bytes]:
        """Relative path → content, the project name not yet filled in."""
        found: dict[str, bytes] = {}

        def walk(node: Traversable, prefix: str) -> None:
            for child in sorted(node.iterdir(), key=lambda c: c.name):
                rel = f"{prefix}{child.name}"
                if child.is_dir():
                    walk(child, rel + "/")
                elif not child.name.startswith(("_", ".")):
                    found[rel] = child.read_bytes()

        walk(self.root, "")
        return found

    @property
    def local(self) -> bool:
        """True when the project runs on this machine as it is (no cloud account needed)."""
        text = (self.root / "odibi.yaml").read_text(encoding="utf-8")
        return "type: azure_" not in text and not _ENV_REF.search(text)


def templates() -> dict[str, ProjectTemplate]:
    root = files("odibi_core") / "templates" / "projects"
    found = {}
    for folder in sorted(root.iterdir(), key=lambda c: c.name):
        config = folder / "odibi.yaml"
        if not folder.is_dir() or not config.is_file():
            continue
        first = config.read_text(encoding="utf-8").splitlines()[0]
        found[folder.name] = ProjectTemplate(
            folder.name, first.removeprefix(f"# {PLACEHOLDER}:").strip(), folder
        )
    return found


def template(name: str) -> ProjectTemplate:
    known = templates()
    if name not in known:
        from difflib import get_close_matches

        close = get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise OdibiError(f"unknown template '{name}'{hint}; templates: {', '.join(known)}")
    return known[name]


def scaffold(tmpl: ProjectTemplate, target: Path, project: str, force: bool) -> list[Path]:
    """Write ``tmpl`` into ``target`` as project ``project``; return the files written.

    Refuses a folder that has any of the template's files unless ``force``; nothing is written
    then. Other files in the folder are left alone."""
    content = {
        rel: data.replace(PLACEHOLDER.encode(), project.encode())
        for rel, data in tmpl.files().items()
    }
    env_names = sorted(set(_ENV_REF.findall(content["odibi.yaml"].decode("utf-8"))))
    if env_names:
        content[".env.example"] = (
            "# Copy to .env (beside odibi.yaml; never commit it) and fill in.\n"
            + "".join(f"{n}=\n" for n in env_names)
        ).encode()
    content[".gitignore"] = b".env\n.odibi/\noutput/\nwarehouse/\nsilver/\n__pycache__/\n"
    if target.exists() and not target.is_dir():
        raise OdibiError(f"{target} exists and is not a folder")
    clashes = [rel for rel in content if (target / rel).exists()]
    if clashes and not force:
        raise OdibiError(
            f"{target} already has {', '.join(clashes[:3])}"
            + (" ..." if len(clashes) > 3 else "")
            + "; use --force to overwrite them"
        )
    written = []
    for rel, data in content.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
