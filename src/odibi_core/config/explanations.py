"""``explanation_file``: a node's Markdown explanation kept in its own file, read at load."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.errors import ConfigIssue

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig
    from odibi_core.config.source_map import SourceMap

#: An explanation is prose for a story page, not a data file.
MAX_BYTES = 1_000_000


def read_explanation_files(
    project: ProjectConfig, data: dict[str, Any], source_map: SourceMap
) -> list[ConfigIssue]:
    """Read every node's ``explanation_file`` (relative to the project file) into the node;
    a file that is missing, too large or not UTF-8 text is a problem at that key."""
    issues = []
    for i, pipeline in enumerate(project.pipelines):
        for j, node in enumerate(pipeline.nodes):
            if not node.explanation_file:
                continue
            path = project.root / node.explanation_file
            problem = None
            try:
                if path.stat().st_size > MAX_BYTES:
                    problem = f"is larger than {MAX_BYTES // 1_000_000} MB"
                else:
                    node._explanation_text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                problem = "not found"
            except UnicodeDecodeError:
                problem = "is not UTF-8 text"
            except OSError as exc:
                problem = f"cannot be read ({exc.strerror or exc})"
            if problem:
                mark = source_map.at_path(data, ("pipelines", i, "nodes", j, "explanation_file"))
                issues.append(
                    ConfigIssue.at(
                        f"pipeline '{pipeline.pipeline}', node '{node.name}': explanation_file "
                        f"'{node.explanation_file}' {problem}",
                        mark,
                    )
                )
    return issues
