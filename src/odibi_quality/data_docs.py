"""GX Data Docs of each run, beside the run's story, readable offline.

GX renders each validation result to a page that loads Bootstrap, jQuery, Font Awesome and Vega
from CDNs. Offline (and under the story's no-network policy) those pages come out blank or
unstyled, so every remote asset and the scripts that need them are removed and replaced by a
small stylesheet of our own; pages get a Content-Security-Policy that forbids fetching anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import PipelineResult
    from odibi_quality.validate import Validation

_KEY = "odibi_quality.validations"
_TEMPLATES = Path(__file__).parent / "templates"
_REMOTE_LINK = re.compile(r"<link\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)
_REMOTE_IMG = re.compile(r"<img\b[^>]*\bsrc=\"https?://[^>]*>", re.I)
#: Inline handlers (GX's "Failed Only" filter): scripts cannot run under the pages' CSP, and
#: a blocked handler is a console error in every browser.
_HANDLER = re.compile(r"\s+on[a-z]+=\"[^\"]*\"", re.I)
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; img-src data:\">"
)


def remember(ctx: RunContext, node: str, validation: Validation) -> None:
    """Keep a node's results for this run's Data Docs (the last attempt wins)."""
    with ctx.lock:
        ctx.extras.setdefault(_KEY, {})[node] = validation


def as_gx(validation: Validation) -> Any:
    """The node's results as one GX ``ExpectationSuiteValidationResult``: what GX itself
    validated, and an expectation result for each expectation measured in SQL, with the
    counts and examples GX would have reported."""
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    results = list(validation.raw.results) if validation.raw is not None else []
    for item, part, measured, examples in validation.measured:
        kwargs = {k: v for k, v in part.kwargs.items() if v is not None}
        if part.judge is None and part.mostly is not None:
            kwargs["mostly"] = part.mostly
        config = ExpectationConfiguration(
            type=part.expectation_type, kwargs=kwargs, meta={"odibi_assertion": item.label}
        )
        if part.judge is None:
            n = measured.element_count
            detail: dict[str, Any] = {
                "element_count": n,
                "unexpected_count": measured.unexpected_count,
                "unexpected_percent": 100.0 * measured.unexpected_count / n if n else 0.0,
                "partial_unexpected_list": examples,
            }
        else:
            detail = {"observed_value": measured.observed_value}
        results.append(
            ExpectationValidationResult(
                success=measured.success, expectation_config=config, result=detail
            )
        )
    passed = sum(1 for r in results if r.success)
    return ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=validation.suite_name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / len(results) if results else None,
        },
    )


def folder_for(story_path: str) -> Path:
    """Where a run's Data Docs live: ``<story without .html>/gx/`` (story retention removes
    that folder together with the story)."""
    return Path(story_path).with_suffix("") / "gx"


def link_for(ctx: RunContext, node: str) -> str | None:
    """The Data Docs page of a node, relative to the story, if the run will have one."""
    story = ctx.story_path
    if not story or node not in ctx.extras.get(_KEY, {}):
        return None
    return f"{Path(story).stem}/gx/{_page(node)}"


def index_link(ctx: RunContext) -> str | None:
    """The run's Data Docs index, relative to the story, if the run will have one."""
    if not ctx.story_path or not ctx.extras.get(_KEY):
        return None
    return f"{Path(ctx.story_path).stem}/gx/index.html"


def build(ctx: RunContext, result: PipelineResult) -> Path | None:
    """Render every node's validation result, plus an index page. Returns the index path."""
    validations: dict[str, Validation] = ctx.extras.get(_KEY, {})
    if not validations or not result.story_path:
        return None
    from odibi_quality import gx_runner

    gx_runner.require()
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    folder = folder_for(result.story_path)
    folder.mkdir(parents=True, exist_ok=True)
    style = (_TEMPLATES / "data_docs.css").read_text()
    rows = []
    for node, validation in validations.items():
        raw = as_gx(validation)
        html = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(raw))
        # GX renders every expectation's kwargs: a value set may hold a secret.
        (folder / _page(node)).write_text(ctx.scrub(offline(html, style)), encoding="utf-8")
        stats = raw.statistics
        rows.append(
            (
                node,
                raw.success,
                stats.get("successful_expectations"),
                stats.get("evaluated_expectations"),
            )
        )
    index = _index(result, rows, style)
    (folder / "index.html").write_text(ctx.scrub(index), encoding="utf-8")
    return folder / "index.html"


def offline(html: str, style: str) -> str:
    """A GX page with nothing fetched from elsewhere and our stylesheet inlined."""
    html = _REMOTE_LINK.sub("", html)
    html = _SCRIPT.sub("", html)
    html = _REMOTE_IMG.sub("", html)
    html = _HANDLER.sub("", html)
    head = f"{_CSP}<style>{style}</style>"
    return re.sub(r"<head>", f"<head>{head}", html, count=1, flags=re.I)


def _page(node: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", node) + ".html"


def _index(result: PipelineResult, rows: list[tuple[str, bool, Any, Any]], style: str) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2"]))
    return env.get_template("data_docs_index.html.j2").render(
        csp=_CSP,
        style=style,
        result=result,
        rows=[
            {"node": n, "page": _page(n), "success": s, "passed": p, "evaluated": e}
            for n, s, p, e in rows
        ],
    )
