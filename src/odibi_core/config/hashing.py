"""Stable hashes of pipeline and node definitions (``version_hash`` in the catalog)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from odibi_core.config.models import NodeConfig, PipelineConfig
from odibi_core.secrets import redact, restore_templates

# Keys that document a node but do not change what it computes.
_COSMETIC = {"description", "explanation", "explanation_file", "runbook_url", "tags"}


def node_config_json(node: NodeConfig) -> str:
    """The node as written: placeholders kept, secret-named values masked."""
    return json.dumps(_node_as_written(node), sort_keys=True, separators=(",", ":"), default=str)


def _node_as_written(node: NodeConfig) -> dict[str, Any]:
    data = node.model_dump(mode="json", exclude_defaults=True)
    return dict(redact(restore_templates(data, node.templates)))


def node_hash(node: NodeConfig) -> str:
    data = node.model_dump(mode="json", exclude_defaults=True, exclude=_COSMETIC)
    return _digest(data)


def pipeline_config_json(pipeline: PipelineConfig) -> str:
    data = pipeline.model_dump(mode="json", exclude_defaults=True, exclude={"nodes"})
    data = redact(restore_templates(data, pipeline.templates))
    data["nodes"] = [_node_as_written(n) for n in pipeline.nodes]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def pipeline_hash(pipeline: PipelineConfig) -> str:
    return _digest([node_hash(n) for n in pipeline.nodes] + [pipeline.pipeline])


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
