"""Load a project file: ``.env``, ``imports``, ``environments``, ``${...}`` and validation."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from odibi_core.config.errors import did_you_mean, pydantic_issues
from odibi_core.config.models import ProjectConfig
from odibi_core.config.source_map import Mark, SourceMap
from odibi_core.config.substitution import substitute
from odibi_core.config.yaml_loader import load_yaml_file
from odibi_core.errors import ConfigError, ConfigIssue
from odibi_core.secrets import SecretSet

if TYPE_CHECKING:
    from odibi_core.plugin_manager import PluginManager


def load_project(
    path: str | os.PathLike[str], env: str | None = None, plugins: PluginManager | None = None
) -> ProjectConfig:
    """Load and validate a project; raises :class:`ConfigError` listing every problem found."""
    from odibi_core.config.checks import check_project
    from odibi_core.config.explanations import read_explanation_files
    from odibi_core.config.owners import blocked_owner_issues
    from odibi_core.plugin_manager import get_plugin_manager

    project_file = Path(path).resolve()
    if project_file.is_dir():
        project_file = _find_project_file(project_file)
    _load_dotenv(project_file.parent / ".env")
    source_map = SourceMap()
    issues: list[ConfigIssue] = []
    data = _load_with_imports(project_file, source_map, (), issues)
    if env:
        data = _apply_environment(data, env, source_map, issues, project_file)
    templates: dict[tuple[int, ...], dict[str, str]] = {}
    defaults: dict[str, str] = {}
    _substitute_all(data, source_map, issues, templates, defaults)
    secrets = _secrets(data, defaults)
    issues.extend(_check_declared_secrets(data, source_map))

    manager = plugins or get_plugin_manager()
    manager.load_project_plugins(project_file.parent)

    project: ProjectConfig | None = None
    try:
        project = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(exc, ProjectConfig, data, source_map))
    issues.extend(check_project(data, source_map, manager.registry, manager.hook))
    issues.extend(blocked_owner_issues(data, source_map, manager))
    if project is not None:
        project._path = project_file
        issues.extend(read_explanation_files(project, data, source_map))
    if issues or project is None:
        raise ConfigError([_scrubbed(i, secrets) for i in _ordered(issues)])
    project._path = project_file
    project._environment = env
    project._secrets = secrets
    for i, pipeline in enumerate(project.pipelines):
        pipeline._templates = templates.get((i,), {})
        for j, node in enumerate(pipeline.nodes):
            node._templates = templates.get((i, j), {})
    return project


def _secrets(data: dict[str, Any], defaults: dict[str, str]) -> SecretSet:
    declared = data.get("secrets")
    names = [n for n in declared if isinstance(n, str)] if isinstance(declared, list) else []
    # A default stands in for an unset variable: secret when the variable's name (or
    # ``secrets:``) says so, like the value it replaces.
    return SecretSet.for_project(data, names, {**defaults, **os.environ})


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_declared_secrets(data: dict[str, Any], source_map: SourceMap) -> list[ConfigIssue]:
    """``secrets:`` names environment variables or ``vars.name``: a typo there would leave a
    secret in the clear, so it is an error (an unset environment variable is not: it may be
    set only where the project runs)."""
    declared = data.get("secrets")
    if not isinstance(declared, list):
        return []  # not a list: the schema says so
    variables = data.get("vars") if isinstance(data.get("vars"), dict) else {}
    found = []
    for i, name in enumerate(declared):
        problem = None
        if not isinstance(name, str):
            continue  # the schema reports it
        if name.startswith("vars."):
            node: Any = variables
            for part in name[5:].split("."):
                node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            if node is _MISSING:
                problem = f"secrets: '{name}' is not in vars" + did_you_mean(
                    name[5:], list(variables)
                )
        elif not _ENV_NAME.fullmatch(name):
            hint = f" (did you mean 'vars.{name.split('.', 1)[1]}'?)" if "." in name else ""
            problem = (
                f"secrets: '{name}' is neither an environment variable's name nor vars.NAME{hint}"
            )
        if problem:
            mark = source_map.of(declared, i)
            found.append(ConfigIssue.at(problem, mark))
    return found


_MISSING = object()


def _scrubbed(issue: ConfigIssue, secrets: SecretSet) -> ConfigIssue:
    """A problem can quote the value at fault, and that value may be a secret."""
    message = secrets.scrub(issue.message)
    return issue if message == issue.message else dataclasses.replace(issue, message=message)


def _find_project_file(folder: Path) -> Path:
    for name in ("odibi.yaml", "odibi.yml", "project.yaml", "project.yml"):
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(f"no odibi.yaml or project.yaml in {folder}")


def _load_dotenv(path: Path) -> None:
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _load_with_imports(
    path: Path, source_map: SourceMap, chain: tuple[Path, ...], issues: list[ConfigIssue]
) -> dict[str, Any]:
    chain = (*chain, path)
    data = load_yaml_file(path, source_map, issues)
    if data is None:
        data = {}
        source_map.record_container(data, Mark(str(path), 1, 1))
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a project file must be a mapping of keys, not {type(data).__name__}"
        )
    imports = data.pop("imports", None) or []
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, list):
        mark = source_map.of(data, "imports")
        issues.append(
            ConfigIssue(
                "imports must be a list of file paths",
                str(path),
                mark.line if mark else None,
                mark.column if mark else None,
            )
        )
        imports = []
    for i, item in enumerate(imports):
        target = path.parent / str(item)
        problem = None
        if not _is_file(target):
            problem = f"imported file not found: {item}"
        elif target.resolve() in chain:
            cycle = (*chain[chain.index(target.resolve()) :], target.resolve())
            problem = "import cycle: " + " -> ".join(p.name for p in cycle)
        if problem:
            mark = source_map.of(imports, i) or source_map.of(data, "imports")
            issues.append(
                ConfigIssue(
                    problem,
                    str(path),
                    mark.line if mark else None,
                    mark.column if mark else None,
                )
            )
            continue
        imported = _load_with_imports(target.resolve(), source_map, chain, issues)
        _merge(data, imported, source_map, append_lists=True)
    return data


def _is_file(path: Path) -> bool:
    try:
        return path.resolve().is_file()
    except (OSError, ValueError):  # a NUL in the name, a name too long
        return False


def _merge(
    base: dict[str, Any], extra: dict[str, Any], source_map: SourceMap, *, append_lists: bool
) -> dict[str, Any]:
    """Merge ``extra`` into ``base`` in place. Imports append lists; environments replace them."""
    for key, value in extra.items():
        if key in base and isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, source_map, append_lists=append_lists)
            continue
        if append_lists and key in base and isinstance(base[key], list) and isinstance(value, list):
            offset = len(base[key])
            for i, item in enumerate(value):
                base[key].append(item)
                mark = source_map.of(value, i)
                if mark:
                    source_map.record(base[key], offset + i, mark)
            continue
        if key in base and append_lists:
            continue  # the importing file wins over what it imports
        base[key] = value
        mark = source_map.of(extra, key)
        if mark:
            source_map.record(base, key, mark)
    return base


def _apply_environment(
    data: dict[str, Any],
    env: str,
    source_map: SourceMap,
    issues: list[ConfigIssue],
    project_file: Path,
) -> dict[str, Any]:
    environments = data.get("environments") or {}
    overrides: dict[str, Any] | None = None
    if isinstance(environments, dict) and isinstance(environments.get(env), dict):
        overrides = environments[env]
    side_file = project_file.parent / f"env.{env}.yaml"
    if _is_file(side_file):
        side = load_yaml_file(side_file, source_map, issues) or {}
        if not isinstance(side, dict):
            issues.append(
                ConfigIssue(
                    f"an environment file must be a mapping of keys, not {type(side).__name__}",
                    str(side_file),
                )
            )
            return data
        overrides = _merge(overrides or {}, side, source_map, append_lists=False)
    if overrides is None and isinstance(environments, dict) and env in environments:
        return data  # not a mapping: the model reports environments.<env>
    if overrides is None:
        known = sorted(environments) if isinstance(environments, dict) else []
        issues.append(
            ConfigIssue(
                f"unknown environment '{env}'"
                + (
                    f"; known: {', '.join(known)}"
                    if known
                    else "; the project has no environments:"
                )
                + did_you_mean(env, known),
                str(project_file),
            )
        )
        return data
    return _merge(data, overrides, source_map, append_lists=False)


def _substitute_all(
    data: dict[str, Any],
    source_map: SourceMap,
    issues: list[ConfigIssue],
    templates: dict[tuple[int, ...], dict[str, str]],
    defaults: dict[str, str],
) -> None:
    def report(container: Any, key: Any, message: str) -> None:
        mark = source_map.of(container, key)
        issues.append(ConfigIssue.at(message, mark))

    variables = data.get("vars")
    if isinstance(variables, dict):
        substitute(variables, {}, report, defaults=defaults)  # ${ENV} but no other ${vars}
    else:
        variables = {}
    pipelines = data.get("pipelines")
    for key in list(data):
        if key not in ("vars", "environments") and not (
            key == "pipelines" and isinstance(pipelines, list)
        ):
            data[key] = substitute(data[key], variables, report, data, key, defaults=defaults)
    for i, pipeline in enumerate(pipelines if isinstance(pipelines, list) else []):
        if isinstance(pipeline, dict):
            _substitute_pipeline(pipeline, i, variables, report, templates, defaults)
        else:
            pipelines[i] = substitute(pipeline, variables, report, pipelines, i, None, defaults)


def _substitute_pipeline(
    pipeline: dict[str, Any],
    index: int,
    variables: dict[str, Any],
    report: Any,
    templates: dict[tuple[int, ...], dict[str, str]],
    defaults: dict[str, str],
) -> None:
    """Substitute one pipeline, noting per node what each substituted string was written as:
    scoped by node, so a literal elsewhere that happens to equal one is left alone."""
    for key in list(pipeline):
        if key == "nodes" and isinstance(pipeline[key], list):
            for j, node in enumerate(pipeline[key]):
                found = templates.setdefault((index, j), {})
                pipeline[key][j] = substitute(
                    node, variables, report, pipeline[key], j, found, defaults
                )
        else:
            found = templates.setdefault((index,), {})
            pipeline[key] = substitute(
                pipeline[key], variables, report, pipeline, key, found, defaults
            )


def _ordered(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.file or "", i.line or 0, i.column or 0))
