"""The one Jinja environment for core's HTML (stories, the pipeline index, ``odibi graph``)."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"

#: Fill and stroke per status (None: never ran), for every picture core draws.
STATUS_COLOURS: dict[str | None, tuple[str, str]] = {
    "SUCCESS": ("#dafbe1", "#1a7f37"),
    "FAILURE": ("#ffebe9", "#cf222e"),
    "SKIPPED": ("#fff8c5", "#9a6700"),
    None: ("#f6f8fa", "#8c959f"),
}


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)


@functools.cache
def environment() -> Any:
    """One environment per process, so each template is compiled once."""
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        FunctionLoader,
        select_autoescape,
    )
    from markupsafe import Markup

    # Plugins' fragments are loaded by a name derived from their source, so the bytecode
    # cache serves them too (compiling one costs more than rendering it many times).
    fragments: dict[str, str] = {}
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES), FunctionLoader(fragments.get)]),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["duration"] = duration
    env.filters["when"] = when
    env.filters["markdown"] = lambda text: Markup(markdown(text))
    env.globals["sparkline"] = sparkline
    env.globals["status_colours"] = STATUS_COLOURS

    def render_section(source: str, data: Any) -> Markup:
        name = f"fragment-{hashlib.sha256(source.encode()).hexdigest()[:24]}"
        fragments.setdefault(name, source)
        return Markup(env.get_template(name).render(data=data))

    env.globals["render_section"] = render_section
    return env


def _bytecode_cache() -> Any:
    """Compiled templates kept between runs (compiling costs more than a small run's work)."""
    import jinja2

    from odibi_core import __version__

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    # Jinja keys compiled templates by name and source only; the environment's options are
    # compiled in too, so each version of Odibi (and of Jinja) keeps its own folder.
    folder = Path(base) / "odibi" / f"jinja-{__version__}-{jinja2.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # read-only home: compile every time
    return jinja2.FileSystemBytecodeCache(str(folder))


@functools.cache
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark with tables and strikethrough; raw HTML in the text is shown as text, and
    # markdown-it refuses javascript:, vbscript:, file: and data: (but image) links itself.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def markdown(text: Any) -> str:
    """Markdown as safe HTML (a node's explanation in its story)."""
    if not text:
        return ""
    return str(_markdown_parser().render(str(text)))


def duration(ms: Any) -> str:
    if ms is None:
        return ""
    ms = int(ms)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min {ms % 60_000 // 1000} s"


def sparkline(
    values: list[float | None],
    width: int = 140,
    height: int = 28,
    lo: float | None = None,
    hi: float | None = None,
) -> list[tuple[int, int]]:
    """Points of a sparkline for ``values`` (oldest first) in a ``width`` x ``height`` box;
    missing values are left out. The range is ``lo``..``hi`` or that of the values."""
    known = [v for v in values if v is not None]
    if not known:
        return []
    low = min(known) if lo is None else lo
    high = max(known) if hi is None else hi
    span = (high - low) or 1.0
    step = (width - 6) / max(len(values) - 1, 1)
    return [
        (round(3 + i * step), round(height - 3 - (v - low) / span * (height - 6)))
        for i, v in enumerate(values)
        if v is not None
    ]


def when(iso: Any) -> str:
    """``2026-11-25 23:33:58 UTC`` from an ISO timestamp (stories keep full ISO in JSON)."""
    from datetime import UTC, datetime

    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
