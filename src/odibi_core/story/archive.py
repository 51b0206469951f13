"""Finding stories already written: by pipeline, newest first, or by run id."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odibi_core.config.errors import did_you_mean
from odibi_core.errors import OdibiError


@dataclass
class StoryFile:
    path: Path  # the JSON file; the HTML page sits beside it
    summary: dict[str, Any]  # what the pipeline's index keeps of it (writer.SUMMARY_KEYS)
    _story: dict[str, Any] | None = None

    @property
    def story(self) -> dict[str, Any]:
        """The whole story, read on first use."""
        if self._story is None:
            try:
                self._story = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise OdibiError(f"cannot read story {self.path}: {exc}") from None
        return self._story

    @property
    def html(self) -> Path:
        return self.path.with_suffix(".html")

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id", ""))


def pipelines(root: Path) -> list[str]:
    """Pipelines that have stories under ``root``."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*/run_*.json")))


def stories(root: Path, pipeline: str | None = None) -> list[StoryFile]:
    """Stories newest first, of one pipeline or of all."""
    from odibi_core.story.writer import list_runs

    names = [pipeline] if pipeline else pipelines(root)
    found = [StoryFile(path, summary) for name in names for path, summary in list_runs(root / name)]
    found.sort(key=lambda s: s.summary.get("started_at") or "", reverse=True)
    return found


def find(root: Path, ref: str, pipeline: str | None = None) -> StoryFile:
    """The story of ``ref``: a run id or a unique prefix of one, ``last``, or ``last~N`` (the
    Nth run before the last, as git counts)."""
    candidates = stories(root, pipeline)
    if not candidates:
        where = f"pipeline '{pipeline}'" if pipeline else str(root)
        raise OdibiError(f"no stories found for {where} (run the pipeline first)")
    relative = re.fullmatch(r"last(?:~(\d+))?", ref)
    if relative:
        back = int(relative.group(1) or 0)
        if back >= len(candidates):
            raise OdibiError(f"only {len(candidates)} stories are kept; '{ref}' is older")
        return candidates[back]
    matches = [s for s in candidates if s.run_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise OdibiError(f"run id prefix '{ref}' matches {len(matches)} runs; give more of it")
    hint = did_you_mean(ref, [s.run_id for s in candidates])
    raise OdibiError(f"no story for run '{ref}'{hint} (stories kept under {root})")


def previous(root: Path, story: StoryFile) -> StoryFile | None:
    """The run of the same pipeline just before ``story``."""
    runs = stories(root, story.summary.get("pipeline"))
    for i, candidate in enumerate(runs):
        if candidate.path == story.path:
            return runs[i + 1] if i + 1 < len(runs) else None
    return None
